// nd.save / nd.load in MXNet's binary NDArray format: round trips, every record version MXNet reads
// (files built here byte by byte from the layout of MXNet's src/ndarray/ndarray.cc, independently of
// lib/mxnet_file.ts), and every BAD_FILE case, with no array leaked and no file left half written.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { nd, NDArray } from '../lib';
import { writeAtomic } from '../lib/fileio';
import { arr, errorOf, liveMemory } from './helpers';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ndgrad-files-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const tmp = (name: string): string => path.join(dir, name);

// ---- MXNet's layout, written out field by field ----
const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; };
const i32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32LE(v); return b; };
const u64 = (v: number): Buffer => { const b = Buffer.alloc(8); b.writeBigInt64LE(BigInt(v)); return b; };
const MAGIC = { 1: 0xf993fac8, 2: 0xf993fac9, 3: 0xf993faca } as const;
const FLAG = { float32: 0, float64: 1, uint8: 3, int32: 4 } as const;

/** One record: its fields as separate chunks (so tests can cut the file between any two). */
function record(version: 0 | 1 | 2 | 3, flag: number, shape: number[], data: Buffer, stype = 0): Buffer[] {
  const parts: Buffer[] = [];
  if (version === 0) parts.push(u32(shape.length), ...shape.map(u32));
  else {
    parts.push(u32(MAGIC[version]));
    if (version >= 2) parts.push(i32(stype));
    parts.push(i32(shape.length), ...shape.map(u64));
  }
  parts.push(i32(1), i32(0), i32(flag));
  if (data.length) parts.push(data);
  return parts;
}
function fileParts(records: Buffer[][], names: string[]): Buffer[] {
  const parts = [u64(0x112), u64(0), u64(records.length)];
  for (const r of records) parts.push(...r);
  parts.push(u64(names.length));
  for (const n of names) parts.push(u64(Buffer.byteLength(n)), Buffer.from(n));
  return parts;
}
const f32 = (xs: number[]): Buffer => Buffer.from(new Float32Array(xs).buffer);
const f64 = (xs: number[]): Buffer => Buffer.from(new Float64Array(xs).buffer);
const i32s = (xs: number[]): Buffer => Buffer.from(new Int32Array(xs).buffer);

function write(name: string, parts: Buffer[]): string {
  fs.writeFileSync(tmp(name), Buffer.concat(parts));
  return tmp(name);
}

const asList = (r: NDArray[] | Record<string, NDArray>): NDArray[] => {
  expect(Array.isArray(r)).toBe(true);
  return r as NDArray[];
};
const asRecord = (r: NDArray[] | Record<string, NDArray>): Record<string, NDArray> => {
  expect(Array.isArray(r)).toBe(false);
  return r as Record<string, NDArray>;
};

