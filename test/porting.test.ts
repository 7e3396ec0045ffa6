// GLUON.md "Porting conveniences (MXNet spellings)": each rule its own test. Values are checked
// against the spelling they alias (or a direct computation), errors by NDArrayError code, and every
// test leaves nd.memory() as it found it.
import { Context, gluon, nd, NDArray } from '../lib';
import { arr, expectError, freshAutogradState, liveMemory } from './helpers';

freshAutogradState();
const X = () => nd.array([[1, 5, 3], [4, 2, 6]]);

// Each test body runs in nd.tidy and must not leak.
const tt = <T extends unknown[]>(rows: readonly T[]) => (name: string, fn: (...row: T) => void) =>
  test.each(rows as T[])(name, (...row: T) => {
    const m0 = liveMemory();
    nd.tidy(() => fn(...row));
    expect(liveMemory()).toEqual(m0);
  });
const one = (name: string, fn: () => void) => tt([[]] as [][])(name, fn);

describe('a reduction takes its axis positionally, as MXNet does', () => {
  const REDUCTIONS = ['sum', 'mean', 'prod', 'max', 'min', 'norm', 'argmax', 'argmin'] as const;
  const rows = REDUCTIONS.flatMap((op) => [[op, 1], [op, 0], [op, -1], [op, [0, 1]]] as [typeof REDUCTIONS[number], number | number[]][])
    .filter(([op, a]) => !(Array.isArray(a) && (op === 'argmax' || op === 'argmin')));
  tt(rows)('x.%s(%j) is x.%s({ axis })', (op, axis) => {
    expect(arr(X()[op](axis))).toEqual(arr(X()[op]({ axis })));
    expect(arr(nd[op](X(), axis))).toEqual(arr(X()[op]({ axis })));
  });
  one('x.sum(1, { keepdims, out }) combines the positional axis with options', () => {
    const out = nd.zeros([2, 1]);
    expect(X().sum(1, { keepdims: true, out })).toBe(out);
    expect(out.toArray()).toEqual([[9], [12]]);
  });
  tt([
    ['the axis twice', () => X().sum(1, { axis: 0 }), 'twice'],
    ['options in both places', () => nd.mean(X(), { axis: 0 } as never, { keepdims: true }), 'both places'],
    ['a misspelled option after the axis', () => X().max(0, { keepdim: true } as never), "did you mean 'keepdims'"],
    ['a string axis', () => X().sum('1' as never), 'options must be an object'],
  ] as [string, () => unknown, string][])('%s is BAD_ARGUMENT', (_n, f, words) => {
    expectError(f, 'BAD_ARGUMENT', words);
  });
});

describe("random.normal / random.uniform take MXNet's keyword form", () => {
  tt([
    ['normal', () => nd.random.normal({ loc: 2, scale: 0.5, shape: [3, 2], dtype: 'float64' }), () => nd.random.normal(2, 0.5, [3, 2], { dtype: 'float64' })],
    ['normal defaults', () => nd.random.normal({ shape: 4 }), () => nd.random.normal(0, 1, 4)],
    ['uniform', () => nd.random.uniform({ low: -3, high: -1, shape: [5] }), () => nd.random.uniform(-3, -1, [5])],
    ['uniform with ctx', () => nd.random.uniform({ low: 1, high: 2, shape: [2], ctx: nd.cpu() }), () => nd.random.uniform(1, 2, [2])],
  ] as [string, () => NDArray, () => NDArray][])('%s: the same draw as the positional form', (_n, keywords, positional) => {
    nd.random.seed(42);
    const a = keywords();
    nd.random.seed(42);
    const b = positional();
    expect([a.shape, a.dtype]).toEqual([b.shape, b.dtype]);
    expect(arr(a)).toEqual(arr(b));
  });
  one('a misspelled keyword is BAD_ARGUMENT naming the closest key', () => {
    expectError(() => nd.random.normal({ mean: 0 } as never), 'BAD_ARGUMENT', 'random.normal', "'mean'", 'loc, scale, shape');
    expectError(() => nd.random.uniform({ lo: 0 } as never), 'BAD_ARGUMENT', 'random.uniform', "'lo'", "'low'");
  });
});

