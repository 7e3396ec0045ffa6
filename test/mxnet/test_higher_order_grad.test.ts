// Port of apache/mxnet tests/python/unittest/test_higher_order_grad.py, unary ops: second and third
// order of every differentiable unary op of API.md through grad(createGraph), with the
// check_nth_order_unary pattern (random normal head gradients h_k), against closed-form derivatives in
// float64. Dropout and the dense layer are in test_higher_order_grad_layers.test.ts, the binary ops of
// MXNet's check_nth_order_binary in test_higher_order_grad_binary.test.ts.
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
