// Shape and index ops: values, gradients (checkGradient in float64), second order, errors.
import { nd, autograd, NDArray, NDArrayError } from '../lib';
import { check, code, codeOf, errorOf } from './helpers';

const arr = (a: NDArray) => Array.from(a.toTypedArray());



const rnd = (shape: number[]) => nd.random.uniform(-1, 1, shape);

beforeAll(() => nd.random.seed(7));

describe('swapAxes', () => {
  test('values and gradient', () => {
    const x = nd.arange(0, 24).reshape([2, 3, 4]);
    const y = nd.swapAxes(x, 0, 2);
    expect(y.shape).toEqual([4, 3, 2]);
    expect((y.toArray() as number[][][][])[3][2][1]).toBe((x.toArray() as number[][][][])[1][2][3]);
    expect(x.swapAxes(-1, 1).shape).toEqual([2, 4, 3]);
    check((a) => nd.swapAxes(a, 0, 2).mul(nd.arange(0, 24).reshape([4, 3, 2]).astype('float64')), [rnd([2, 3, 4])]);
  });
  test('bad axis', () => {
    expect(code(() => nd.swapAxes(nd.zeros([2, 3]), 0, 2))).toMatch(/^BAD_AXIS: .*\(2,3\)/);
  });
});

describe('tile / repeat / flip', () => {
  test('tile values incl. rank promotion', () => {
    expect(nd.tile(nd.array([1, 2]), [2, 2]).toArray()).toEqual([[1, 2, 1, 2], [1, 2, 1, 2]]);
    expect(nd.tile(nd.array([[1, 2], [3, 4]]), 2).toArray()).toEqual([[1, 2, 1, 2], [3, 4, 3, 4]]);
    expect(nd.tile(nd.zeros([2, 3]), [0, 1]).shape).toEqual([0, 3]);
    check((a) => nd.tile(a, [2, 1, 3]).mul(nd.arange(0, 36).reshape([2, 3, 6]).astype('float64')), [rnd([3, 2])]);
    expect(code(() => nd.tile(nd.zeros([2]), [-1]))).toMatch(/^BAD_ARGUMENT: tile/);
  });
  test('repeat values and gradient', () => {
    const x = nd.array([[1, 2], [3, 4]]);
    expect(nd.repeat(x, 2, { axis: 0 }).toArray()).toEqual([[1, 2], [1, 2], [3, 4], [3, 4]]);
    expect(x.repeat(2).toArray()).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
    check((a) => nd.repeat(a, 3, { axis: -1 }).square(), [rnd([2, 3])]);
    check((a) => nd.repeat(a, 2).square(), [rnd([2, 3])]);
  });
  test('flip values and gradient', () => {
    expect(nd.flip(nd.array([[1, 2, 3], [4, 5, 6]]), 1).toArray()).toEqual([[3, 2, 1], [6, 5, 4]]);
    expect(nd.flip(nd.array([[1, 2, 3], [4, 5, 6]]), [0, 1]).toArray()).toEqual([[6, 5, 4], [3, 2, 1]]);
    expect(nd.flip(nd.zeros([0, 2]), 0).shape).toEqual([0, 2]);
    check((a) => nd.flip(a, [0, 2]).mul(nd.arange(0, 12).reshape([2, 2, 3]).astype('float64')), [rnd([2, 2, 3])]);
  });
});

test('tile, repeat and concat refuse a result dimension past int64 (an empty input wrapped it to a wrong shape)', () => {
  const x = nd.zeros([2 ** 40, 0]);
  expect(code(() => nd.tile(x, [2 ** 24, 1]))).toMatch(/^OUT_OF_MEMORY: tile: a result dimension 1099511627776 x 16777216 of input \(1099511627776,0\) is too large/);
  expect(code(() => nd.repeat(x, 2 ** 24, { axis: 0 }))).toMatch(/^OUT_OF_MEMORY: repeat: .*too large/);
  expect(nd.repeat(nd.zeros([0]), 2 ** 52).shape).toEqual([0]);
  const big = nd.zeros([8e15, 0]);  // 1200 of them: 9.6e18 rows, past int64
  expect(code(() => nd.concat(Array(1200).fill(big), { dim: 0 }))).toMatch(/^OUT_OF_MEMORY: concat: the result dimension of .* is too large/);
  expect(nd.tile(x, [2 ** 20, 1]).shape).toEqual([2 ** 60, 0]);
});