describe('round trips', () => {
  const cases: [string, () => NDArray][] = [
    ['float32', () => nd.array([[1.5, -2.25, 3e-7], [4, 5, 6]], { dtype: 'float32' })],
    ['float64', () => nd.array([Math.PI, -1e300, 5e-324, 0], { dtype: 'float64' })],
    ['int32', () => nd.array([2147483647, -2147483648, 0, 7], { dtype: 'int32' })],
    ['uint8', () => nd.array([[0, 255], [128, 1]], { dtype: 'uint8' })],
    ['bfloat16', () => nd.array([[1.5, -2.25, 3e-7], [Infinity, NaN, -0]], { dtype: 'bfloat16' })],
    ['empty [0]', () => nd.zeros([0])],
    ['empty [3, 0, 2]', () => nd.zeros([3, 0, 2], { dtype: 'float64' })],
    ['4-d', () => nd.arange(0, 120).reshape([2, 3, 4, 5])],
  ];
  test.each(cases)('%s, as a list, a dict and alone', (_name, make) => {
    const start = liveMemory();
    const x = nd.tidy(make);
    for (const data of [[x], { w: x }, x]) {
      nd.save(tmp('rt.params'), data as any);
      const r = nd.load(tmp('rt.params'));
      const y = Array.isArray(data) || data instanceof NDArray ? asList(r)[0] : asRecord(r).w;
      expect(y.dtype).toBe(x.dtype);
      expect(y.shape).toEqual(x.shape);
      expect(arr(y)).toEqual(arr(x));
      nd.dispose(r);
    }
    x.dispose();
    expect(liveMemory()).toEqual(start);
  });

  test('bfloat16 is MXNet\'s dtype flag 12 with the 2-byte bits, and loads back as bfloat16', () => {
    const x = nd.array([1, -2.5, 3.140625], { dtype: 'bfloat16' });
    nd.save(tmp('bf.params'), [x]);
    const bits = Buffer.alloc(6);
    [0x3f80, 0xc020, 0x4049].forEach((v, i) => bits.writeUInt16LE(v, 2 * i));
    expect(fs.readFileSync(tmp('bf.params'))).toEqual(Buffer.concat(fileParts([record(2, 12, [3], bits)], [])));
    const [y] = asList(nd.load(tmp('bf.params')));
    expect(y.dtype).toBe('bfloat16');
    expect(arr(y)).toEqual([1, -2.5, 3.140625]);
    nd.dispose([x, y]);
  });

  test('V2 records; a 0-d array makes every record V3 (MXNet reads a file in one shape semantics)', () => {
    const a = nd.array([1, 2]);
    const s = nd.array(7.5);
    nd.save(tmp('v2.params'), { a });
    expect(fs.readFileSync(tmp('v2.params')).readUInt32LE(24)).toBe(MAGIC[2]);
    nd.save(tmp('v3.params'), { a, s });
    const buf = fs.readFileSync(tmp('v3.params'));
    expect(buf.readUInt32LE(24)).toBe(MAGIC[3]);
    // the second record starts after the first's 24-byte header, one dim and 8 data bytes
    expect(buf.readUInt32LE(24 + 4 + 4 + 4 + 8 + 12 + 8)).toBe(MAGIC[3]);
    const r = asRecord(nd.load(tmp('v3.params')));
    expect(r.s.shape).toEqual([]);
    expect(r.s.item()).toBe(7.5);
    expect(arr(r.a)).toEqual([1, 2]);
    nd.dispose([a, s, r]);
  });

  test('the bytes are exactly MXNet\'s layout (V2, or V3 with a 0-d array; cpu(0); names after the arrays)', () => {
    const w = nd.array([[1, 2, 3]], { dtype: 'float32' });
    const b = nd.array([9], { dtype: 'int32' });
    nd.save(tmp('exact.params'), { 'fc.weight': w, 'fc.bias': b });
    const expected = fileParts(
      [record(2, FLAG.float32, [1, 3], f32([1, 2, 3])), record(2, FLAG.int32, [1], i32s([9]))],
      ['fc.weight', 'fc.bias'],
    );
    expect(fs.readFileSync(tmp('exact.params')).equals(Buffer.concat(expected))).toBe(true);
    // with a 0-d array, what MXNet 1.x writes under npx.set_np(): V3 records, ndim 0 for the scalar
    const s = nd.array(0.5, { dtype: 'float64' });
    nd.save(tmp('exact3.params'), [s, b]);
    const expected3 = fileParts([record(3, FLAG.float64, [], f64([0.5])), record(3, FLAG.int32, [1], i32s([9]))], []);
    expect(fs.readFileSync(tmp('exact3.params')).equals(Buffer.concat(expected3))).toBe(true);
    nd.dispose([w, b, s]);
  });

  test("any name, '__proto__' and non-ASCII included, comes back as an own key", () => {
    const a = nd.array([1]);
    const b = nd.array([2]);
    nd.save(tmp('names.params'), Object.fromEntries([['__proto__', a], ['größe.ß', b]]));
    const r = asRecord(nd.load(tmp('names.params')));
    expect(Object.keys(r)).toEqual(['__proto__', 'größe.ß']);
    expect(Object.getPrototypeOf(r)).toBe(Object.prototype);
    expect([arr(r['__proto__']), arr(r['größe.ß'])]).toEqual([[1], [2]]);
    nd.dispose([a, b, Object.values(r)]);
  });

  test('an empty list and an empty dict', () => {
    nd.save(tmp('none.params'), []);
    expect(nd.load(tmp('none.params'))).toEqual([]);
    nd.save(tmp('none.params'), {});
    expect(nd.load(tmp('none.params'))).toEqual([]); // MXNet cannot tell them apart either
  });
});