describe('asscalar / asnumpy / clone', () => {
  one('x.asscalar() is x.item(); more than one element is BAD_ARGUMENT', () => {
    expect(nd.array([[2.5]]).asscalar()).toBe(2.5);
    expectError(() => X().asscalar(), 'BAD_ARGUMENT', '6 elements');
  });
  one('x.asnumpy() is x.toArray()', () => {
    expect(X().asnumpy()).toEqual(X().toArray());
    expect(nd.array(7).asnumpy()).toBe(7);
  });
  one("x.clone() is MXNet's copy(): new storage, same values, a differentiable copy", () => {
    const x = X();
    const c = x.clone();
    expect(c).not.toBe(x);
    expect(c.toArray()).toEqual(x.toArray());
    x.set(0);
    expect(c.toArray()).toEqual([[1, 5, 3], [4, 2, 6]]);
  });
});

describe('random.randint', () => {
  tt([
    [0, 5, [400], 'int32'],
    [-3, 2, [2, 300], 'int32'],
    [10, 11, [50], 'float64'],
    [-100000, 100000, [500], 'float32'],
  ] as [number, number, number[], 'int32' | 'float32' | 'float64'][])('[%d, %d) of shape %j, %s: integers in range, every value hit', (low, high, shape, dtype) => {
    nd.random.seed(7);
    const r = nd.random.randint(low, high, shape, { dtype });
    expect([r.shape, r.dtype]).toEqual([shape, dtype]);
    const v = arr(r);
    expect(v.every((e) => Number.isInteger(e) && e >= low && e < high)).toBe(true);
    if (high - low <= 5) expect(new Set(v).size).toBe(high - low);
    else expect(new Set(v).size).toBeGreaterThan(v.length * 0.9);  // 500 draws from 200000 values
  });
  one('int32 by default; keyword form; seeded', () => {
    nd.random.seed(3);
    const a = nd.random.randint({ low: 0, high: 100, shape: [20] });
    nd.random.seed(3);
    const b = nd.random.randint(0, 100, [20]);
    expect(a.dtype).toBe('int32');
    expect(arr(a)).toEqual(arr(b));
  });
  tt([
    ['high <= low', () => nd.random.randint(3, 3, [2])],
    ['no high', () => nd.random.randint(3)],
    ['a fraction', () => nd.random.randint(0, 2.5, [2])],
    ['a misspelled keyword', () => nd.random.randint({ low: 0, hi: 3 } as never)],
  ] as [string, () => unknown][])('%s is BAD_ARGUMENT', (_n, f) => {
    expectError(f, 'BAD_ARGUMENT', 'random.randint');
  });
});

