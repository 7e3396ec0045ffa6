// Deterministic memory: dispose / Symbol.dispose / using, nd.tidy and keep, nd.memory(), graph
// memory freed by backward, the caching allocator, the memory limit, and the GC backstop.
import { execFileSync, spawnSync } from 'child_process';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { autograd, nd, NDArray, NDArrayError } from '../lib';
import { codeOf, errorOf } from './helpers';

const live = () => nd.memory().numArrays;
const bytes = () => nd.memory().numBytes;


describe('dispose', () => {
  test('dispose frees now; later use is DISPOSED; twice is harmless', () => {
    const n0 = live();
    const b0 = bytes();
    const x = nd.zeros([1000]);
    expect(live()).toBe(n0 + 1);
    expect(bytes()).toBeGreaterThanOrEqual(b0 + 4000);
    x.dispose();
    expect(live()).toBe(n0);
    expect(bytes()).toBe(b0);
    expect(x.isDisposed).toBe(true);
    expect(() => x.dispose()).not.toThrow();
    expect(live()).toBe(n0);
    expect(codeOf(() => x.add(1))).toBe('DISPOSED');
    expect(codeOf(() => nd.exp(x))).toBe('DISPOSED');
  });

  test('Symbol.dispose is dispose', () => {
    const n0 = live();
    const x = nd.ones([3]);
    x[Symbol.dispose]();
    expect(live()).toBe(n0);
    expect(codeOf(() => x.toArray())).toBe('DISPOSED');
    x[Symbol.dispose]();
  });

  test('using frees at the end of the block, also on throw', () => {
    const n0 = live();
    let escaped!: NDArray;
    {
      using a = nd.ones([4]);
      using b = a.mul(2);
      escaped = b;
      expect(b.toArray()).toEqual([2, 2, 2, 2]);
      expect(live()).toBe(n0 + 2);
    }
    expect(live()).toBe(n0);
    expect(escaped.isDisposed).toBe(true);
    expect(() => {
      using c = nd.ones([4]);
      c.add(1).dispose();
      throw new Error('boom');
    }).toThrow('boom');
    expect(live()).toBe(n0);
  });

  test('nd.dispose takes arrays, lists and objects', () => {
    const n0 = live();
    const a = nd.ones([1]);
    const b = nd.ones([1]);
    const c = nd.ones([1]);
    nd.dispose({ a, list: [b, [c]] });
    expect([a.isDisposed, b.isDisposed, c.isDisposed]).toEqual([true, true, true]);
    expect(live()).toBe(n0);
  });

  test('a view keeps its storage alive after the base is disposed', () => {
    const base = nd.arange(6).reshape(2, 3);
    const row = base.at(1);
    base.dispose();
    expect(row.toArray()).toEqual([3, 4, 5]);
    row.dispose();
  });
});

