// Port of apache/mxnet tests/python/unittest/test_higher_order_grad.py: second and third order of
// every differentiable unary op of API.md through grad(createGraph), with the check_nth_order_unary
// pattern (random normal head gradients h_k), against closed-form derivatives in float64; Dropout's
// (test_dropout); the dense layer's mixed second order (exact, as MXNet's same()); and the binary ops
// of MXNet's check_nth_order_binary (elemwise_sub, elemwise_mul, power, broadcast_power: PR branch
// "higher order gradient for elemwise_sub, elemwise_mul and power", not merged into MXNet master).
//
// Tolerances: MXNet's tightest, those of test_tanh (rtol 1e-6 / atol 1e-6 for first order, rtol 1e-6 /
// atol 1e-5 for second), for every op and order (third order: the second order's). MXNet's other
// tests leave assert_almost_equal at its float32 defaults (rtol 1e-4, atol 1e-3), which a wrong
// derivative of a small value passes; our expected values are exact (float64 closed forms), and the
// float32 results stay within 0.44 of these bounds on every ISA (arcsin's third order is the worst).
import { autograd, nd, NDArray, NDArrayError } from '../../lib';
import { assertAlmostEqual, randShapeNd, rng, same } from './helpers';

/** [rtol, atol] by order: MXNet's test_tanh values (order 3: the second order's). */
const TOL: Record<number, [number, number]> = { 1: [1e-6, 1e-6], 2: [1e-6, 1e-5], 3: [1e-6, 1e-5] };

type F = (x: number) => number;
interface Case {
  name: string;
  op: (x: NDArray) => NDArray;
  d: [F, F, F]; // first, second, third derivative
  lo: number;
  hi: number;
}

const sig = (x: number) => 1 / (1 + Math.exp(-x));
const LN2 = Math.LN2;
const LN10 = Math.LN10;
const SQPI = 2 / Math.sqrt(Math.PI);
const zero: F = () => 0;