describe('random.shuffle', () => {
  one('a permutation of the rows, reproducible under a seed, x unchanged', () => {
    const x = nd.arange(20).reshape([10, 2]);
    nd.random.seed(9);
    const s = nd.random.shuffle(x);
    nd.random.seed(9);
    const t = nd.random.shuffle(x);
    const rows = s.toArray() as number[][];
    expect(rows.map((r) => r[0]).sort((a, b) => a - b)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(rows.every((r) => r[1] === r[0] + 1)).toBe(true);
    expect(rows.map((r) => r[0])).not.toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(arr(t)).toEqual(arr(s));
    expect(arr(x)).toEqual(arr(nd.arange(20)));
  });
  one('a 0-d array is BAD_ARGUMENT; an empty one shuffles to empty', () => {
    expectError(() => nd.random.shuffle(nd.array(1)), 'BAD_ARGUMENT', 'random.shuffle', '0-d');
    expect(nd.random.shuffle(nd.zeros([0, 3])).shape).toEqual([0, 3]);
  });
});

describe('contexts: cpu(0) is the one; a GPU context is BAD_ARGUMENT', () => {
  one('nd.cpu() and nd.cpu(0) are the CPU context', () => {
    expect(nd.cpu()).toBeInstanceOf(Context);
    expect(nd.cpu(0)).toBe(nd.cpu());
    expect([nd.cpu().deviceType, nd.cpu().deviceId, String(nd.cpu())]).toEqual(['cpu', 0, 'cpu(0)']);
  });
  one("x.context and x.ctx are 'cpu(0)'", () => {
    expect([X().context, X().ctx]).toEqual(['cpu(0)', 'cpu(0)']);
  });
  tt([
    ['array', (ctx: unknown) => nd.array([1, 2], { ctx } as never)],
    ['zeros', (ctx: unknown) => nd.zeros([2], { ctx } as never)],
    ['ones', (ctx: unknown) => nd.ones([2], { ctx } as never)],
    ['full', (ctx: unknown) => nd.full([2], 3, { ctx } as never)],
    ['arange', (ctx: unknown) => nd.arange(0, 2, 1, { ctx } as never)],
    ['eye', (ctx: unknown) => nd.eye(2, 0, 0, { ctx } as never)],
    ['random.uniform', (ctx: unknown) => nd.random.uniform(0, 1, [2], { ctx } as never)],
    ['random.normal', (ctx: unknown) => nd.random.normal(0, 1, [2], { ctx } as never)],
    ['random.randint', (ctx: unknown) => nd.random.randint(0, 3, [2], { ctx } as never)],
    ['asInContext', (ctx: unknown) => X().asInContext(ctx as never)],
    ['copyto', (ctx: unknown) => X().copyto(ctx as never)],
  ] as [string, (ctx: unknown) => NDArray][])('%s: ctx takes cpu(0) in every spelling, refuses a GPU', (_n, f) => {
    for (const ctx of [nd.cpu(), nd.cpu(0), 'cpu', 'cpu(0)', X().context, undefined]) expect(f(ctx)).toBeInstanceOf(NDArray);
    expectError(() => f('gpu(0)'), 'BAD_ARGUMENT', 'GPU', 'CPU only');
    expectError(() => f({ deviceType: 'gpu', deviceId: 1 }), 'BAD_ARGUMENT', 'GPU');
    expectError(() => f(42), 'BAD_ARGUMENT', 'ctx must be nd.cpu()');
  });
  tt([
    ['nd.gpu()', () => nd.gpu(), 'gpu(0)', 'CPU only'],
    ['nd.gpu(1)', () => nd.gpu(1), 'gpu(1)', 'CPU only'],
    ['nd.cpu(1)', () => nd.cpu(1), 'cpu(0)', 'cpu(1)'],
  ] as [string, () => unknown, string, string][])('%s is BAD_ARGUMENT', (_n, f, ...words) => {
    expectError(f, 'BAD_ARGUMENT', ...words);
  });
  test("net.initialize({ ctx: nd.cpu() }) takes the context (Gluon's own check); a GPU one is refused", () => {
    const net = new gluon.nn.Dense(2, { inUnits: 3 });
    net.initialize({ ctx: nd.cpu() });
    expect(net.forward(nd.ones([1, 3])).shape).toEqual([1, 2]);
    expectError(() => new gluon.nn.Dense(2, { inUnits: 3 }).initialize({ ctx: 'gpu(0)' }), 'BAD_ARGUMENT');
  });
  one('x.asInContext(cpu) is x itself (MXNet returns self for its own context)', () => {
    const x = X();
    expect(x.asInContext(nd.cpu())).toBe(x);
  });
  one('x.copyto(ctx) is a new copy', () => {
    const x = X();
    const c = x.copyto(nd.cpu());
    expect(c).not.toBe(x);
    expect(c.toArray()).toEqual(x.toArray());
  });
  one("x.copyto(y) writes x's values into y (in y's dtype) and returns y", () => {
    const y = nd.zeros([2, 3], { dtype: 'int32' });
    expect(nd.array([[1.5, 2, 3], [4, 5, 6]]).copyto(y)).toBe(y);
    expect([y.dtype, y.toArray()]).toEqual(['int32', [[1, 2, 3], [4, 5, 6]]]);
  });
  one('x.copyto(y) with another shape is SHAPE_MISMATCH, y unchanged', () => {
    const y = nd.zeros([3, 2]);
    expectError(() => X().copyto(y), 'SHAPE_MISMATCH', 'copyto', '(3,2)', '(2,3)');
    expect(arr(y)).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