describe('concat / stack', () => {
  test('values, repeated inputs and gradients', () => {
    const a = nd.array([[1, 2]]), b = nd.array([[3, 4], [5, 6]]);
    expect(nd.concat([a, b], { dim: 0 }).toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(nd.stack([a, a], { axis: 1 }).toArray()).toEqual([[[1, 2], [1, 2]]]);
    expect(nd.stack([nd.array([1, 2]), nd.array([3, 4])], { axis: -1 }).toArray()).toEqual([[1, 3], [2, 4]]);
    const w = nd.arange(0, 10).reshape([2, 5]).astype('float64');
    check((x, y) => nd.concat([x, y, x]).mul(w), [rnd([2, 2]), rnd([2, 1])]);
    check((x, y) => nd.stack([x, y, x], { axis: 1 }).mul(nd.arange(0, 12).reshape([2, 3, 2]).astype('float64')), [rnd([2, 2]), rnd([2, 2])]);
  });
  test('errors', () => {
    expect(code(() => nd.stack([nd.zeros([2]), nd.zeros([3])]))).toMatch(/^SHAPE_MISMATCH: stack.*\(2\), \(3\)/);
    expect(code(() => nd.stack([nd.zeros([2]), nd.zeros([2], { dtype: 'int32' })]))).toMatch(/^DTYPE_MISMATCH/);
    expect(code(() => nd.stack([]))).toMatch(/^BAD_ARGUMENT/);
  });
});

describe('slice / sliceAxis', () => {
  const x = nd.arange(0, 24).reshape([2, 3, 4]);
  test('MXNet semantics: null, negative, steps, clamping', () => {
    const v = x.toArray() as number[][][];
    expect(nd.slice(x, [1], [2]).toArray()).toEqual([v[1]]);
    expect(nd.slice(x, [null, -2], [null, null]).toArray()).toEqual(v.map((r) => r.slice(1)));
    expect(nd.slice(x, [0, 0, 3], [2, 3, null], [1, 2, -1]).toArray()).toEqual(
      v.map((r) => [r[0], r[2]].map((c) => [...c].reverse())),
    );
    expect(nd.slice(x, [null, null, null], [null, null, null], [null, -1, -2]).toArray()).toEqual(
      v.map((r) => [...r].reverse().map((c) => [c[3], c[1]])),
    );
    expect(nd.slice(x, [0, 10], [2, 20]).shape).toEqual([2, 0, 4]);
    expect(nd.sliceAxis(x, 2, 1, 3).toArray()).toEqual(v.map((r) => r.map((c) => c.slice(1, 3))));
    expect(nd.sliceAxis(x, -1, -2, null).toArray()).toEqual(v.map((r) => r.map((c) => c.slice(2))));
  });
  test('gradients and second order', () => {
    const w = nd.arange(0, 8).reshape([2, 1, 4]).astype('float64');
    check((a) => nd.slice(a, [null, 1, 3], [null, 2, null], [1, 1, -1]).mul(w), [rnd([2, 3, 4])]);
    check((a) => nd.sliceAxis(a, 1, 0, 2).square(), [rnd([2, 3, 4])]);
    const a = nd.array([1, 2, 3, 4]).astype('float64');
    a.attachGrad();
    const [g] = autograd.record(() => {
      const y = nd.slice(a, [1], [3]).square().sum();
      return autograd.grad(y, a, null, { createGraph: true });
    });
    expect(g.toArray()).toEqual([0, 4, 6, 0]);
    autograd.record(() => g.square().sum()).backward();
    expect(a.grad!.toArray()).toEqual([0, 16, 24, 0]);  // d/da sum((2a)^2) on the slice
  });
  test('errors', () => {
    expect(code(() => nd.slice(x, [0], [1], [0]))).toMatch(/^BAD_ARGUMENT: slice: step cannot be 0/);
    expect(code(() => nd.slice(x, [0, 0, 0, 0], [1, 1, 1, 1]))).toMatch(/^BAD_ARGUMENT: slice: .*\(2,3,4\)/);
    expect(code(() => nd.sliceAxis(x, 1, 2, 5))).toMatch(/^OUT_OF_RANGE: slice_axis: .*size 3.*\(2,3,4\)/);
    expect(code(() => nd.sliceAxis(x, 3, 0, 1))).toMatch(/^BAD_AXIS/);
  });
});

describe('take / pick / oneHot', () => {
  test('take values, axis, negative index, gradient with repeated indices', () => {
    const x = nd.array([[1, 2], [3, 4], [5, 6]]);
    expect(nd.take(x, nd.array([[2, 0], [1, -1]])).toArray()).toEqual([[[5, 6], [1, 2]], [[3, 4], [5, 6]]]);
    expect(nd.take(x, nd.array([1, 1], { dtype: 'int32' }), { axis: 1 }).toArray()).toEqual([[2, 2], [4, 4], [6, 6]]);
    const idx = nd.array([0, 2, 0, 0], { dtype: 'int32' });
    check((a) => nd.take(a, idx).mul(nd.arange(0, 8).reshape([4, 2]).astype('float64')), [rnd([3, 2])]);
    check((a) => nd.take(a, idx, { axis: 1 }).square(), [rnd([2, 3])]);
    // indices get no gradient; a float index in the graph is fine
    const xi = rnd([3]).astype('float64');
    const fi = nd.array([1, 2]).astype('float64');
    xi.attachGrad();
    fi.attachGrad();
    autograd.record(() => nd.take(xi, fi).sum()).backward();
    expect(xi.grad!.toArray()).toEqual([0, 1, 1]);
    expect(fi.grad!.toArray()).toEqual([0, 0]);
  });
  test('take errors', () => {
    // index values are data: their errors surface at the first read (ENGINE.md)
    const x = nd.zeros([3, 2]);
    expect(code(() => nd.take(x, nd.array([3])).toArray())).toMatch(/^OUT_OF_RANGE: take: index 3 .*size 3.*\(3,2\)/);
    expect(code(() => nd.take(x, nd.array([-4])).toArray())).toMatch(/^OUT_OF_RANGE/);
    expect(code(() => nd.take(x, nd.array([0.5])).toArray())).toMatch(/^BAD_ARGUMENT/);
    expect(code(() => nd.take(x, nd.array([0]), { axis: 2 }))).toMatch(/^BAD_AXIS/);
  });
  test('pick values, keepdims, gradient, errors', () => {
    const x = nd.array([[1, 2, 3], [4, 5, 6]]);
    expect(nd.pick(x, nd.array([2, 0])).toArray()).toEqual([3, 4]);
    expect(nd.pick(x, nd.array([1, 0, 1]), { axis: 0 }).toArray()).toEqual([4, 2, 6]);
    expect(x.pick(nd.array([[2], [1]]), { keepdims: true }).toArray()).toEqual([[3], [5]]);
    check((a) => nd.pick(a, nd.array([2, 0, 1])).square(), [rnd([3, 3])]);
    expect(code(() => nd.pick(x, nd.array([3, 0])).toArray())).toMatch(/^OUT_OF_RANGE: pick/);
    expect(code(() => nd.pick(x, nd.array([1, 0, 0])))).toMatch(/^SHAPE_MISMATCH: pick: index \(3\) .*\(2,3\)/);
  });
  test('oneHot', () => {
    expect(nd.oneHot(nd.array([1, 0, 2]), 3).toArray()).toEqual([[0, 1, 0], [1, 0, 0], [0, 0, 1]]);
    const o = nd.oneHot(nd.array([[1]], { dtype: 'int32' }), 2, { onValue: 5, offValue: -1, dtype: 'int32' });
    expect(o.dtype).toBe('int32');
    expect(o.toArray()).toEqual([[[-1, 5]]]);
    expect(code(() => nd.oneHot(nd.array([3]), 3).toArray())).toMatch(/^OUT_OF_RANGE: one_hot/);
    expect(code(() => nd.oneHot(nd.array([-1]), 3).toArray())).toMatch(/^OUT_OF_RANGE/);
  });
});

describe('dot (N-d) and batchDot', () => {
  test('dot N-d values and gradients', () => {
    const a = nd.arange(0, 24).reshape([2, 3, 4]), b = nd.arange(0, 20).reshape([4, 5]);
    const y = nd.dot(a, b);
    expect(y.shape).toEqual([2, 3, 5]);
    expect((y.toArray() as number[][][][])[1][2][3]).toBe([0, 1, 2, 3].reduce((s, k) => s + (20 + k) * (k * 5 + 3), 0));
    expect(nd.dot(nd.ones([3]), nd.ones([3])).shape).toEqual([]);
    check((p, q) => nd.dot(p, q), [rnd([2, 3, 4]), rnd([4, 2, 2])]);
    check((p, q) => nd.dot(p, q, { transposeA: true, transposeB: true }), [rnd([3, 2]), rnd([4, 3])]);
    expect(code(() => nd.dot(nd.zeros([2, 3]), nd.zeros([2, 3])))).toMatch(/^SHAPE_MISMATCH: dot.*\(2,3\)/);
  });
  test('batchDot values, transposes, gradients, mixed second order', () => {
    const a = nd.arange(0, 12).reshape([2, 2, 3]), b = nd.arange(0, 12).reshape([2, 3, 2]);
    const y = nd.batchDot(a, b).toArray() as number[][][];
    expect(y[1][0][1]).toBe(6 * 7 + 7 * 9 + 8 * 11);
    expect(nd.batchDot(a, a, { transposeB: true }).shape).toEqual([2, 2, 2]);
    expect(nd.batchDot(a, a, { transposeA: true }).shape).toEqual([2, 3, 3]);
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
      const p = rnd(ta ? [2, 4, 3] : [2, 3, 4]), q = rnd(tb ? [2, 2, 4] : [2, 4, 2]);
      check((u, v) => nd.batchDot(u, v, { transposeA: ta, transposeB: tb }), [p, q]);
    }
    // mixed second order: d/dB of sum(dL/dA) where L = sum(A B)
    const A = rnd([1, 2, 3]).astype('float64'), B = rnd([1, 3, 2]).astype('float64');
    A.attachGrad();
    B.attachGrad();
    autograd.record(() => {
      const [gA] = autograd.grad(nd.batchDot(A, B).sum(), A, null, { createGraph: true });
      return gA.sum();
    }).backward();
    // gA[i,k] = sum_j B[k,j] => d sum(gA)/dB = number of rows of A (2) everywhere
    expect(B.grad!.toArray()).toEqual([[[2, 2], [2, 2], [2, 2]]]);
    expect(code(() => nd.batchDot(nd.zeros([2, 2, 3]), nd.zeros([3, 3, 2])))).toMatch(/^SHAPE_MISMATCH: batch_dot/);
    expect(code(() => nd.batchDot(nd.zeros([2, 3]), nd.zeros([3, 2])))).toMatch(/^SHAPE_MISMATCH/);
  });
});