const CASES: Case[] = [
  { name: 'sin', op: nd.sin, d: [Math.cos, (x) => -Math.sin(x), (x) => -Math.cos(x)], lo: -3, hi: 3 },
  { name: 'cos', op: nd.cos, d: [(x) => -Math.sin(x), (x) => -Math.cos(x), Math.sin], lo: -3, hi: 3 },
  {
    name: 'tan',
    op: nd.tan,
    d: [
      (x) => 1 + Math.tan(x) ** 2,
      (x) => 2 * Math.tan(x) * (1 + Math.tan(x) ** 2),
      (x) => 2 * (1 + Math.tan(x) ** 2) * (1 + 3 * Math.tan(x) ** 2),
    ],
    lo: -1,
    hi: 1,
  },
  { name: 'sinh', op: nd.sinh, d: [Math.cosh, Math.sinh, Math.cosh], lo: -2, hi: 2 },
  { name: 'cosh', op: nd.cosh, d: [Math.sinh, Math.cosh, Math.sinh], lo: -2, hi: 2 },
  {
    name: 'tanh',
    op: nd.tanh,
    d: [
      (x) => 1 - Math.tanh(x) ** 2,
      (x) => -2 * Math.tanh(x) * (1 - Math.tanh(x) ** 2),
      (x) => (1 - Math.tanh(x) ** 2) * (6 * Math.tanh(x) ** 2 - 2),
    ],
    lo: -2,
    hi: 2,
  },
  {
    name: 'arcsin',
    op: nd.arcsin,
    d: [(x) => (1 - x * x) ** -0.5, (x) => x * (1 - x * x) ** -1.5, (x) => (1 + 2 * x * x) * (1 - x * x) ** -2.5],
    lo: -0.9,
    hi: 0.9,
  },
  {
    name: 'arccos',
    op: nd.arccos,
    d: [(x) => -((1 - x * x) ** -0.5), (x) => -x * (1 - x * x) ** -1.5, (x) => -(1 + 2 * x * x) * (1 - x * x) ** -2.5],
    lo: -0.9,
    hi: 0.9,
  },
  {
    name: 'arctan',
    op: nd.arctan,
    d: [(x) => 1 / (1 + x * x), (x) => (-2 * x) / (1 + x * x) ** 2, (x) => (6 * x * x - 2) / (1 + x * x) ** 3],
    lo: -3,
    hi: 3,
  },
  {
    name: 'arcsinh',
    op: nd.arcsinh,
    d: [(x) => (1 + x * x) ** -0.5, (x) => -x * (1 + x * x) ** -1.5, (x) => (2 * x * x - 1) * (1 + x * x) ** -2.5],
    lo: -3,
    hi: 3,
  },
  {
    name: 'arccosh',
    op: nd.arccosh,
    d: [(x) => (x * x - 1) ** -0.5, (x) => -x * (x * x - 1) ** -1.5, (x) => (2 * x * x + 1) * (x * x - 1) ** -2.5],
    lo: 1.5,
    hi: 4,
  },
  {
    name: 'arctanh',
    op: nd.arctanh,
    d: [(x) => 1 / (1 - x * x), (x) => (2 * x) / (1 - x * x) ** 2, (x) => (2 + 6 * x * x) / (1 - x * x) ** 3],
    lo: -0.8,
    hi: 0.8,
  },
  { name: 'radians', op: nd.radians, d: [() => Math.PI / 180, zero, zero], lo: -3, hi: 3 },
  { name: 'degrees', op: nd.degrees, d: [() => 180 / Math.PI, zero, zero], lo: -3, hi: 3 },
  { name: 'relu', op: nd.relu, d: [(x) => (x > 0 ? 1 : 0), zero, zero], lo: -3, hi: 3 },
  { name: 'log', op: nd.log, d: [(x) => 1 / x, (x) => -1 / (x * x), (x) => 2 / x ** 3], lo: 0.2, hi: 4 },
  {
    name: 'log2',
    op: nd.log2,
    d: [(x) => 1 / (x * LN2), (x) => -1 / (x * x * LN2), (x) => 2 / (x ** 3 * LN2)],
    lo: 0.2,
    hi: 4,
  },
  {
    name: 'log10',
    op: nd.log10,
    d: [(x) => 1 / (x * LN10), (x) => -1 / (x * x * LN10), (x) => 2 / (x ** 3 * LN10)],
    lo: 0.2,
    hi: 4,
  },
  { name: 'square', op: nd.square, d: [(x) => 2 * x, () => 2, zero], lo: -3, hi: 3 },
  { name: 'expm1', op: nd.expm1, d: [Math.exp, Math.exp, Math.exp], lo: -2, hi: 2 },
  {
    name: 'log1p',
    op: nd.log1p,
    d: [(x) => 1 / (1 + x), (x) => -1 / (1 + x) ** 2, (x) => 2 / (1 + x) ** 3],
    lo: -0.5,
    hi: 3,
  },
  {
    name: 'reciprocal',
    op: nd.reciprocal,
    d: [(x) => -1 / (x * x), (x) => 2 / x ** 3, (x) => -6 / x ** 4],
    lo: 0.5,
    hi: 3,
  },
  { name: 'abs', op: nd.abs, d: [Math.sign, zero, zero], lo: -3, hi: 3 },
  {
    name: 'clip',
    op: (x) => nd.clip(x, -0.6, 0.6),
    d: [(x) => (x > -0.6 && x < 0.6 ? 1 : 0), zero, zero],
    lo: -1.5,
    hi: 1.5,
  },
  {
    name: 'sigmoid',
    op: nd.sigmoid,
    d: [
      (x) => sig(x) * (1 - sig(x)),
      (x) => sig(x) * (1 - sig(x)) * (1 - 2 * sig(x)),
      (x) => sig(x) * (1 - sig(x)) * (1 - 6 * sig(x) + 6 * sig(x) ** 2),
    ],
    lo: -4,
    hi: 4,
  },
  {
    name: 'sqrt',
    op: nd.sqrt,
    d: [(x) => 0.5 * x ** -0.5, (x) => -0.25 * x ** -1.5, (x) => 0.375 * x ** -2.5],
    lo: 0.3,
    hi: 4,
  },
  {
    name: 'cbrt',
    op: nd.cbrt,
    d: [(x) => (1 / 3) * x ** (-2 / 3), (x) => (-2 / 9) * x ** (-5 / 3), (x) => (10 / 27) * x ** (-8 / 3)],
    lo: 0.3,
    hi: 4,
  },
  {
    name: 'rsqrt',
    op: nd.rsqrt,
    d: [(x) => -0.5 * x ** -1.5, (x) => 0.75 * x ** -2.5, (x) => -1.875 * x ** -3.5],
    lo: 0.5,
    hi: 4,
  },
  {
    name: 'rcbrt',
    op: nd.rcbrt,
    d: [(x) => (-1 / 3) * x ** (-4 / 3), (x) => (4 / 9) * x ** (-7 / 3), (x) => (-28 / 27) * x ** (-10 / 3)],
    lo: 0.5,
    hi: 4,
  },
  { name: 'exp', op: nd.exp, d: [Math.exp, Math.exp, Math.exp], lo: -2, hi: 2 },
  {
    name: 'erf',
    op: nd.erf,
    d: [
      (x) => SQPI * Math.exp(-x * x),
      (x) => -2 * x * SQPI * Math.exp(-x * x),
      (x) => (4 * x * x - 2) * SQPI * Math.exp(-x * x),
    ],
    lo: -2,
    hi: 2,
  },
  {
    name: 'softsign',
    op: nd.softsign,
    d: [
      (x) => 1 / (1 + Math.abs(x)) ** 2,
      (x) => (-2 * Math.sign(x)) / (1 + Math.abs(x)) ** 3,
      (x) => 6 / (1 + Math.abs(x)) ** 4,
    ],
    lo: -3,
    hi: 3,
  },
];

