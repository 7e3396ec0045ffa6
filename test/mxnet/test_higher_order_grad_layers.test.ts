// Port of apache/mxnet tests/python/unittest/test_higher_order_grad.py, layers: Dropout's higher orders
// (test_dropout) and the dense layer's mixed second order (test_dense_backward_flatten/no_flatten).
import { autograd, nd, NDArray, NDArrayError } from '../../lib';
import { assertAlmostEqual, randShapeNd, rng, same } from './helpers';

// test_dropout: under record() (training mode), Dropout's gradient is its mask (0 or 1/(1-p)) times
// the head gradient, and every higher order is zero (MXNet checks the second order; we also check
// the first against the mask the forward pass drew, and the third).
describe('Dropout higher order (test_dropout)', () => {
  test('Dropout: first order is mask·h1, second and third orders are exactly zero', () => {
    nd.random.seed(4321);
    const r = rng(0xd0);
    let dropped = 0;
    let kept = 0;
    const before = nd.memory();
    for (let ndim = 1; ndim <= 4; ndim++) {
      nd.tidy(() => {
        const shape = randShapeNd(r, ndim);
        const x = nd.random.normal(0, 1, shape);
        x.attachGrad();
        const xs = x.toTypedArray();
        const heads: Float32Array[] = [];
        const computed: Float32Array[] = [];
        let ys!: Float32Array;
        autograd.record(() => {
          let y = nd.Dropout(x);
          ys = y.toTypedArray() as Float32Array;
          for (let k = 1; k <= 3; k++) {
            const h = nd.random.normal(0, 1, x.shape);
            heads.push(h.toTypedArray() as Float32Array);
            y = autograd.grad(y, x, h, { createGraph: true, retainGraph: true })[0];
            computed.push(y.toTypedArray() as Float32Array);
          }
        });
        const first = new Float64Array(xs.length);
        for (let i = 0; i < xs.length; i++) {
          // the forward value tells the mask: 0, or x / (1 - p) = 2x (exact in float32)
          if (ys[i] === 0) dropped++;
          else if (ys[i] === 2 * xs[i]) kept++;
          else throw new Error(`Dropout forward element ${i}: ${ys[i]} is neither 0 nor 2·${xs[i]}`);
          first[i] = ys[i] === 0 ? 0 : 2 * heads[0][i];
        }
        assertAlmostEqual(computed[0], first, 0, 0, `Dropout order 1 shape (${shape})`);
        assertAlmostEqual(computed[1], new Float64Array(xs.length), 0, 0, `Dropout order 2 shape (${shape})`);
        assertAlmostEqual(computed[2], new Float64Array(xs.length), 0, 0, `Dropout order 3 shape (${shape})`);
      });
    }
    // the mask really was drawn (training mode): some elements dropped, some kept
    expect(dropped).toBeGreaterThan(0);
    expect(kept).toBeGreaterThan(0);
    const after = nd.memory();
    expect(after.numArrays).toBe(before.numArrays);
    expect(after.numBytes).toBe(before.numBytes);
  });
});

// test_dense_backward_flatten / test_dense_backward_no_flatten: mixed second order of a dense layer
// (FullyConnected; weight and bias constant 0.5 as MXNet's initializer.Constant(.5)), with arange
// inputs and head gradients (NDArrayGenerator, arange_shape_like) and exact comparison (same()) with
// the dot products, on 2-D views (flatten2d_right / flatten2d_left).
function arangeShapeLike(a: NDArray): NDArray {
  return nd.arange(0, a.size).reshape(a.shape);
}

describe('dense layer mixed second order', () => {
  for (const flatten of [true, false]) {
    test(`FullyConnected flatten=${flatten}: x_grad, w_grad and both mixed second orders equal the dot products exactly`, () => {
      const r = rng(flatten ? 11 : 12);
      const before = nd.memory();
      // MXNet: NDArrayGenerator(4, 2) for flatten, NDArrayGenerator(5, 3) without
      const [dimLo, dimHi] = flatten ? [2, 4] : [3, 5];
      for (let ndim = dimLo; ndim <= dimHi; ndim++) {
        nd.tidy(() => {
          const shape = randShapeNd(r, ndim, 4);
          const size = shape.reduce((a, b) => a * b, 1);
          const hidden = 1 + Math.floor(r() * 3);
          const inFeatures = flatten ? size / shape[0] : shape[shape.length - 1];
          const x = nd.arange(0, size).reshape(shape);
          const w = nd.full([hidden, inFeatures], 0.5);
          const b = nd.full([hidden], 0.5);
          x.attachGrad();
          w.attachGrad();
          let xGrad!: NDArray, wGradGrad!: NDArray, oY!: NDArray, oXGrad!: NDArray, wGrad!: NDArray, xGradGrad!: NDArray;
          let oWGrad!: NDArray;
          autograd.record(() => {
            const y = nd.FullyConnected(x, w, b, { numHidden: hidden, flatten });
            oY = arangeShapeLike(y);
            // d(x_grad)/dw, with x_grad = o_y · w
            xGrad = autograd.grad(y, x, oY, { createGraph: true, retainGraph: true })[0];
            oXGrad = arangeShapeLike(xGrad);
            wGradGrad = autograd.grad(xGrad, w, oXGrad, { createGraph: false, retainGraph: true })[0];
            // d(w_grad)/dx, with w_grad = o_yᵀ · x
            wGrad = autograd.grad(y, w, oY, { createGraph: true, retainGraph: true })[0];
            oWGrad = arangeShapeLike(wGrad);
            xGradGrad = autograd.grad(wGrad, x, oWGrad, { createGraph: false, retainGraph: true })[0];
          });
          expect(wGrad.shape).toEqual(w.shape);
          expect(wGradGrad.shape).toEqual(w.shape);
          expect(xGrad.shape).toEqual(x.shape);
          expect(xGradGrad.shape).toEqual(x.shape);
          const m = size / inFeatures;
          const oY2 = oY.reshape([m, hidden]);
          const x2 = x.reshape([m, inFeatures]);
          const checks: [string, NDArray, NDArray][] = [
            ['x_grad', xGrad.reshape([m, inFeatures]), nd.dot(oY2, w)],
            // <o_x_grad, o_y · w> differentiated by w: o_yᵀ · o_x_grad
            ['w_grad_grad', wGradGrad, nd.dot(oY2, oXGrad.reshape([m, inFeatures]), { transposeA: true })],
            ['w_grad', wGrad, nd.dot(oY2, x2, { transposeA: true })],
            // <o_w_grad, o_yᵀ · x> differentiated by x: o_y · o_w_grad
            ['x_grad_grad', xGradGrad.reshape([m, inFeatures]), nd.dot(oY2, oWGrad)],
          ];
          for (const [name, got, want] of checks)
            if (!same(got, want)) throw new Error(`${name} of x (${shape}), hidden ${hidden}: not exactly the dot product`);
        });
      }
      const after = nd.memory();
      expect(after.numArrays).toBe(before.numArrays);
      expect(after.numBytes).toBe(before.numBytes);
    });
  }
});
