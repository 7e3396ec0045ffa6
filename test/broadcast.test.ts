// NumPy broadcasting of every binary op, number operands on either side, shape and dtype errors,
// and the integer dtype rules of API.md.
import { nd, NDArray } from '../lib';
import { codeOf, expectError } from './helpers';

type Ref = (a: number, b: number) => number;
const pyMod = (a: number, b: number) => {
  if (b === 0) return NaN;
  const r = a % b;
  return r !== 0 && r < 0 !== b < 0 ? r + b : r;
};
// JS references of the ops (comparisons give 0/1).
const REF: Record<string, Ref> = {
  add: (a, b) => a + b,
  subtract: (a, b) => a - b,
  multiply: (a, b) => a * b,
  divide: (a, b) => a / b,
  mod: pyMod,
  power: (a, b) => Math.pow(a, b),
  maximum: (a, b) => Math.max(a, b),
  minimum: (a, b) => Math.min(a, b),
  hypot: (a, b) => Math.hypot(a, b),
  equal: (a, b) => +(a === b),
  notEqual: (a, b) => +(a !== b),
  greater: (a, b) => +(a > b),
  greaterEqual: (a, b) => +(a >= b),
  lesser: (a, b) => +(a < b),
  lesserEqual: (a, b) => +(a <= b),
};
const OPS = Object.keys(REF);

function strides(shape: number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}
function broadcastShape(a: number[], b: number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error('not broadcastable');
    out.push(da === 1 ? db : da);
  }
  return out;
}
/** Reference broadcasting binary op on flat data. */
function refBinary(f: Ref, a: number[], as: number[], b: number[], bs: number[]): { data: number[]; shape: number[] } {
  const shape = broadcastShape(as, bs);
  const size = shape.reduce((x, y) => x * y, 1);
  const os = strides(shape);
  const sa = strides(as);
  const sb = strides(bs);
  const data: number[] = [];
  for (let i = 0; i < size; i++) {
    let ia = 0;
    let ib = 0;
    for (let d = 0; d < shape.length; d++) {
      const k = Math.floor(i / os[d]) % shape[d];
      const da = d - (shape.length - as.length);
      const db = d - (shape.length - bs.length);
      if (da >= 0 && as[da] !== 1) ia += k * sa[da];
      if (db >= 0 && bs[db] !== 1) ib += k * sb[db];
    }
    data.push(f(a[ia], b[ib]));
  }
  return { data, shape };
}

const sizeOf = (s: number[]) => s.reduce((x, y) => x * y, 1);
/** Deterministic values, positive for ops whose domain needs it. */
function values(n: number, seed: number, positive: boolean): number[] {
  const out: number[] = [];
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const v = ((x % 1000) - 500) / 100; // -5 .. 4.99, two decimals
    out.push(positive ? Math.abs(v) + 0.5 : v);
  }
  return out;
}

function expectClose(actual: ArrayLike<number>, expected: number[], rtol = 1e-12, atol = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    const a = actual[i];
    if (Number.isNaN(e)) expect(a).toBeNaN();
    else if (!Number.isFinite(e)) expect(a).toBe(e);
    else if (Math.abs(a - e) > atol + rtol * Math.abs(e)) throw new Error(`element ${i}: got ${a}, expected ${e}`);
  }
}

// Pairs of broadcast-compatible shapes, including size-0 and size-1 axes and 0-d.
const PAIRS: [number[], number[]][] = [
  [[4], [4]],
  [[2, 3], [3]],
  [[3], [2, 3]],
  [[2, 1], [1, 3]],
  [[4, 1, 3], [5, 1]],
  [[1], [3, 2]],
  [[], [2, 3]],
  [[2, 3], []],
  [[], []],
  [[2, 1, 4], [2, 3, 1]],
  [[0], [1]],
  [[0, 3], [1, 3]],
  [[2, 0], [2, 1]],
  [[1, 0], [3, 1]],
  [[0], []],
  [[3, 1, 2, 1, 2], [2, 1, 3, 1]],
];

// (reshape follows MXNet: a 0 in the target shape copies the input's dim, so size-0 arrays come from zeros)
const make = (v: number[], shape: number[]): NDArray =>
  v.length === 0 ? nd.zeros(shape, { dtype: 'float64' }) : nd.array(v, { dtype: 'float64' }).reshape(shape);