/**
 * check_nth_order_unary: y = op(x) under record(), then for k = 1..N
 * y = grad(y, x, h_k, createGraph, retainGraph)[0]; order n must equal f^(n)(x)·h_1·…·h_n.
 */
function checkNthOrderUnary(xData: Float32Array, shape: number[], c: Case, orders: number[]): void {
  nd.tidy(() => {
    const x = nd.array(xData).reshape(shape);
    x.attachGrad();
    const xs = x.toTypedArray();
    const N = Math.max(...orders);
    const heads: Float32Array[] = [];
    const computed = new Map<number, Float32Array>();
    autograd.record(() => {
      let y = c.op(x);
      for (let k = 1; k <= N; k++) {
        const h = nd.random.normal(0, 1, x.shape);
        heads.push(h.toTypedArray() as Float32Array);
        y = autograd.grad(y, x, h, { createGraph: true, retainGraph: true })[0];
        expect(y.shape).toEqual(x.shape);
        if (orders.includes(k)) computed.set(k, y.toTypedArray() as Float32Array);
      }
    });
    for (const n of orders) {
      const expected = new Float64Array(xs.length);
      for (let i = 0; i < xs.length; i++) {
        let v = c.d[n - 1](xs[i]);
        for (let k = 0; k < n; k++) v *= heads[k][i];
        expected[i] = v;
      }
      assertAlmostEqual(computed.get(n)!, expected, TOL[n][0], TOL[n][1], `${c.name} order ${n} shape (${shape})`);
    }
  });
}

describe('higher-order gradients of unary ops (second and third order)', () => {
  for (const c of CASES) {
    test(c.name, () => {
      const r = rng(0x5eed + c.name.length * 7919 + c.name.charCodeAt(0));
      nd.random.seed(1234);
      const before = nd.memory();
      for (let ndim = 1; ndim <= 4; ndim++) {
        const shape = randShapeNd(r, ndim, ndim <= 2 ? 8 : 4);
        const n = shape.reduce((a, b) => a * b, 1);
        const data = new Float32Array(n);
        for (let i = 0; i < n; i++) {
          let v = c.lo + (c.hi - c.lo) * r();
          // keep off the kinks of piecewise ops, where the derivative is not defined
          if (c.name === 'relu' || c.name === 'abs' || c.name === 'softsign') if (Math.abs(v) < 1e-3) v = 0.5;
          if (c.name === 'clip' && Math.abs(Math.abs(v) - 0.6) < 1e-3) v = 0.1;
          data[i] = v;
        }
        // second order alone (check_second_order_unary), then second and third together
        checkNthOrderUnary(data, shape, c, [2]);
        checkNthOrderUnary(data, shape, c, [1, 2, 3]);
      }
      const after = nd.memory();
      expect(after.numArrays).toBe(before.numArrays);
      expect(after.numBytes).toBe(before.numBytes);
    });
  }
});

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

// check_nth_order_binary (MXNet PR branch, see the header): for each input i, the chain of pure
// partial derivatives d^n z / d x_i^n. At each order the head of input i is differentiated twice
// with respect to x_i: once with a random normal head gradient (the checked value, expected
// d^n z/dx_i^n · h_n, summed over the axes x_i was broadcast along) and once with ones (the next
// order's head). A head that does not depend on x_i (the derivative is constant) gives zeros, as
// MXNet's autograd_grad_ex.
type BF = (x: number, y: number) => number;
interface BinaryCase {
  name: string;
  op: (x: NDArray, y: NDArray) => NDArray;
  /** d[n-1] = [d^n z/dx^n, d^n z/dy^n] */
  d: [BF, BF][];
}