describe('nd.tidy', () => {
  test('disposes everything created inside except what is returned', () => {
    const n0 = live();
    const outside = nd.ones([2]);
    let inner!: NDArray;
    const r = nd.tidy(() => {
      inner = outside.add(1);
      const t = inner.mul(3);
      return t.sub(1);
    });
    expect(inner.isDisposed).toBe(true);
    expect(outside.isDisposed).toBe(false);
    expect(r.toArray()).toEqual([5, 5]);
    expect(live()).toBe(n0 + 2);
    r.dispose();
    outside.dispose();
    expect(live()).toBe(n0);
  });

  test('returned lists and objects are kept, recursively', () => {
    const n0 = live();
    const res = nd.tidy(() => {
      const a = nd.ones([1]);
      const b = a.add(1);
      const c = b.add(1);
      a.add(100); // dropped
      return { a, more: [b, { c }], n: 3, s: 'x' };
    });
    expect(res.a.toArray()).toEqual([1]);
    expect((res.more[0] as NDArray).toArray()).toEqual([2]);
    expect((res.more[1] as any).c.toArray()).toEqual([3]);
    expect(res.n).toBe(3);
    expect(live()).toBe(n0 + 3);
    nd.dispose(res);
    expect(live()).toBe(n0);
    const list = nd.tidy(() => [nd.ones([1]), nd.zeros([1])]);
    expect(list.map((x) => x.item())).toEqual([1, 0]);
    nd.dispose(list);
    expect(nd.tidy(() => 42)).toBe(42);
    expect(nd.tidy(() => undefined)).toBeUndefined();
    expect(live()).toBe(n0);
  });

  test('nests: a value returned by an inner tidy belongs to the outer one', () => {
    const n0 = live();
    let fromInner!: NDArray;
    let droppedInner!: NDArray;
    const r = nd.tidy(() => {
      fromInner = nd.tidy(() => {
        droppedInner = nd.ones([2]);
        return droppedInner.add(1);
      });
      expect(droppedInner.isDisposed).toBe(true);
      expect(fromInner.isDisposed).toBe(false);
      return fromInner.mul(2);
    });
    expect(fromInner.isDisposed).toBe(true);
    expect(r.toArray()).toEqual([4, 4]);
    r.dispose();
    expect(live()).toBe(n0);
  });

  test('keep exempts an array from every enclosing tidy', () => {
    const n0 = live();
    let kept!: NDArray;
    nd.tidy(() => {
      nd.tidy(() => {
        kept = nd.keep(nd.full([2], 7));
        nd.ones([2]);
      });
      expect(kept.isDisposed).toBe(false);
    });
    expect(kept.toArray()).toEqual([7, 7]);
    expect(live()).toBe(n0 + 1);
    kept.dispose();
    expect(live()).toBe(n0);
  });

  test('a variable\'s .grad survives tidy, and so does a variable kept by the caller', () => {
    const n0 = live();
    const x = nd.array([1, 2, 3]);
    nd.tidy(() => {
      x.attachGrad();
      const y = autograd.record(() => x.mul(x).sum());
      y.backward();
    });
    expect(x.grad!.toArray()).toEqual([2, 4, 6]);
    x.grad!.dispose();
    x.dispose();
    expect(live()).toBe(n0);
  });

  test('an error thrown inside disposes what was created and propagates', () => {
    const n0 = live();
    const outside = nd.ones([2]);
    let inside!: NDArray;
    expect(() =>
      nd.tidy(() => {
        inside = nd.ones([2]);
        nd.add(inside, nd.ones([3])); // SHAPE_MISMATCH
      }),
    ).toThrow(NDArrayError);
    expect(inside.isDisposed).toBe(true);
    expect(outside.isDisposed).toBe(false);
    expect(() =>
      nd.tidy(() => {
        nd.ones([2]);
        throw new Error('plain');
      }),
    ).toThrow('plain');
    outside.dispose();
    expect(live()).toBe(n0);
    // the scope stack is intact afterwards: arrays made now are not tracked by a dead scope
    const r = nd.tidy(() => nd.ones([1]));
    expect(r.isDisposed).toBe(false);
    r.dispose();
  });

  test('an async function is ASYNC_SCOPE and leaves nothing behind', () => {
    const n0 = live();
    expect(codeOf(() => nd.tidy((async () => nd.ones([2])) as any))).toBe('ASYNC_SCOPE');
    expect(live()).toBe(n0);
  });

  test('nd.memory() is back at its start after 10,000 ops under tidy', () => {
    const a = nd.random.uniform(-1, 1, [16, 16]);
    const b = nd.random.uniform(-1, 1, [16]);
    const m0 = nd.memory();
    let acc = 0;
    for (let i = 0; i < 2500; i++) {
      acc += nd.tidy(() => a.add(b).mul(2).relu().sum().item()); // 4 ops per step
    }
    const m1 = nd.memory();
    expect(Number.isFinite(acc)).toBe(true);
    expect(m1.numArrays).toBe(m0.numArrays);
    expect(m1.numBytes).toBe(m0.numBytes);
    a.dispose();
    b.dispose();
  });
});