describe('every record version MXNet reads', () => {
  test.each([0, 1, 2, 3] as const)('V%i records, listed and named', (v) => {
    const start = liveMemory();
    const recs = [
      record(v, FLAG.float32, [2, 3], f32([0, 1, 2, 3, 4, 5.5])),
      record(v, FLAG.float64, [2], f64([-1.25, 1e-310])),
      record(v, FLAG.int32, [1, 1, 2], i32s([-5, 2147483647])),
      record(v, FLAG.uint8, [3], Buffer.from([0, 200, 255])),
    ];
    const list = asList(nd.load(write(`v${v}.list`, fileParts(recs, []))));
    expect(list.map((x) => x.dtype)).toEqual(['float32', 'float64', 'int32', 'uint8']);
    expect(list.map((x) => x.shape)).toEqual([[2, 3], [2], [1, 1, 2], [3]]);
    expect(list.map(arr)).toEqual([[0, 1, 2, 3, 4, 5.5], [-1.25, 1e-310], [-5, 2147483647], [0, 200, 255]]);
    const named = asRecord(nd.load(write(`v${v}.named`, fileParts(recs, ['a', 'b', 'c', 'd']))));
    expect(Object.keys(named)).toEqual(['a', 'b', 'c', 'd']);
    expect(arr(named.b)).toEqual([-1.25, 1e-310]);
    nd.dispose([list, named]);
    expect(liveMemory()).toEqual(start);
  });

  test('V3: ndim 0 is a 0-d array; ndim -1 or an unknown dim is an array without shape', () => {
    const recs = [
      record(3, FLAG.float32, [], f32([4.5])),
      [u32(MAGIC[3]), i32(0), i32(-1)],
      [u32(MAGIC[3]), i32(0), i32(2), u64(3), u64(-1)],
    ];
    const [s, none1, none2] = asList(nd.load(write('v3-edge', fileParts(recs, []))));
    expect(s.shape).toEqual([]);
    expect(s.item()).toBe(4.5);
    // MXNet loads these as uninitialized NDArrays; ndgrad has none, so they are empty arrays
    expect([none1.shape, none2.shape]).toEqual([[0], [0]]);
    nd.dispose([s, none1, none2]);
  });

  test.each([0, 1, 2] as const)('V%i: ndim 0 is an array without shape (nothing follows it)', (v) => {
    const rec = v === 0 ? [u32(0)] : v === 1 ? [u32(MAGIC[1]), i32(0)] : [u32(MAGIC[2]), i32(0), i32(0)];
    const [none, x] = asList(nd.load(write('v-none', fileParts([rec, record(v, FLAG.float32, [1], f32([3]))], []))));
    expect(none.shape).toEqual([0]);
    expect(arr(x)).toEqual([3]);
    nd.dispose([none, x]);
  });

  test('records of different versions mix in one file; a GPU context loads on the CPU', () => {
    const gpu = record(2, FLAG.float32, [1], f32([2]));
    gpu[gpu.length - 4] = i32(2); // dev_type gpu
    gpu[gpu.length - 3] = i32(1); // gpu(1)
    const r = asList(nd.load(write('mixed', fileParts([record(0, FLAG.float32, [1], f32([1])), gpu, record(3, FLAG.float32, [1], f32([3]))], []))));
    expect(r.map(arr)).toEqual([[1], [2], [3]]);
    nd.dispose(r);
  });
});

describe('BAD_FILE, naming the file, with nothing created', () => {
  const good = (): Buffer[] =>
    fileParts([record(2, FLAG.float32, [2, 2], f32([1, 2, 3, 4])), record(1, FLAG.int32, [3], i32s([1, 2, 3])), record(0, FLAG.float64, [1], f64([5]))], ['a', 'bb', 'c']);

  function bad(file: string, pattern: RegExp): void {
    const start = liveMemory();
    const e = errorOf(() => nd.load(file));
    expect(e.code).toBe('BAD_FILE');
    expect(e.message).toContain(file);
    expect(e.message).toMatch(pattern);
    expect(liveMemory()).toEqual(start);
  }

  test('a file cut at every field boundary (and every byte) is truncated', () => {
    const parts = good();
    const whole = Buffer.concat(parts);
    const boundaries = new Set<number>();
    let at = 0;
    for (const p of parts) boundaries.add((at += p.length));
    for (let n = 0; n < whole.length; n++) {
      fs.writeFileSync(tmp('cut'), whole.subarray(0, n));
      bad(tmp('cut'), n < 8 ? /bad magic/ : /truncated/);
    }
    expect(boundaries.size).toBe(parts.length);
    fs.writeFileSync(tmp('cut'), whole);
    nd.dispose(nd.load(tmp('cut')));
  });

  test('the truncation message says where', () => {
    const whole = Buffer.concat(good());
    fs.writeFileSync(tmp('cut'), whole.subarray(0, 24 + 4 + 4 + 4 + 16 + 12 + 10));
    bad(tmp('cut'), /array 0 \(of 3\)/);
    fs.writeFileSync(tmp('cut'), whole.subarray(0, whole.length - 1));
    bad(tmp('cut'), /name 2 \(of 3\)/);
  });

  test('wrong list magic, a missing file, a directory', () => {
    const parts = good();
    parts[0] = u64(0x113);
    bad(write('magic', parts), /bad magic/);
    bad(tmp('does-not-exist.params'), /cannot read/);
    bad(dir, /cannot read/);
    bad(write('npy-not-params', [Buffer.from('\x93NUMPY\x01\x00')]), /bad magic/);
  });

  test.each([
    [2, 'float16'], [5, 'int8'], [6, 'int64'], [7, 'bool'], [9, 'uint16'],
  ])('dtype flag %i (%s) is named', (flag, name) => {
    bad(write('dtype', fileParts([record(2, FLAG.float32, [1], f32([1])), record(2, flag, [1], Buffer.alloc(8))], [])), new RegExp(`array 1 \\(of 2\\): dtype ${name}`));
  });

  test('an unknown dtype flag', () => {
    bad(write('dtype', fileParts([record(1, 99, [1], Buffer.alloc(4))], [])), /unknown dtype flag 99/);
  });

  test('sparse records (row_sparse, csr) are named', () => {
    // a row_sparse record: storage shape follows the storage type; nothing after it is read
    const rs = [u32(MAGIC[2]), i32(1), i32(2), u64(2), u64(3), i32(2), u64(2), u64(3)];
    bad(write('sparse', fileParts([record(2, FLAG.float32, [1], f32([1])), rs], [])), /array 1 \(of 2\): row_sparse storage/);
    bad(write('sparse', fileParts([[u32(MAGIC[2]), i32(2)]], [])), /csr storage/);
  });

  test('names that do not match the arrays, duplicate names, trailing bytes, bad fields', () => {
    const recs = [record(2, FLAG.float32, [1], f32([1])), record(2, FLAG.float32, [1], f32([2]))];
    bad(write('names', fileParts(recs, ['only-one'])), /1 names for 2 arrays/);
    bad(write('names', fileParts(recs, ['x', 'x'])), /duplicate name 'x'/);
    bad(write('trail', [...fileParts(recs, []), Buffer.from([0])]), /1 unexpected bytes/);
    const dev = record(2, FLAG.float32, [1], f32([1]));
    dev[dev.length - 4] = i32(7);
    bad(write('dev', fileParts([dev], [])), /bad device type 7/);
    bad(write('dims', fileParts([[u32(MAGIC[2]), i32(0), i32(40)]], [])), /bad number of dimensions 40/);
    bad(write('dim', fileParts([[u32(MAGIC[2]), i32(0), i32(1), u64(-3)]], [])), /bad dimension -3/);
    bad(write('count', [u64(0x112), u64(0), u64(-1)]), /bad array count/);
  });
});