function gradEx(head: NDArray, v: NDArray, headGrad: NDArray): NDArray {
  try {
    return autograd.grad(head, v, headGrad, { createGraph: true, retainGraph: true })[0];
  } catch (e) {
    if (e instanceof NDArrayError && (e.code === 'NOT_REACHABLE' || e.code === 'NOT_RECORDED')) return nd.zerosLike(v);
    throw e;
  }
}

function stridesOf(shape: number[]): number[] {
  const s = new Array(shape.length).fill(0);
  for (let i = shape.length - 1, acc = 1; i >= 0; i--) {
    s[i] = shape[i] === 1 ? 0 : acc; // a broadcast axis repeats the same element
    acc *= shape[i];
  }
  return s;
}

function checkNthOrderBinary(x: NDArray, y: NDArray, c: BinaryCase, orders: number[]): void {
  nd.tidy(() => {
    const inputs = [x, y];
    for (const v of inputs) v.attachGrad();
    const N = Math.max(...orders);
    const headGrads: Float32Array[][] = []; // [order-1][input]
    const computed = new Map<number, Float32Array[]>();
    let zShape!: number[];
    autograd.record(() => {
      const z = c.op(x, y);
      zShape = z.shape;
      let heads = [z, z];
      for (let k = 1; k <= N; k++) {
        const grads: Float32Array[] = [];
        const hs: Float32Array[] = [];
        const next: NDArray[] = [];
        for (let i = 0; i < 2; i++) {
          const h = nd.random.normal(0, 1, heads[i].shape);
          hs.push(h.toTypedArray() as Float32Array);
          const g = gradEx(heads[i], inputs[i], h);
          expect(g.shape).toEqual(inputs[i].shape);
          grads.push(g.toTypedArray() as Float32Array);
          next.push(gradEx(heads[i], inputs[i], nd.onesLike(heads[i])));
        }
        heads = next;
        headGrads.push(hs);
        if (orders.includes(k)) computed.set(k, grads);
      }
    });
    const xs = x.toTypedArray();
    const ys = y.toTypedArray();
    const nd_ = zShape.length;
    const pad = (s: number[]) => [...new Array(nd_ - s.length).fill(1), ...s];
    const xSt = stridesOf(pad(x.shape));
    const ySt = stridesOf(pad(y.shape));
    const zSize = zShape.reduce((a, b) => a * b, 1);
    // offsets of x and y for each element of z (an odometer over z's shape)
    const xOff = new Int32Array(zSize);
    const yOff = new Int32Array(zSize);
    {
      const idx = new Array(nd_).fill(0);
      let xo = 0, yo = 0;
      for (let zi = 0; zi < zSize; zi++) {
        xOff[zi] = xo;
        yOff[zi] = yo;
        for (let a = nd_ - 1; a >= 0; a--) {
          xo += xSt[a];
          yo += ySt[a];
          if (++idx[a] < zShape[a]) break;
          xo -= xSt[a] * zShape[a];
          yo -= ySt[a] * zShape[a];
          idx[a] = 0;
        }
      }
    }
    for (const n of orders) {
      for (let i = 0; i < 2; i++) {
        const h = headGrads[n - 1][i];
        const headIsZ = h.length === zSize && n === 1; // order 1's head has z's shape, later ones x_i's
        const expected = new Float64Array(inputs[i].size);
        const absSum = new Float64Array(inputs[i].size); // sum of |terms|, for the summation bound
        const f = c.d[n - 1][i];
        const off = i === 0 ? xOff : yOff;
        for (let zi = 0; zi < zSize; zi++) {
          const t = f(xs[xOff[zi]], ys[yOff[zi]]) * (headIsZ ? h[zi] : 1);
          expected[off[zi]] += t;
          absSum[off[zi]] += Math.abs(t);
        }
        if (!headIsZ)
          for (let k = 0; k < expected.length; k++) {
            expected[k] *= h[k];
            absSum[k] *= Math.abs(h[k]);
          }
        // |got - want| <= atol + (rtol + (m-1)·u)·sum|t|: rtol for each float32 term (as the unary ops),
        // plus the classical bound of a float32 sum of m terms (u = 2^-24) where x_i was broadcast
        // over m elements of z; with m = 1 this is MXNet's |got - want| <= atol + rtol·|want|.
        const m = zSize / inputs[i].size;
        const [rtol, atol] = TOL[n];
        const got = computed.get(n)![i];
        for (let k = 0; k < got.length; k++) {
          const bound = atol + (rtol + (m - 1) * 2 ** -24) * absSum[k];
          if (!(Math.abs(got[k] - expected[k]) <= bound))
            throw new Error(
              `${c.name} order ${n} d/d${'xy'[i]} x (${x.shape}) y (${y.shape}) element ${k}: ${got[k]} vs expected ${expected[k]} (bound ${bound})`,
            );
        }
      }
    }
  });
}

