// nd.saveNpy / loadNpy / saveNpz / loadNpz: files written by NumPy 1.24 (test/fixtures/npy, made by
// test/fixtures/make_npy_fixtures.py) load with the right values; ours round-trip and have NumPy's
// layout; bad files are BAD_FILE naming the file, with nothing leaked and no file half written.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { nd, NDArray } from '../lib';
import { arr, errorOf, liveMemory } from './helpers';

const FIX = path.join(__dirname, 'fixtures', 'npy');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ndgrad-npy-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const tmp = (name: string): string => path.join(dir, name);

/** make_npy_fixtures.py's `a`: (arange(24).reshape(2, 3, 4) - 7.5) / 4, exact in float32 */
const A = Array.from({ length: 24 }, (_, i) => (i - 7.5) / 4);

function badFile(fn: () => unknown, file: string, pattern: RegExp): void {
  const start = liveMemory();
  const e = errorOf(fn);
  expect(e.code).toBe('BAD_FILE');
  expect(e.message).toContain(file);
  expect(e.message).toMatch(pattern);
  expect(liveMemory()).toEqual(start);
}

describe('files NumPy wrote', () => {
  test.each([
    ['f4.npy', 'float32', [2, 3, 4], A],
    ['f8.npy', 'float64', [2, 3, 4], A],
    ['be-f8.npy', 'float64', [2, 3, 4], A],
    ['fortran.npy', 'float32', [2, 3, 4], A], // np.asfortranarray: column-major data, transposed back
    ['i4.npy', 'int32', [3, 2], [-3, -2, -1, 0, 1, 2].map((v) => v * 1000003)],
    ['u1.npy', 'uint8', [10], Array.from({ length: 10 }, (_, i) => (i * 29) % 256)],
    ['scalar.npy', 'float32', [], [2.5]],
    ['empty.npy', 'float32', [0, 3], []],
  ])('%s', (file, dtype, shape, values) => {
    const start = liveMemory();
    const x = nd.loadNpy(path.join(FIX, file));
    expect([x.dtype, x.shape, arr(x)]).toEqual([dtype, shape, values]);
    x.dispose();
    expect(liveMemory()).toEqual(start);
  });

  test.each(['stored.npz', 'deflated.npz'])('%s (np.savez / savez_compressed, zip64 extras)', (file) => {
    const start = liveMemory();
    const r = nd.loadNpz(path.join(FIX, file));
    expect(Object.keys(r)).toEqual(['w', 'b']);
    expect([r.w.dtype, r.w.shape, arr(r.w)]).toEqual(['float32', [2, 3, 4], A]);
    expect([r.b.dtype, arr(r.b)]).toEqual(['int32', [0, 1, 2]]);
    nd.dispose(r);
    expect(liveMemory()).toEqual(start);
  });

  test('float16 is BAD_FILE naming the dtype', () => {
    badFile(() => nd.loadNpy(path.join(FIX, 'f2.npy')), 'f2.npy', /dtype float16 is not supported/);
  });
});