describe('clip / mod / hypot', () => {
  test('clip is one op with the clamp gradient', () => {
    const x = nd.array([-2, -1, 0, 1, 2]);
    expect(nd.clip(x, -1, 1).toArray()).toEqual([-1, -1, 0, 1, 1]);
    expect(nd.clip(nd.array([1, 5, 9], { dtype: 'int32' }), 2, 6).toArray()).toEqual([2, 5, 6]);
    check((a) => nd.clip(a, -0.5, 0.5).mul(a), [nd.array([-0.9, -0.2, 0.1, 0.7])]);
    expect(code(() => nd.clip(x, 1, -1))).toMatch(/^BAD_ARGUMENT: clip/);
    const v = nd.array([0.3, 2]).astype('float64');
    v.attachGrad();
    autograd.record(() => {
      const [g] = autograd.grad(nd.clip(v, 0, 1).mul(v).sum(), v, null, { createGraph: true });
      return g.sum();
    }).backward();
    expect(v.grad!.toArray()).toEqual([2, 0]);  // d/dv (2v inside, 1 outside)
  });
  test('clip bounds beyond an integer dtype clamp to its nearest value (and a fraction truncates)', () => {
    const u = nd.array([5, 200], { dtype: 'uint8' });
    expect(nd.clip(u, 100, 300).toArray()).toEqual([100, 200]);
    expect(nd.clip(u, -10, 2.5).toArray()).toEqual([2, 2]);
    expect(nd.clip(u, 256, 1e30).toArray()).toEqual([255, 255]);
    const i = nd.array([-5, 5], { dtype: 'int32' });
    expect(nd.clip(i, 1e10, Infinity).toArray()).toEqual([2 ** 31 - 1, 2 ** 31 - 1]);
    expect(nd.clip(i, -Infinity, -(2 ** 40)).toArray()).toEqual([-(2 ** 31), -(2 ** 31)]);
  });
  test('mod and hypot values and gradients (with broadcasting)', () => {
    expect(nd.mod(nd.array([5, -5, 7.5]), 3).toArray()).toEqual([2, 1, 1.5]);
    expect(nd.hypot(nd.array([3, 5]), nd.array([4, 12])).toArray()).toEqual([5, 13]);
    check((a, b) => nd.mod(a, b), [nd.array([[2.3, 5.1, -3.7]]), nd.array([[1.5], [2.2]])]);
    check((a, b) => nd.hypot(a, b), [rnd([2, 3]), rnd([3])]);
  });
});