describe.each(OPS)('%s broadcasts like NumPy', (op) => {
  const positive = op === 'power';
  test.each(PAIRS)('%p with %p (float64, exact reference)', (as, bs) => {
    const a = values(sizeOf(as), 3, positive);
    const b = values(sizeOf(bs), 11, positive);
    const x = make(a, as);
    const y = make(b, bs);
    const ref = refBinary(REF[op], a, as, b, bs);
    const r = (nd as any)[op](x, y) as NDArray;
    expect(r.shape).toEqual(ref.shape);
    expect(r.dtype).toBe('float64');
    expectClose(r.toTypedArray(), ref.data, 1e-12, 1e-12);
    // the method form gives the same
    const m = (x as any)[op](y) as NDArray;
    expect(Array.from(m.toTypedArray())).toEqual(Array.from(r.toTypedArray()));
    x.dispose();
    y.dispose();
  });

  test('float32 against the float64 reference', () => {
    const as = [3, 1, 5];
    const bs = [4, 1];
    const a = values(15, 5, positive).map(Math.fround);
    const b = values(4, 7, positive).map(Math.fround);
    const r = (nd as any)[op](nd.array(a).reshape(as), nd.array(b).reshape(bs)) as NDArray;
    expect(r.dtype).toBe('float32');
    expect(r.shape).toEqual([3, 4, 5]);
    expectClose(r.toTypedArray(), refBinary(REF[op], a, as, b, bs).data, 1e-6, 1e-6);
  });

  test('a number on the right and on the left', () => {
    const a = values(6, 13, positive);
    const x = nd.array(a, { dtype: 'float64' }).reshape([2, 3]);
    const s = positive ? 1.5 : -1.25;
    const right = (nd as any)[op](x, s) as NDArray;
    const left = (nd as any)[op](s, x) as NDArray;
    expect(right.shape).toEqual([2, 3]);
    expect(left.shape).toEqual([2, 3]);
    expect(right.dtype).toBe('float64');
    expectClose(right.toTypedArray(), a.map((v) => REF[op](v, s)));
    expectClose(left.toTypedArray(), a.map((v) => REF[op](s, v)));
    expectClose(((x as any)[op](s) as NDArray).toTypedArray(), a.map((v) => REF[op](v, s)));
    // a number on a 0-d array and on an empty array
    expect((nd as any)[op](nd.full([], 2, { dtype: 'float64' }), 3).item()).toBeCloseTo(REF[op](2, 3), 12);
    expect(((nd as any)[op](3, nd.zeros([0, 2])) as NDArray).shape).toEqual([0, 2]);
  });

  test('incompatible shapes: SHAPE_MISMATCH naming the op and both shapes', () => {
    for (const [as, bs] of [
      [[2, 3], [4, 3]],
      [[3], [4]],
      [[2, 0], [2, 2]],
      [[5, 4], [2, 3, 4]],
      [[0], [2]],
    ]) {
      const nativeName = op.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
      expectError(() => (nd as any)[op](nd.zeros(as), nd.zeros(bs)), 'SHAPE_MISMATCH', nativeName, `(${as.join(',')})`, `(${bs.join(',')})`);
    }
  });

  test('different dtypes: DTYPE_MISMATCH naming both dtypes', () => {
    expectError(() => (nd as any)[op](nd.ones([2]), nd.ones([2], { dtype: 'float64' })), 'DTYPE_MISMATCH', 'float32', 'float64');
    expect(codeOf(() => (nd as any)[op](nd.ones([2], { dtype: 'int32' }), nd.ones([2], { dtype: 'uint8' })))).toBe('DTYPE_MISMATCH');
  });

  test('two numbers are refused with BAD_ARGUMENT', () => {
    expect(codeOf(() => (nd as any)[op](1, 2))).toBe('BAD_ARGUMENT');
  });
});