describe('graph memory and the allocator', () => {
  test('backward frees the graph: bytes return to their start', () => {
    const b0 = bytes();
    const n0 = live();
    const x = nd.random.normal(0, 1, [256, 256]);
    x.attachGrad();
    const afterX = bytes();
    const y = nd.tidy(() => autograd.record(() => x.mul(x).exp().tanh().mul(3).sum()));
    // handles of the intermediates are gone, but the graph keeps what backward needs
    expect(live()).toBe(n0 + 3); // x, x.grad, y
    const recorded = bytes();
    expect(recorded).toBeGreaterThan(afterX + 256 * 256 * 4);
    y.backward();
    expect(bytes()).toBeLessThan(recorded);
    expect(bytes()).toBeLessThanOrEqual(afterX + 64); // x, x.grad and the 0-d y
    y.dispose();
    x.grad!.dispose();
    x.dispose();
    expect(bytes()).toBe(b0);
    expect(live()).toBe(n0);
  });

  test('retainGraph keeps the graph until the last backward', () => {
    const b0 = bytes();
    const x = nd.random.normal(0, 1, [128, 128]);
    x.attachGrad();
    const y = nd.tidy(() => autograd.record(() => x.exp().mul(x).sum()));
    y.backward(null, { retainGraph: true });
    const retained = bytes();
    y.backward();
    expect(bytes()).toBeLessThan(retained);
    nd.dispose([y, x.grad, x]);
    expect(bytes()).toBe(b0);
  });

  test('disposing a recorded head without backward frees its graph too', () => {
    const b0 = bytes();
    const x = nd.random.normal(0, 1, [128, 128]);
    x.attachGrad();
    const y = nd.tidy(() => autograd.record(() => x.exp().mul(x).sum()));
    y.dispose();
    nd.dispose([x.grad, x]);
    expect(bytes()).toBe(b0);
  });

  test('a steady loop stops calling the system allocator', () => {
    const a = nd.random.uniform(0, 1, [1000]);
    const b = nd.random.uniform(0, 1, [1000]);
    const step = () => nd.tidy(() => a.mul(b).add(1).sqrt().sum().item());
    for (let i = 0; i < 3; i++) step(); // warm the cache
    const s0 = nd.memory();
    for (let i = 0; i < 500; i++) step();
    const s1 = nd.memory();
    expect(s1.systemAllocs).toBe(s0.systemAllocs);
    expect(s1.cacheHits - s0.cacheHits).toBeGreaterThanOrEqual(500 * 4);
    expect(s1.numBytes).toBe(s0.numBytes);
    nd.dispose([a, b]);
  });

  test('the allocator hands out 64-byte aligned blocks in size classes', () => {
    const b0 = bytes();
    const x = nd.zeros([1]); // 4 bytes, rounded up to a 64-byte class
    expect(bytes() - b0).toBeGreaterThanOrEqual(64);
    expect((bytes() - b0) % 64).toBe(0);
    x.dispose();
  });
});

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
    const e = errorOf(() => nd.Convolution(x, w, { kernel: [3, 3] }));
    expect(e.code).toBe('OUT_OF_MEMORY');
    expect(e.message).toMatch(/^Convolution \(inputs \(1,64,32,32\), \(1,64,3,3\)\): cannot allocate .*memory limit/);
    expect(codeOf(() => nd.Convolution(x, w, { kernel: [3, 3], out }))).toBe('OUT_OF_MEMORY');
    const d = errorOf(() => nd.dot(a, b));
    expect(d.code).toBe('OUT_OF_MEMORY');
    expect(d.message).toMatch(/^dot \(inputs \(64,512\), \(512,64\)\): cannot allocate .*memory limit/);
    expect(codeOf(() => nd.dot(a, b, { out: dout }))).toBe('OUT_OF_MEMORY');
    const m1 = nd.memory();
    expect([m1.numArrays, m1.numBytes]).toEqual([m0.numArrays, m0.numBytes]);
    expect(new Set(out.toTypedArray())).toEqual(new Set([5]));
    expect(new Set(dout.toTypedArray())).toEqual(new Set([5]));
    nd.setMemoryLimit(null);
    nd.Convolution(x, w, { kernel: [3, 3], out });
    expect(new Set(out.toTypedArray())).toEqual(new Set([576]));
    nd.dispose([x, w, out, a, b, dout]);
  });

  test('at any limit, a product into out either completes or leaves out unchanged', () => {
    // Threads split the rows (100 = an odd number of micro-tiles on every ISA, so the two halves
    // differ) and each packs its own GEMM panels: a limit that lets the smaller half's packing through
    // but not the larger's must not leave out half-written.
    const a = nd.random.uniform(0, 1, [100, 512]);
    const b = nd.random.uniform(0, 1, [512, 64]);
    const want = nd.dot(a, b).toTypedArray();
    const out = nd.zeros([100, 64]);
    const base = nd.memory().numBytes;
    let failed = 0;
    let succeeded = 0;
    for (let extra = 0; extra <= 512 * 1024; extra += 4096) {
      out.set(5);
      nd.setMemoryLimit(base + extra);
      try {
        nd.dot(a, b, { out });
        succeeded++;
        const got = out.toTypedArray();
        expect(got.every((v, i) => v === want[i])).toBe(true);
      } catch (e) {
        failed++;
        expect((e as NDArrayError).code).toBe('OUT_OF_MEMORY');
        nd.setMemoryLimit(null);
        expect(out.toTypedArray().every((v) => v === 5)).toBe(true);
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
       parentPort.once('message', () => { held.dispose(); parentPort.postMessage('released'); });`,
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

describe('GC backstop', () => {
  // Runs `setup`, then `makeGarbage` in a function scope (its arrays unreachable afterwards), then
  // GCs until the count is back (or 50 tries) in a child with --expose-gc: how many arrays were made
  // and how many are left.
  function gcChild(setup: string, makeGarbage: string): { made: number; left: number } {
    const script = `
      const { nd, autograd } = require(${JSON.stringify(path.join(__dirname, 'fixtures', 'load-lib.js'))});
      ${setup}
      const n0 = nd.memory().numArrays;
      (function () { ${makeGarbage} })();
      const made = nd.memory().numArrays - n0;
      (async () => {
        for (let i = 0; i < 50 && nd.memory().numArrays > n0; i++) {
          global.gc();
          await new Promise((r) => setTimeout(r, 5));
        }
        console.log(JSON.stringify({ made, left: nd.memory().numArrays - n0 }));
      })();
    `;
    const out = execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' });
    return JSON.parse(out.trim().split('\n').pop()!);
  }

  test('forgotten arrays are released after a GC (child process with --expose-gc)', () => {
    const { made, left } = gcChild('', 'for (let i = 0; i < 2000; i++) nd.ones([64]).add(1);');
    expect(made).toBe(4000);
    expect(left).toBe(0);
  });

  // The graph holds the backward callback through a strong native reference, so a callback that
  // could reach the output's JS object (through apply's closure) kept both alive for good.
  test('forgotten outputs of a custom Function are released after a GC, with their graphs (child process with --expose-gc)', () => {
    const setup = `
      class Double extends autograd.Function {
        forward(a) { return a.mul(2); }
        backward(dy) { return dy.mul(2); }
      }
      const x = nd.ones([64]);
      x.attachGrad();`;
    const { made, left } = gcChild(setup, 'for (let i = 0; i < 500; i++) autograd.record(() => new Double().apply(x));');
    expect(made).toBe(500);
    expect(left).toBe(0);
  });
});

// The value tidy returns (and what dispose/keep take) is walked with a visited set and an explicit
// stack, reading only data: cycles, Maps, Sets, class instances and deep nesting are all fine, no
// getter is called, and nothing can throw after the scope is popped.
describe('tidy, keep and dispose walk any value', () => {
  const mem = () => [nd.memory().numArrays, nd.memory().numBytes];

  test('tidy returning a cyclic object keeps its arrays and frees the rest', () => {
    const m0 = mem();
    const r = nd.tidy(() => {
      const o: any = { a: nd.ones([2]), list: [] as any[] };
      nd.zeros([100]); // dropped
      o.self = o;
      o.list.push(o.list, o, nd.full([3], 2));
      return o;
    });
    expect(r.self).toBe(r);
    expect(r.a.toArray()).toEqual([1, 1]);
    expect(r.list[2].toArray()).toEqual([2, 2, 2]);
    nd.dispose(r);
    expect(mem()).toEqual(m0);
  });

  test('nd.dispose on a cyclic object disposes every array in it', () => {
    const m0 = mem();
    const a = nd.ones([4]);
    const b = nd.ones([5]);
    const o: any = { a, inner: { b } };
    o.inner.back = o;
    const list: any[] = [o];
    list.push(list);
    nd.dispose(list);
    expect([a.isDisposed, b.isDisposed]).toEqual([true, true]);
    for (const nothing of [undefined, null, 3, 'x']) nd.dispose(nothing); // no arrays: nothing to do
    expect(mem()).toEqual(m0);
  });

  test('tidy keeps arrays inside returned Maps, Sets, class instances and null-prototype objects', () => {
    const m0 = mem();
    class Params {
      w = nd.ones([2]);
      extra = new Map<string, NDArray>();
    }
    const r = nd.tidy(() => {
      const p = new Params();
      p.extra.set('b', nd.zeros([3]));
      const bare = Object.create(null);
      bare.v = nd.full([1], 5);
      const keyed = new Map<NDArray, number>([[nd.full([1], 6), 1]]);
      return { p, set: new Set([nd.full([1], 4)]), bare, keyed, data: new Float32Array([1, 2]) };
    });
    expect(r.p.w.toArray()).toEqual([1, 1]);
    expect(r.p.extra.get('b')!.toArray()).toEqual([0, 0, 0]);
    expect([...r.set][0].toArray()).toEqual([4]);
    expect(r.bare.v.toArray()).toEqual([5]);
    expect([...r.keyed.keys()][0].toArray()).toEqual([6]);
    expect(Array.from(r.data)).toEqual([1, 2]);
    nd.dispose(r);
    expect(mem()).toEqual(m0);
  });

  test('the walk calls no getter: a throwing getter neither throws nor leaks', () => {
    const m0 = mem();
    let calls = 0;
    const r = nd.tidy(() => {
      const o = { a: nd.ones([2]) };
      nd.ones([7]); // dropped
      Object.defineProperty(o, 'boom', {
        enumerable: true,
        get() {
          calls++;
          throw new Error('getter');
        },
      });
      return o;
    });
    expect(calls).toBe(0);
    expect(r.a.toArray()).toEqual([1, 1]);
    nd.dispose(r);
    expect(calls).toBe(0);
    expect(mem()).toEqual(m0);
  });

  test('an error while looking at the result still disposes every array made inside', () => {
    const m0 = mem();
    const thenThrows = () =>
      nd.tidy(() => {
        const o = { a: nd.ones([2]) };
        Object.defineProperty(o, 'then', {
          get() {
            throw new Error('then getter');
          },
        });
        return o;
      });
    expect(thenThrows).toThrow('then getter');
    const trap = () =>
      nd.tidy(() => {
        const a = nd.ones([3]);
        return new Proxy({ a }, {
          ownKeys() {
            throw new Error('trap');
          },
          getOwnPropertyDescriptor() {
            throw new Error('trap');
          },
        });
      });
    expect(trap).toThrow('trap');
    expect(mem()).toEqual(m0);
    // a proxy that answers is walked like the object it stands for
    const viaProxy = nd.tidy(() => new Proxy({ a: nd.ones([3]) }, {}));
    expect(viaProxy.a.toArray()).toEqual([1, 1, 1]);
    viaProxy.a.dispose();
    expect(mem()).toEqual(m0);
    // the scope stack is intact: a later tidy still works and frees what it made
    const kept = nd.tidy(() => {
      nd.ones([2]);
      return nd.zeros([2]);
    });
    kept.dispose();
    expect(mem()).toEqual(m0);
  });

  test('a result nested 1e5 deep is walked without a RangeError', () => {
    const m0 = mem();
    const r = nd.tidy(() => {
      let o: any = { leaf: nd.ones([1]) };
      for (let i = 0; i < 1e5; i++) o = i % 2 ? { next: o } : [o];
      nd.ones([9]); // dropped
      return o;
    });
    let leaf: any = r;
    while (!(leaf instanceof NDArray)) leaf = Array.isArray(leaf) ? leaf[0] : leaf.next ?? leaf.leaf;
    expect(leaf.toArray()).toEqual([1]);
    nd.dispose(r);
    expect(mem()).toEqual(m0);
  });

  test('nd.keep takes lists, objects, Maps and cycles like nd.dispose', () => {
    const m0 = mem();
    let kept: any;
    nd.tidy(() => {
      const o: any = { a: nd.ones([2]), m: new Map([['b', nd.zeros([2])]]) };
      o.self = o;
      kept = nd.keep(o);
      nd.ones([3]); // dropped
    });
    expect(kept.a.toArray()).toEqual([1, 1]);
    expect(kept.m.get('b').toArray()).toEqual([0, 0]);
    expect(codeOf(() => nd.keep(3 as any))).toBe('BAD_ARGUMENT');
    nd.dispose(kept);
    expect(mem()).toEqual(m0);
  });
});
