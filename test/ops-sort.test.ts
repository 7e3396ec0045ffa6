// sort, argsort, topk (native/src/ops/sort.cc) beyond the PyTorch fixtures (test/fixtures/sort.json):
// NaN placement (NumPy's: NaN is the largest), stable ties in both directions, the indices' dtype
// (MXNet's float32 by default), float64 gradient checks and second order of the values, the
// constant (zero) gradient of indices and masks, `{ out }`, and no leaks.
import { autograd, nd, NDArray } from '../lib';
import { arr, check, checkSecondOrder, freshAutogradState, liveMemory } from './helpers';

freshAutogradState();
const f64 = (shape: number[]) => nd.random.uniform(-1, 1, shape).astype('float64');
const W = (shape: number[]) => nd.arange(1, 1 + shape.reduce((a, b) => a * b, 1)).reshape(shape).astype('float64');

// Each test runs in nd.tidy and must leave nd.memory() as it found it.
const tt = (name: string, fn: () => void) =>
  test(name, () => {
    const m0 = liveMemory();
    nd.tidy(fn);
    expect(liveMemory()).toEqual(m0);
  });

beforeAll(() => nd.random.seed(5));

describe('order: NaN is the largest (NumPy), ties keep their input order', () => {
  const NAN = [3, NaN, 1, NaN, 2];
  const TIES = [1, 0, 1, 0, 1];
  test.each([
    ['sort ascending puts NaN last', () => nd.sort(nd.array(NAN)), [1, 2, 3, NaN, NaN]],
    ['sort descending puts NaN first', () => nd.sort(nd.array(NAN), { isAscend: false }), [NaN, NaN, 3, 2, 1]],
    ['argsort ascending, NaNs in input order', () => nd.argsort(nd.array(NAN)), [2, 4, 0, 1, 3]],
    ['argsort descending, NaNs in input order', () => nd.argsort(nd.array(NAN), { isAscend: false }), [1, 3, 0, 4, 2]],
    ['topk takes NaN as the largest', () => nd.topk(nd.array(NAN), { k: 3 }), [1, 3, 0]],
    ['topk ascending skips NaN', () => nd.topk(nd.array(NAN), { k: 3, isAscend: true, retTyp: 'value' }), [1, 2, 3]],
    ['argsort ascending, stable ties', () => nd.argsort(nd.array(TIES)), [1, 3, 0, 2, 4]],
    ['argsort descending, stable ties', () => nd.argsort(nd.array(TIES), { isAscend: false }), [0, 2, 4, 1, 3]],
    ['topk among ties: the first positions', () => nd.topk(nd.array(TIES), { k: 2 }), [0, 2]],
    ['topk mask among ties', () => nd.topk(nd.array(TIES), { k: 2, retTyp: 'mask' }), [1, 0, 1, 0, 0]],
    ['topk k < 1 sorts the whole axis (MXNet)', () => nd.topk(nd.array([2, 9, 4]), { k: 0, retTyp: 'value' }), [9, 4, 2]],
    ['int32 input keeps its dtype', () => nd.sort(nd.array([5, -2, 7], { dtype: 'int32' }), { isAscend: false }), [7, 5, -2]],
    ['uint8 input', () => nd.argsort(nd.array([200, 3, 255, 0], { dtype: 'uint8' })), [3, 1, 0, 2]],
  ])('%s', (_name, f, want) => {
    nd.tidy(() => expect(arr(f())).toEqual(want));
  });
});