describe('broadcasting in other places', () => {
  test('out must have the broadcast shape', () => {
    const out = nd.zeros([2, 3]);
    nd.add(nd.array([1, 2, 3]), nd.array([[10], [20]]), { out });
    expect(out.toArray()).toEqual([[11, 12, 13], [21, 22, 23]]);
    expectError(() => nd.add(nd.ones([3]), nd.ones([2, 3]), { out: nd.zeros([3]) }), 'SHAPE_MISMATCH', '(3)', '(2,3)');
  });

  test('in-place forms broadcast the right operand only', () => {
    const x = nd.zeros([2, 3]);
    x.iadd(nd.array([1, 2, 3]));
    x.imul(nd.array([[2], [3]]));
    expect(x.toArray()).toEqual([[2, 4, 6], [3, 6, 9]]);
    x.isub(1).idiv(2);
    expect(x.toArray()).toEqual([[0.5, 1.5, 2.5], [1, 2.5, 4]]);
    expectError(() => nd.zeros([3]).iadd(nd.ones([2, 3])), 'SHAPE_MISMATCH', '(2,3)', '(3)');
  });

  test('set broadcasts a value or an array', () => {
    const x = nd.zeros([2, 3]);
    x.set(nd.array([1, 2, 3]));
    expect(x.toArray()).toEqual([[1, 2, 3], [1, 2, 3]]);
    x.set(7);
    expect(x.toArray()).toEqual([[7, 7, 7], [7, 7, 7]]);
    expectError(() => x.set(nd.ones([4])), 'SHAPE_MISMATCH', '(4)', '(2,3)');
  });

  test('broadcastTo / broadcastLike', () => {
    expect(nd.broadcastTo(nd.array([[1], [2]]), [2, 3]).toArray()).toEqual([[1, 1, 1], [2, 2, 2]]);
    expect(nd.array([1, 2]).broadcastLike(nd.zeros([2, 2])).toArray()).toEqual([[1, 2], [1, 2]]);
    // MXNet: a 0 in the target shape keeps the input's dim
    expect(nd.broadcastTo(nd.zeros([2, 1]), [0, 3]).shape).toEqual([2, 3]);
    expectError(() => nd.broadcastTo(nd.ones([2, 3]), [3, 3]), 'SHAPE_MISMATCH', '(2,3)', '(3,3)');
  });

  test('where broadcasts its three operands', () => {
    const r = nd.where(nd.array([[1], [0]]), nd.array([1, 2, 3]), nd.full([], -1));
    expect(r.toArray()).toEqual([[1, 2, 3], [-1, -1, -1]]);
    expectError(() => nd.where(nd.ones([2]), nd.ones([3]), nd.ones([3])), 'SHAPE_MISMATCH', '(2)', '(3)');
  });
});