describe('ours', () => {
  const arrays = (): Record<string, NDArray> => ({
    f: nd.array([[1.5, -2], [3e-8, 4]], { dtype: 'float32' }),
    d: nd.array([Math.E, -1e300], { dtype: 'float64' }),
    i: nd.array([-7, 2147483647], { dtype: 'int32' }),
    u: nd.array([0, 255, 3], { dtype: 'uint8' }),
    s: nd.array(9.25),
    e: nd.zeros([2, 0]),
  });

  test('.npy round trip of every dtype, 0-d and empty; the header is NumPy 1.0 padded to 64', () => {
    const start = liveMemory();
    const xs = arrays();
    for (const x of Object.values(xs)) {
      nd.saveNpy(tmp('x.npy'), x);
      const buf = fs.readFileSync(tmp('x.npy'));
      const hlen = buf.readUInt16LE(8);
      expect((10 + hlen) % 64).toBe(0);
      expect(buf.toString('latin1', 10, 10 + hlen)).toMatch(/^\{'descr': '(<f4|<f8|<i4|\|u1)', 'fortran_order': False, 'shape': \((\d+,|\d+, \d+|)\), \} *\n$/);
      const y = nd.loadNpy(tmp('x.npy'));
      expect([y.dtype, y.shape, arr(y)]).toEqual([x.dtype, x.shape, arr(x)]);
      y.dispose();
    }
    nd.dispose(xs);
    expect(liveMemory()).toEqual(start);
  });

  test.each([false, true])('.npz round trip (compressed: %s); entries are "<name>.npy"', (compressed) => {
    const start = liveMemory();
    const xs = arrays();
    nd.saveNpz(tmp('x.npz'), xs, { compressed });
    const buf = fs.readFileSync(tmp('x.npz'));
    expect(buf.readUInt16LE(8)).toBe(compressed ? 8 : 0); // the first entry's method
    expect(buf.toString('utf8', 30, 30 + buf.readUInt16LE(26))).toBe('f.npy');
    const r = nd.loadNpz(tmp('x.npz'));
    expect(Object.keys(r)).toEqual(Object.keys(xs));
    for (const k of Object.keys(xs)) expect([r[k].dtype, r[k].shape, arr(r[k])]).toEqual([xs[k].dtype, xs[k].shape, arr(xs[k])]);
    nd.dispose([xs, r]);
    expect(liveMemory()).toEqual(start);
  });

  test('an entry our writer stored is byte-identical to a .npy file of the same array', () => {
    const x = nd.array([[1, 2, 3]], { dtype: 'int32' });
    nd.saveNpz(tmp('one.npz'), { x });
    nd.saveNpy(tmp('one.npy'), x);
    const npz = fs.readFileSync(tmp('one.npz'));
    const npy = fs.readFileSync(tmp('one.npy'));
    expect(npz.subarray(30 + 5, 30 + 5 + npy.length).equals(npy)).toBe(true);
    expect(npz.readUInt32LE(14)).toBe(zlib.crc32(npy));
    x.dispose();
  });

  test('bad arguments; a failed save leaves nothing', () => {
    const gone = nd.array([1]);
    gone.dispose();
    expect(errorOf(() => nd.saveNpy(tmp('g.npy'), gone)).code).toBe('DISPOSED');
    expect(errorOf(() => nd.saveNpz(tmp('g.npz'), [gone] as any)).code).toBe('BAD_ARGUMENT');
    expect(errorOf(() => nd.saveNpz(tmp('g.npz'), {}, { compress: true } as any)).code).toBe('BAD_ARGUMENT');
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('.g') || f.startsWith('g.'))).toEqual([]);
  });
});

(fs.existsSync('/proc/self/fd') ? test : test.skip)('no file descriptor is left open by loads that succeed or fail', () => {
  const open = (): number => fs.readdirSync('/proc/self/fd').length;
  const whole = fs.readFileSync(path.join(FIX, 'stored.npz'));
  fs.writeFileSync(tmp('fd-cut.npz'), whole.subarray(0, whole.length - 1));
  const before = open();
  for (let i = 0; i < 10; i++) {
    nd.dispose(nd.loadNpz(path.join(FIX, 'stored.npz')));
    nd.dispose(nd.loadNpy(path.join(FIX, 'f4.npy')));
    expect(errorOf(() => nd.loadNpz(tmp('fd-cut.npz'))).code).toBe('BAD_FILE');
    expect(errorOf(() => nd.loadNpy(path.join(FIX, 'f2.npy'))).code).toBe('BAD_FILE');
  }
  expect(open()).toBe(before);
});

