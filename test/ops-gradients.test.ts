// Gradients of Dropout, split, FullyConnected, dot and concat against float64 central differences:
// first order for each way of calling them, and second order (createGraph) of FullyConnected and dot.
import { autograd, nd, NDArray } from '../lib';

const normal = (shape: number[]) => nd.random.normal(0, 1, shape);

beforeAll(() => nd.random.seed(7));

const FIRST = { eps: 1e-6, rtol: 1e-5, atol: 1e-7 };

test.each<[string, (...xs: NDArray[]) => NDArray | NDArray[], () => NDArray[]]>([
  ['Dropout in predict mode (identity)', (v) => autograd.predictMode(() => nd.Dropout(v, { p: 0.5 }).mul(v)), () => [normal([3, 4])]],
  [
    'split, each output weighted differently so each head gradient matters',
    (v) => {
      const [a, b] = nd.split(v, { numOutputs: 2, axis: 1 });
      return [a.square(), b.mul(3)];
    },
    () => [normal([3, 4])],
  ],
  ['split with squeezeAxis, one output used', (v) => nd.split(v, { numOutputs: 3, axis: 0, squeezeAxis: true })[1].exp(), () => [normal([3, 4])]],
  ['FullyConnected with bias', (v, w, b) => nd.FullyConnected(v, w, b, { numHidden: 5 }).tanh(), () => [normal([3, 4]), normal([5, 4]), normal([5])]],
  ['FullyConnected without flattening', (v, w) => nd.FullyConnected(v, w, { flatten: false }).square(), () => [normal([2, 3, 2]), normal([3, 2])]],
  ['dot', (p, q) => nd.dot(p, q).square(), () => [normal([3, 4]), normal([4, 2])]],
  ['dot, transposeA', (p, q) => nd.dot(p, q, { transposeA: true }).square(), () => [normal([4, 3]), normal([4, 2])]],
  ['dot, transposeB', (p, q) => nd.dot(p, q, { transposeB: true }).square(), () => [normal([3, 4]), normal([2, 4])]],
  ['dot, both transposed', (p, q) => nd.dot(p, q, { transposeA: true, transposeB: true }).square(), () => [normal([4, 3]), normal([2, 4])]],
  ['N-d dot', (p, q) => nd.dot(p, q).sin(), () => [normal([2, 3, 2]), normal([2, 3])]],
  [
    "concat (split's gradient), through the generic op entry",
    (p, q) => require('../lib/dispatch').invoke('concat', [p, q], { dim: 0 }).square(),
    () => [normal([2, 3]), normal([1, 3])],
  ],
])('first order: %s', (_title, fn, inputs) => {
  nd.tidy(() => {
    expect(autograd.checkGradient(fn, inputs(), FIRST).maxError).toBeLessThan(1e-6);
  });
});

// The gradient, recorded with createGraph, checked numerically as a function of every input
// (checkGradient marks its float64 copies of the inputs as variables).
test.each<[string, (v: NDArray, w: NDArray) => NDArray, 0 | 1]>([
  ['sum(tanh(FullyConnected(x, w))) w.r.t. x', (v, w) => nd.FullyConnected(v, w).tanh(), 0],
  ['sum(sigmoid(dot(x, w^T))) w.r.t. w', (v, w) => nd.dot(v, w, { transposeB: true }).sigmoid(), 1],
])('second order: the gradient of %s matches numerical second derivatives', (_title, f, wrt) => {
  nd.tidy(() => {
    const g = (v: NDArray, w: NDArray) => {
      const y = autograd.record(() => f(v, w));
      return autograd.grad(y, [v, w][wrt], null, { createGraph: true })[0];
    };
    const opt = { eps: 1e-5, rtol: 1e-4, atol: 1e-6 };
    expect(autograd.checkGradient((v, w) => g(v, w).square(), [normal([2, 4]), normal([3, 4])], opt).maxError).toBeLessThan(1e-5);
  });
});