describe('integer dtype rules', () => {
  const I = () => nd.array([-7, 7, 5, 0], { dtype: 'int32' });
  const J = () => nd.array([2, -2, 3, 3], { dtype: 'int32' });

  test.each(['add', 'subtract', 'multiply', 'maximum', 'minimum', 'mod', 'power'])('%s keeps int32', (op) => {
    const r = (nd as any)[op](I(), J()) as NDArray;
    expect(r.dtype).toBe('int32');
    const a = [-7, 7, 5, 0];
    const b = [2, -2, 3, 3];
    const f = op === 'power' ? (x: number, y: number) => Math.trunc(Math.pow(x, y)) : REF[op];
    expect(r.toArray()).toEqual(a.map((v, i) => f(v, b[i])));
  });

  test('comparisons return 0/1 in the inputs dtype', () => {
    for (const op of ['equal', 'notEqual', 'greater', 'greaterEqual', 'lesser', 'lesserEqual']) {
      const r = (nd as any)[op](I(), J()) as NDArray;
      expect(r.dtype).toBe('int32');
      expect(r.toArray()).toEqual([-7, 7, 5, 0].map((v, i) => REF[op](v, [2, -2, 3, 3][i])));
      expect(((nd as any)[op](nd.array([1, 2], { dtype: 'uint8' }), 1) as NDArray).dtype).toBe('uint8');
      expect(((nd as any)[op](nd.array([1, 2], { dtype: 'float64' }), 1) as NDArray).dtype).toBe('float64');
    }
  });

  test('divide and hypot give float32 for integer inputs', () => {
    const d = nd.divide(I(), J());
    expect(d.dtype).toBe('float32');
    expect(d.toArray()).toEqual([-3.5, -3.5, Math.fround(5 / 3), 0]);
    expect(nd.divide(nd.array([3], { dtype: 'uint8' }), 2).dtype).toBe('float32');
    expect(nd.divide(nd.array([3], { dtype: 'uint8' }), 2).item()).toBe(1.5);
    expect(nd.hypot(nd.array([3], { dtype: 'int32' }), nd.array([4], { dtype: 'int32' })).toArray()).toEqual([5]);
  });

  test('a number operand takes the array dtype', () => {
    const r = nd.add(I(), 1.5);
    expect(r.dtype).toBe('int32');
    expect(r.toArray()).toEqual([-6, 8, 6, 1]); // 1.5 becomes int32 1
    expect(nd.multiply(2, nd.array([1, 2], { dtype: 'float64' })).dtype).toBe('float64');
    expect(nd.subtract(10, nd.array([1, 2], { dtype: 'uint8' })).toArray()).toEqual([9, 8]);
  });

  test('uint8 arithmetic wraps around like NumPy', () => {
    const u = nd.array([250, 3], { dtype: 'uint8' });
    expect(u.add(10).toArray()).toEqual([4, 13]);
    expect(u.sub(4).toArray()).toEqual([246, 255]);
    expect(u.mul(2).toArray()).toEqual([244, 6]);
    expect(u.add(u).dtype).toBe('uint8');
  });

  // A number operand is converted to the integer dtype as astype converts it (a plain C++ cast was
  // undefined behaviour for NaN, ±Inf and out-of-range numbers: int32 [1] + NaN gave -2147483647).
  test('a NaN number operand of an integer array counts as 0, as astype converts NaN', () => {
    expect(nd.add(nd.array([1], { dtype: 'int32' }), NaN).toArray()).toEqual([1]);
    expect(nd.subtract(NaN, nd.array([7], { dtype: 'int32' })).toArray()).toEqual([-7]);
    expect(nd.multiply(nd.array([3], { dtype: 'uint8' }), NaN).toArray()).toEqual([0]);
    expect(nd.maximum(nd.array([-4], { dtype: 'int32' }), NaN).toArray()).toEqual([0]);
  });

  test('a number beyond the int32 range saturates to it: int32 [7] mod 2**32 is 7, as NumPy computes in int64', () => {
    const s = nd.array([7], { dtype: 'int32' });
    expect(s.mod(2 ** 32).toArray()).toEqual([7]);
    expect(s.mod(-(2 ** 40)).toArray()).toEqual([7 - 2 ** 31]);  // -2**31 + 7: the divisor's sign, as NumPy
    expect(nd.maximum(s, 1e10).toArray()).toEqual([2 ** 31 - 1]);
    expect(nd.minimum(s, -Infinity).toArray()).toEqual([-(2 ** 31)]);
    expect(s.lesser(Infinity).toArray()).toEqual([1]);
    expect(s.greater(-Infinity).toArray()).toEqual([1]);
    expect(nd.subtract(2 ** 32, s).toArray()).toEqual([2 ** 31 - 1 - 7]);  // reverse form: same conversion
  });

  test('integer prod and sum wrap modulo 2**32 like int32 arithmetic (the int64 accumulator never overflows undefinedly)', () => {
    const wrap32 = (b: bigint) => Number(BigInt.asIntN(32, b));
    expect(nd.array([65536, 65536, 65536, 65536, 3], { dtype: 'int32' }).prod().item()).toBe(0);
    const threes = Array(41).fill(3);
    expect(nd.array(threes, { dtype: 'int32' }).prod().item()).toBe(wrap32(3n ** 41n));
    expect(nd.array([-(2 ** 31), -(2 ** 31), -1], { dtype: 'int32' }).sum().item()).toBe(wrap32(-(2n ** 32n) - 1n));
    expect(nd.array(Array(9).fill(200), { dtype: 'uint8' }).prod().item()).toBe(Number(200n ** 9n % 256n));
  });

  test('a number operand of a uint8 array wraps modulo 256 like astype (NaN and ±Inf give 0)', () => {
    const u = nd.array([250], { dtype: 'uint8' });
    expect(u.add(300).toArray()).toEqual([(250 + 300) % 256]);
    expect(u.sub(-1).toArray()).toEqual([251]);
    expect(u.add(2 ** 64 + 2 ** 12).toArray()).toEqual([250]);
    expect(u.add(Infinity).toArray()).toEqual([250]);
    expect(nd.subtract(-Infinity, u).toArray()).toEqual([6]);  // 0 - 250 wraps
  });

  test('unary and reduction dtype rules', () => {
    const i = I();
    for (const op of ['negative', 'abs', 'square', 'relu']) expect(((nd as any)[op](i) as NDArray).dtype).toBe('int32');
    for (const op of ['exp', 'log', 'sqrt', 'sigmoid', 'tanh']) expect(((nd as any)[op](i) as NDArray).dtype).toBe('float32');
    expect(i.abs().toArray()).toEqual([7, 7, 5, 0]);
    expect(i.neg().toArray()).toEqual([7, -7, -5, 0]);
    expect(nd.sqrt(nd.array([4, 9], { dtype: 'uint8' })).toArray()).toEqual([2, 3]);
    expect(i.sum().dtype).toBe('int32');
    expect(i.sum().item()).toBe(5);
    expect(i.max().dtype).toBe('int32');
    expect(i.max().item()).toBe(7);
    expect(i.mean().dtype).toBe('float32');
    expect(i.mean().item()).toBe(1.25);
    expect(nd.array([200, 100], { dtype: 'uint8' }).max().dtype).toBe('uint8');
  });

  test('mixing an int and a float array is DTYPE_MISMATCH; astype fixes it', () => {
    expectError(() => I().add(nd.ones([4])), 'DTYPE_MISMATCH', 'int32', 'float32');
    expect(I().astype('float32').add(nd.ones([4])).toArray()).toEqual([-6, 8, 6, 1]);
  });
});
