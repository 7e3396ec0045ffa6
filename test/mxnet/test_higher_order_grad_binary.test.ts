// Port of apache/mxnet tests/python/unittest/test_higher_order_grad.py, binary ops: MXNet's
// check_nth_order_binary (elemwise_sub, elemwise_mul, power, broadcast_power: PR branch "higher order
// gradient for elemwise_sub, elemwise_mul and power", not merged into MXNet master), with the
// tolerances of test_tanh as for the unary ops (test_higher_order_grad.test.ts).
import { autograd, nd, NDArray, NDArrayError } from '../../lib';
import { assertAlmostEqual, randShapeNd, rng, same } from './helpers';

/** [rtol, atol] by order: MXNet's test_tanh values (order 3: the second order's). */
const TOL: Record<number, [number, number]> = { 1: [1e-6, 1e-6], 2: [1e-6, 1e-5], 3: [1e-6, 1e-5] };

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