const ln = Math.log;
const BINARY: Record<string, BinaryCase> = {
  elemwise_sub: { name: 'elemwise_sub', op: nd.subtract, d: [[() => 1, () => -1], [() => 0, () => 0]] },
  elemwise_mul: { name: 'elemwise_mul', op: nd.multiply, d: [[(_x, y) => y, (x) => x], [() => 0, () => 0]] },
  power: {
    name: 'power',
    op: nd.power,
    d: [
      [(x, y) => y * x ** (y - 1), (x, y) => x ** y * ln(x)],
      [(x, y) => y * (y - 1) * x ** (y - 2), (x, y) => x ** y * ln(x) ** 2],
      [(x, y) => y * (y - 1) * (y - 2) * x ** (y - 3), (x, y) => x ** y * ln(x) ** 3],
    ],
  },
};

describe('higher-order gradients of binary ops (check_nth_order_binary)', () => {
  const before = () => nd.memory();
  for (const name of ['elemwise_sub', 'elemwise_mul']) {
    test(`${name}: first and second order partial derivatives`, () => {
      nd.random.seed(99 + name.length);
      const r = rng(0xb1 + name.length);
      const m0 = before();
      for (let ndim = 1; ndim <= 4; ndim++) {
        nd.tidy(() => {
          const shape = randShapeNd(r, ndim);
          checkNthOrderBinary(nd.random.normal(0, 1, shape), nd.random.normal(0, 1, shape), BINARY[name], [1, 2]);
        });
      }
      const m1 = before();
      expect(m1.numArrays).toBe(m0.numArrays);
      expect(m1.numBytes).toBe(m0.numBytes);
    });
  }

  test('power: first, second and third order partial derivatives (x, y in [1, 3))', () => {
    nd.random.seed(2020);
    const r = rng(0xb3);
    const m0 = before();
    for (let ndim = 1; ndim <= 4; ndim++) {
      nd.tidy(() => {
        const shape = randShapeNd(r, ndim);
        checkNthOrderBinary(nd.random.uniform(1, 3, shape), nd.random.uniform(1, 3, shape), BINARY.power, [1, 2, 3]);
      });
    }
    const m1 = before();
    expect(m1.numArrays).toBe(m0.numArrays);
    expect(m1.numBytes).toBe(m0.numBytes);
  });

  // gen_broadcast_shape(1..4): rows 1 to 4 of the table of test_operator.py's gen_broadcast_data
  const BROADCAST_SHAPES: [number[], number[]][] = [
    [[10, 49, 1, 77, 17], [10, 1, 2, 1, 17]],
    [[13, 2, 65, 2, 1], [13, 1, 65, 1, 225]],
    [[9, 434, 4, 2, 37], [9, 1, 4, 1, 37]],
    [[2, 52, 1, 4, 1], [1, 52, 60, 1, 37]],
  ];
  // MXNet checks this one at rtol 1e-3 / atol 1e-5; here at the unary bounds plus the float32
  // summation bound over the broadcast axes.
  test('broadcast_power: first, second and third order partial derivatives, summed over the broadcast axes', () => {
    nd.random.seed(2021);
    const m0 = before();
    for (const [xs, ys] of BROADCAST_SHAPES) {
      nd.tidy(() => {
        checkNthOrderBinary(nd.random.uniform(1, 3, xs), nd.random.uniform(1, 3, ys), { ...BINARY.power, name: 'broadcast_power' }, [1, 2, 3]);
      });
    }
    const m1 = before();
    expect(m1.numArrays).toBe(m0.numArrays);
    expect(m1.numBytes).toBe(m0.numBytes);
  });
});
