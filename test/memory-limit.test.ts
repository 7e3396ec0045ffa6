// The memory limit (nd.setMemoryLimit, NDGRAD_MEMORY_LIMIT): OUT_OF_MEMORY naming the op and sizes,
// nothing half-written or leaked, the cache emptied first, process-wide across workers, set at load.
import { execFileSync, spawnSync } from 'child_process';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { autograd, nd, NDArray, NDArrayError } from '../lib';
import { codeOf, errorOf, expectOutKept } from './helpers';


describe('memory limit (nd.setMemoryLimit, NDGRAD_MEMORY_LIMIT)', () => {
  const MiB = 1 << 20;
  const LOAD_LIB = JSON.stringify(path.join(__dirname, 'fixtures', 'load-lib.js'));
  afterEach(() => nd.setMemoryLimit(null));

  test('nd.memory() reports the limit (null without one); setMemoryLimit returns the previous one', () => {
    expect(nd.memory().limitBytes).toBeNull();
    expect(nd.setMemoryLimit(64 * MiB)).toBeNull();
    expect(nd.memory().limitBytes).toBe(64 * MiB);
    expect(nd.setMemoryLimit(null)).toBe(64 * MiB);
    expect(nd.memory().limitBytes).toBeNull();
    for (const bad of [-1, 1.5, NaN, Infinity, '1g', {}])
      expect(codeOf(() => nd.setMemoryLimit(bad as any))).toBe('BAD_ARGUMENT');
    expect(nd.memory().limitBytes).toBeNull();
  });

  test('an allocation past the limit is OUT_OF_MEMORY naming the op and the sizes; nothing leaks; work goes on', () => {
    const m0 = nd.memory();
    const limit = m0.numBytes + MiB;
    nd.setMemoryLimit(limit);
    const e = errorOf(() => nd.zeros([MiB])); // 4 MiB of float32
    expect(e.code).toBe('OUT_OF_MEMORY');
    expect(e.message).toMatch(/^full: cannot allocate 4\.00 MiB \(4194304 bytes\): /);
    expect(e.message).toContain(`${m0.numBytes} bytes`); // live
    expect(e.message).toContain(`${limit} bytes`); // the limit
    const m1 = nd.memory();
    expect([m1.numArrays, m1.numBytes]).toEqual([m0.numArrays, m0.numBytes]);
    // under the limit the process keeps working, and without it the same request succeeds
    expect(nd.tidy(() => nd.ones([1000]).add(1).sum().item())).toBe(2000);
    nd.setMemoryLimit(null);
    const big = nd.zeros([MiB]);
    expect(big.size).toBe(MiB);
    big.dispose();
  });

  test('the allocator cache is emptied before OUT_OF_MEMORY is thrown', () => {
    nd.zeros([MiB / 4]).dispose(); // a 1 MiB block, now cached
    const c0 = nd.memory().cachedBytes;
    expect(c0).toBeGreaterThanOrEqual(MiB);
    nd.setMemoryLimit(nd.memory().numBytes + MiB);
    expect(codeOf(() => nd.zeros([MiB]))).toBe('OUT_OF_MEMORY');
    expect(nd.memory().cachedBytes).toBeLessThanOrEqual(c0 - MiB);
  });

  test('nd.emptyCache returns cached blocks to the system', () => {
    nd.zeros([MiB / 4]).dispose();
    nd.waitAll(); // the block returns to the cache once the queued fill has run
    const c0 = nd.memory().cachedBytes;
    expect(c0).toBeGreaterThanOrEqual(MiB);
    nd.emptyCache();
    expect(nd.memory().cachedBytes).toBeLessThanOrEqual(c0 - MiB);
  });

  test('scratch space (im2col, GEMM packing) counts too, and its failure names the op; out stays unchanged', () => {
    // Convolution: a 3.5 KiB result, but an im2col buffer of 576 x 900 floats (2 MiB)
    const x = nd.ones([1, 64, 32, 32]);
    const w = nd.ones([1, 64, 3, 3]);
    const out = nd.full([1, 1, 30, 30], 5);
    // dot: a 16 KiB result, 80 KiB GEMM packing buffers
    const a = nd.ones([64, 512]);
    const b = nd.ones([512, 64]);
    const dout = nd.full([64, 64], 5);
    const m0 = nd.memory();
    nd.setMemoryLimit(m0.numBytes + 48 * 1024);
    // Scratch is taken while computing: the error surfaces at the first read (ENGINE.md)
    const e = errorOf(() => nd.tidy(() => nd.Convolution(x, w, { kernel: [3, 3] }).waitToRead()));
    expect(e.code).toBe('OUT_OF_MEMORY');
    expect(e.message).toMatch(/^Convolution \(inputs \(1,64,32,32\), \(1,64,3,3\)\): cannot allocate .*memory limit/);
    expect(codeOf(() => nd.Convolution(x, w, { kernel: [3, 3], out }).waitToRead())).toBe('OUT_OF_MEMORY');
    const d = errorOf(() => nd.tidy(() => nd.dot(a, b).waitToRead()));
    expect(d.code).toBe('OUT_OF_MEMORY');
    expect(d.message).toMatch(/^dot \(inputs \(64,512\), \(512,64\)\): cannot allocate .*memory limit/);
    expect(codeOf(() => nd.dot(a, b, { out: dout }).waitToRead())).toBe('OUT_OF_MEMORY');
    const m1 = nd.memory();
    nd.waitAll();
    expect([m1.numArrays, nd.memory().numBytes]).toEqual([m0.numArrays, m0.numBytes]);
    expectOutKept(out, 'OUT_OF_MEMORY', () => expect(new Set(out.toTypedArray())).toEqual(new Set([5])));
    expectOutKept(dout, 'OUT_OF_MEMORY', () => expect(new Set(dout.toTypedArray())).toEqual(new Set([5])));
    nd.setMemoryLimit(null);
    nd.Convolution(x, w, { kernel: [3, 3], out });
    expect(new Set(out.toTypedArray())).toEqual(new Set([576]));
    nd.dispose([x, w, out, a, b, dout]);
  });

  // A limit that lets some of the product's scratch through but not all must not leave out
  // half-written. [100, 512] x [512, 64]: the GEMM's packed panels shared by its threads;
  // [1536, 256] x [256, 64]: 8 row blocks at 2 threads, each packed into its part's own buffer.
  test.each([
    [100, 512, 64, 512 * 1024, 4096],
    [1536, 256, 64, 2048 * 1024, 16384],
  ])('at any limit, a product [%i x %i] x [.. x %i] into out either completes or leaves out unchanged', (m, k, n, most, step) => {
    const a = nd.random.uniform(0, 1, [m, k]);
    const b = nd.random.uniform(0, 1, [k, n]);
    const want = nd.dot(a, b).toTypedArray();
    const out = nd.zeros([m, n]);
    const base = nd.memory().numBytes;
    let failed = 0;
    let succeeded = 0;
    for (let extra = 0; extra <= most; extra += step) {
      out.set(5);
      nd.setMemoryLimit(base + extra);
      let atCall = true; // the result's own allocation fails at the call; scratch while computing
      try {
        nd.dot(a, b, { out });
        atCall = false;
        const got = out.toTypedArray();
        succeeded++;
        expect(got.every((v, i) => v === want[i])).toBe(true);
      } catch (e) {
        failed++;
        expect((e as NDArrayError).code).toBe('OUT_OF_MEMORY');
        nd.setMemoryLimit(null);
        const unchanged = () => expect(out.toTypedArray().every((v) => v === 5)).toBe(true);
        if (atCall) unchanged();
        else expectOutKept(out, 'OUT_OF_MEMORY', unchanged);
      }
      nd.setMemoryLimit(null);
    }
    expect(failed).toBeGreaterThan(0);
    expect(succeeded).toBeGreaterThan(0);
    nd.dispose([a, b, out]);
  });

  test('every allocation failure in a backward pass names the call or the op', () => {
    // split's backward materialises the zero gradient of its unused output outside any op call
    const x = nd.ones([4]);
    x.attachGrad();
    const prefixes = new Set<string>();
    for (let extra = 0; extra <= 512; extra += 64) {
      const y = autograd.record(() => nd.split(x, { numOutputs: 2, axis: 0 })[0].sum());
      nd.setMemoryLimit(nd.memory().numBytes + extra);
      try {
        y.backward();
      } catch (e) {
        expect((e as NDArrayError).code).toBe('OUT_OF_MEMORY');
        const m = (e as NDArrayError).message;
        expect(m).toMatch(/^[A-Za-z_ ]+( \(inputs [^:]*\))?: cannot allocate /);
        prefixes.add(m.slice(0, m.indexOf(':')).replace(/ \(inputs.*/, ''));
      } finally {
        nd.setMemoryLimit(null);
      }
    }
    expect(prefixes).toContain('backward'); // the head gradient
    expect(prefixes).toContain('backward of split');
    x.dispose();
  });

  test('the limit is process-wide: a worker sees it, and its live bytes count for the main thread', async () => {
    // Arrays of earlier tests may be released by the GC backstop at any await, so the live count
    // only goes down on its own: limits are set from a fresh reading, with margins that hold anyway.
    nd.setMemoryLimit(nd.memory().numBytes + 6 * MiB);
    const w = new Worker(
      `const { parentPort } = require('worker_threads');
       const { nd } = require(${LOAD_LIB});
       const code = (f) => { try { f(); return 'ok'; } catch (e) { return e.code; } };
       const tooBig = code(() => nd.zeros([16 * ${MiB}]));     // 64 MiB: past the limit
       const held = nd.zeros([${MiB}]);                       // 4 MiB: fits, and is kept
       parentPort.postMessage({ tooBig, limit: nd.memory().limitBytes });
       // its memory is free once its queued fill has run (ENGINE.md: exact after waitAll)
       parentPort.once('message', () => { held.dispose(); nd.waitAll(); parentPort.postMessage('released'); });`,
      { eval: true },
    );
    const next = () => new Promise<any>((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
    try {
      const first = await next();
      expect(first).toEqual({ tooBig: 'OUT_OF_MEMORY', limit: nd.memory().limitBytes });
      const holding = nd.memory().numBytes;
      nd.setMemoryLimit(holding + 2 * MiB); // the worker's 4 MiB are part of `holding`
      expect(codeOf(() => nd.zeros([MiB]))).toBe('OUT_OF_MEMORY');
      w.postMessage('release');
      expect(await next()).toBe('released');
      expect(holding - nd.memory().numBytes).toBeGreaterThanOrEqual(4 * MiB);
      nd.zeros([MiB]).dispose(); // fits now
    } finally {
      await w.terminate();
    }
  });

  // The addon alone (no TypeScript to transpile) for the cases that only read the variable.
  const ROOT = JSON.stringify(path.join(__dirname, '..'));
  const RAW = `const root = ${ROOT}; const addon = require(require.resolve('node-gyp-build', { paths: [root] }))(root);
    class E extends Error { constructor(m, c) { super(m); this.code = c; } }`;
  const withLimit = (value: string, src: string) => {
    const r = spawnSync(process.execPath, ['-e', src], { encoding: 'utf8', env: { ...process.env, NDGRAD_MEMORY_LIMIT: value } });
    expect(r.stderr).toBe('');
    return r.stdout.trim().split('\n').pop()!;
  };

  test('NDGRAD_MEMORY_LIMIT sets the limit at load (bytes, or k/m/g), once per process', () => {
    const script = `
      const { Worker } = require('worker_threads');
      const { nd } = require(${LOAD_LIB});
      const limit = nd.memory().limitBytes;
      let code = 'ok';
      try { nd.zeros([limit]); } catch (e) { code = e.code; }
      nd.setMemoryLimit(null);
      // a worker loading ndgrad later does not apply the variable again
      const w = new Worker('const { nd } = require(${LOAD_LIB.replace(/"/g, "\\'")}); require("worker_threads").parentPort.postMessage(nd.memory().limitBytes);', { eval: true });
      w.on('message', (inWorker) => console.log(JSON.stringify({ limit, code, inWorker, after: nd.memory().limitBytes })));
    `;
    expect(JSON.parse(withLimit('64k', script))).toEqual({ limit: 65536, code: 'OUT_OF_MEMORY', inWorker: null, after: null });
    const limitOnly = `${RAW} addon.init(E, new Float64Array(66)); console.log(addon.memory().limitBytes);`;
    expect(withLimit('65536', limitOnly)).toBe('65536');
    expect(withLimit(' 3M ', limitOnly)).toBe(String(3 * MiB));
    expect(withLimit('1.5g', limitOnly)).toBe(String(1.5 * 1024 * MiB));
    expect(withLimit('', limitOnly)).toBe('null');
  });

  test('a malformed NDGRAD_MEMORY_LIMIT fails the load with BAD_ARGUMENT naming the variable', () => {
    const message = (v: string) =>
      `BAD_ARGUMENT NDGRAD_MEMORY_LIMIT='${v}' is not a byte count (a number of bytes, optionally followed by k, m or g: 512m, 2g)`;
    const load = `try { require(${LOAD_LIB}); console.log('loaded'); } catch (e) { console.log(e.constructor.name + ' ' + e.code + ' ' + e.message); }`;
    expect(withLimit('abc', load)).toBe('NDArrayError ' + message('abc'));
    const init = `${RAW} try { addon.init(E, new Float64Array(66)); console.log('loaded'); } catch (e) { console.log(e.code + ' ' + e.message); }`;
    for (const value of ['12q', '-5', '1.2.3', 'k', '1e3']) expect(withLimit(value, init)).toBe(message(value));
  });
});