describe("indices' dtype: MXNet's float32 unless dtype says otherwise", () => {
  const x = () => nd.array([[0.5, -1, 2], [3, 3, -4]], { dtype: 'float64' });
  test.each([
    ['argsort default', () => [nd.argsort(x())], ['float32']],
    ['argsort int32', () => [nd.argsort(x(), { dtype: 'int32' })], ['int32']],
    ['topk default', () => [nd.topk(x())], ['float32']],
    ['topk float64', () => [nd.topk(x(), { dtype: 'float64' })], ['float64']],
    ['topk both: values keep x dtype', () => nd.topk(x(), { retTyp: 'both', k: 2, dtype: 'int32' }), ['float64', 'int32']],
    ['topk mask: x dtype', () => [nd.topk(x(), { retTyp: 'mask' })], ['float64']],
  ])('%s', (_name, f, want) => {
    nd.tidy(() => expect(f().map((a: NDArray) => a.dtype)).toEqual(want));
  });
  tt('both: values and indices agree with value and indices', () => {
    const a = x();
    const [v, i] = a.topk({ retTyp: 'both', k: 2, axis: 0, isAscend: true });
    expect(arr(v)).toEqual(arr(a.topk({ retTyp: 'value', k: 2, axis: 0, isAscend: true })));
    expect(arr(i)).toEqual(arr(a.topk({ k: 2, axis: 0, isAscend: true })));
    expect(arr(i)).toEqual([0, 0, 1, 1, 1, 0]);
  });
});

describe('gradients (float64): the values scatter back to their source positions', () => {
  test.each([
    ['sort along the last axis', (a: NDArray) => nd.sort(a), [3, 5]],
    ['sort descending along axis 0', (a: NDArray) => nd.sort(a, { axis: 0, isAscend: false }), [4, 3]],
    ['sort along a middle axis', (a: NDArray) => a.sort({ axis: 1 }), [2, 4, 3]],
    ['topk values', (a: NDArray) => nd.topk(a, { k: 2, retTyp: 'value' }), [3, 5]],
    ['topk values ascending, axis 0', (a: NDArray) => nd.topk(a, { k: 3, axis: 0, retTyp: 'value', isAscend: true }), [4, 2, 3]],
    ['topk both (the values)', (a: NDArray) => nd.topk(a, { k: 2, retTyp: 'both' })[0], [2, 4]],
  ])('%s: checkGradient and second order', (_name, L, shape) => {
    const m0 = liveMemory();
    nd.tidy(() => {
      const outShape = nd.tidy(() => L(f64(shape)).shape);
      check((a) => L(a).mul(W(outShape)), [f64(shape)]);
      checkSecondOrder(L, f64(shape));
    });
    expect(liveMemory()).toEqual(m0);
  });

  tt('repeated values: each position gets the gradient of its own slot', () => {
    const x = nd.array([2, 1, 2, 1], { dtype: 'float64' });
    x.attachGrad();
    autograd.record(() => nd.sort(x).mul(nd.array([1, 10, 100, 1000], { dtype: 'float64' })).sum()).backward();
    expect(arr(x.grad!)).toEqual([100, 1, 1000, 10]);
  });

  test.each([
    ['argsort', (a: NDArray) => nd.argsort(a)],
    ['topk indices (all k)', (a: NDArray) => nd.topk(a, { k: 3 })],
    ['topk mask', (a: NDArray) => nd.topk(a, { k: 2, retTyp: 'mask' })],
  ])('%s has a zero gradient', (_name, f) => {
    const m0 = liveMemory();
    nd.tidy(() => {
      const x = f64([2, 3]);
      x.attachGrad();
      autograd.record(() => f(x).astype('float64').mul(x).sum()).backward();
      // d/dx [c(x) * x] = c(x) with c constant
      expect(arr(x.grad!)).toEqual(arr(f(x).astype('float64')));
    });
    expect(liveMemory()).toEqual(m0);
  });
});

describe('{ out } takes the one result', () => {
  test.each([
    ['sort', () => nd.zeros([3]), (o: NDArray) => nd.sort(nd.array([2, 0, 1]), { out: o }), [0, 1, 2]],
    ['argsort', () => nd.zeros([3]), (o: NDArray) => nd.argsort(nd.array([2, 0, 1]), { out: o }), [1, 2, 0]],
    ['topk value', () => nd.zeros([2]), (o: NDArray) => nd.topk(nd.array([2, 0, 1]), { k: 2, retTyp: 'value', out: o }), [2, 1]],
    ['topk mask', () => nd.zeros([3]), (o: NDArray) => nd.topk(nd.array([2, 0, 1]), { k: 2, retTyp: 'mask', out: o }), [1, 0, 1]],
  ])('%s', (_name, makeOut, f, want) => {
    nd.tidy(() => {
      const o = makeOut();
      expect(f(o)).toBe(o);
      expect(arr(o)).toEqual(want);
    });
  });
});