// Loads read the file through a descriptor kept open while the arrays are made: none may stay open.
(fs.existsSync('/proc/self/fd') ? test : test.skip)('no file descriptor is left open by loads that succeed or fail', () => {
  const open = (): number => fs.readdirSync('/proc/self/fd').length;
  const file = write('fd', fileParts([record(2, FLAG.float32, [2], f32([1, 2]))], ['w']));
  const cut = write('fd-cut', fileParts([record(2, FLAG.float32, [2], f32([1, 2]))], ['w']).slice(0, -1));
  const before = open();
  for (let i = 0; i < 20; i++) {
    nd.dispose(nd.load(file));
    expect(errorOf(() => nd.load(cut)).code).toBe('BAD_FILE');
    expect(errorOf(() => nd.load(dir)).code).toBe('BAD_FILE');
  }
  expect(open()).toBe(before);
});

describe('saving', () => {
  test('atomic: a failed save leaves the old file and no temporary file', () => {
    const a = nd.array([1, 2, 3]);
    nd.save(tmp('keep.params'), { a });
    const before = fs.readFileSync(tmp('keep.params'));
    const gone = nd.array([4]);
    gone.dispose();
    expect(errorOf(() => nd.save(tmp('keep.params'), { a, gone })).code).toBe('DISPOSED');
    expect(errorOf(() => nd.save(tmp('keep.params'), { a, n: 3 as any })).code).toBe('BAD_ARGUMENT');
    expect(fs.readFileSync(tmp('keep.params')).equals(before)).toBe(true);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    a.dispose();
  });

  test('a writer failing half way through leaves the old file whole and no temporary file', () => {
    fs.writeFileSync(tmp('half.params'), 'old contents');
    expect(() =>
      writeAtomic('save', tmp('half.params'), (put) => {
        put(Buffer.alloc(1000, 7));
        throw new Error('disk full (simulated)');
      }),
    ).toThrow('disk full (simulated)');
    expect(fs.readFileSync(tmp('half.params'), 'utf8')).toBe('old contents');
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('a write that fails (a directory in the way) is BAD_FILE and leaves no temporary file', () => {
    fs.mkdirSync(tmp('adir'), { recursive: true });
    const a = nd.array([1]);
    const e = errorOf(() => nd.save(tmp('adir'), [a]));
    expect(e.code).toBe('BAD_FILE');
    expect(e.message).toContain(tmp('adir'));
    expect(errorOf(() => nd.save(path.join(dir, 'no', 'such', 'dir.params'), [a])).code).toBe('BAD_FILE');
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    a.dispose();
  });

  test('bad arguments', () => {
    expect(errorOf(() => nd.save('', [])).code).toBe('BAD_ARGUMENT');
    expect(errorOf(() => nd.save(tmp('x'), 5 as any)).code).toBe('BAD_ARGUMENT');
    expect(errorOf(() => nd.load(3 as any)).code).toBe('BAD_ARGUMENT');
  });
});