describe('split', () => {
  test('split: shapes, axis, squeeze, errors', () => {
    nd.tidy(() => {
      const x = nd.arange(0, 24).reshape([2, 6, 2]);
      const parts = nd.split(x, { numOutputs: 3 });
      expect(parts.map((p) => p.shape)).toEqual([
        [2, 2, 2],
        [2, 2, 2],
        [2, 2, 2],
      ]);
      expect(parts[1].toArray()).toEqual([
        [
          [4, 5],
          [6, 7],
        ],
        [
          [16, 17],
          [18, 19],
        ],
      ]);
      const last = nd.split(x, { numOutputs: 2, axis: -1, squeezeAxis: true });
      expect(last[1].shape).toEqual([2, 6]);
      expect(arr(last[1]).slice(0, 3)).toEqual([1, 3, 5]);
      expect(nd.split(x, { numOutputs: 1, axis: 0 })[0].shape).toEqual([2, 6, 2]);
      let e = errorOf(() => nd.split(x, { numOutputs: 4 }));
      expect(e.code).toBe('SHAPE_MISMATCH');
      expect(e.message).toContain('(2,6,2)');
      expect(codeOf(() => nd.split(x, { numOutputs: 3, squeezeAxis: true }))).toBe('SHAPE_MISMATCH');
      expect(codeOf(() => nd.split(x, { numOutputs: 2, axis: 3 }))).toBe('BAD_AXIS');
      expect(codeOf(() => nd.split(x, { numOutputs: 0 }))).toBe('BAD_ARGUMENT');
      // gradients: undefined heads count as zeros
      const v = nd.arange(0, 6).reshape([3, 2]);
      v.attachGrad();
      const [a, , c] = autograd.record(() => nd.split(v, { numOutputs: 3, axis: 0 }));
      autograd.backward([a, c], [nd.array([[1, 2]]), nd.array([[3, 4]])]);
      expect(v.grad!.toArray()).toEqual([
        [1, 2],
        [0, 0],
        [3, 4],
      ]);
    });
  });
});