describe('bad files', () => {
  test('.npy cut at every byte is BAD_FILE', () => {
    const whole = fs.readFileSync(path.join(FIX, 'f4.npy'));
    for (let n = 0; n < whole.length; n++) {
      fs.writeFileSync(tmp('cut.npy'), whole.subarray(0, n));
      badFile(() => nd.loadNpy(tmp('cut.npy')), 'cut.npy', n < 10 ? /bad magic|truncated/ : /truncated/);
    }
  });

  test('.npz cut anywhere, or with a flipped data byte, is BAD_FILE', () => {
    for (const f of ['stored.npz', 'deflated.npz']) {
      const whole = fs.readFileSync(path.join(FIX, f));
      for (let n = 0; n < whole.length; n += 7) {
        fs.writeFileSync(tmp('cut.npz'), whole.subarray(0, n));
        badFile(() => nd.loadNpz(tmp('cut.npz')), 'cut.npz', /./);
      }
      const flipped = Buffer.from(whole);
      flipped[80] ^= 0x40; // inside the first entry's data (after its 55-byte local header) in both files
      fs.writeFileSync(tmp('flip.npz'), flipped);
      badFile(() => nd.loadNpz(tmp('flip.npz')), 'flip.npz', /corrupt|bad deflate|bad header/);
    }
  });

  test("bfloat16 as MXNet 2 writes it: descr [('bfloat16', '<u2')], the raw 2-byte bits", () => {
    // MXNet 2's header (src/serialization/cnpy.cc), built by hand, little- and big-endian data
    for (const [order, write16] of [['<', 'writeUInt16LE'], ['>', 'writeUInt16BE']] as const) {
      let dict = `{'descr': [('bfloat16', '${order}u2')], 'fortran_order': False, 'shape': (3,), }`;
      dict = dict.padEnd(128 - 10 - 1, ' ') + '\n';
      const data = Buffer.alloc(6);
      [0x3f80, 0xc020, 0x7fc0].forEach((v, i) => data[write16](v, 2 * i));
      const head = Buffer.alloc(10);
      Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
      head.writeUInt16LE(dict.length, 8);
      fs.writeFileSync(tmp('mx-bf.npy'), Buffer.concat([head, Buffer.from(dict, 'latin1'), data]));
      const y = nd.loadNpy(tmp('mx-bf.npy'));
      expect(y.dtype).toBe('bfloat16');
      expect(y.toArray()).toEqual([1, -2.5, NaN]);
      y.dispose();
    }
    const x = nd.array([[0.1, 300], [-7, 1e-20]], { dtype: 'bfloat16' });
    nd.saveNpy(tmp('bf.npy'), x);
    const file = fs.readFileSync(tmp('bf.npy'));
    expect(file.toString('latin1', 10, 10 + file.readUInt16LE(8))).toContain("{'descr': [('bfloat16', '<u2')], 'fortran_order': False, 'shape': (2, 2), }");
    const y = nd.loadNpy(tmp('bf.npy'));
    expect(y.dtype).toBe('bfloat16');
    expect(y.toArray()).toEqual(x.toArray());
    nd.dispose([x, y]);
  });

  test('wrong magic, unknown version, bad header, a missing file', () => {
    const good = fs.readFileSync(path.join(FIX, 'f4.npy'));
    const edit = (f: (b: Buffer) => void): string => {
      const b = Buffer.from(good);
      f(b);
      fs.writeFileSync(tmp('bad.npy'), b);
      return tmp('bad.npy');
    };
    badFile(() => nd.loadNpy(edit((b) => (b[1] = 0x4f))), 'bad.npy', /bad magic/);
    badFile(() => nd.loadNpy(edit((b) => (b[6] = 9))), 'bad.npy', /unknown \.npy version 9/);
    badFile(() => nd.loadNpy(edit((b) => b.write('X', 12))), 'bad.npy', /bad header/);
    badFile(() => nd.loadNpy(tmp('missing.npy')), 'missing.npy', /cannot read/);
    badFile(() => nd.loadNpz(path.join(FIX, 'f4.npy')), 'f4.npy', /not an \.npz file/);
  });
});
