// Neural-network ops: values, gradients (checkGradient in float64), second order, train/predict, errors.
import { nd, autograd, NDArray, NDArrayError } from '../lib';
import { check, code, codeOf, errorOf } from './helpers';

const arr = (a: NDArray) => Array.from(a.toTypedArray());


// Second order: checks the gradient of sum(w * dL/dx_i) (recorded with createGraph) numerically.
function check2(loss: (...xs: NDArray[]) => NDArray, inputs: NDArray[], wrt = 0) {
  const fn = (...xs: NDArray[]) =>
    autograd.record(() => {
      const [g] = autograd.grad(loss(...xs), [xs[wrt]], null, { createGraph: true });
      return g.mul(nd.arange(1, g.size + 1).reshape(g.shape).astype('float64').div(g.size));
    });
  check(fn, inputs, 1e-4);
}

const rnd = (shape: number[], s = 1) => nd.random.uniform(-s, s, shape);
const close = (a: NDArray, b: number[] | number, tol = 1e-5) => {
  const x = a.toTypedArray();
  const y = typeof b === 'number' ? [b] : b;
  expect(x.length).toBe(y.length);
  for (let i = 0; i < y.length; i++) expect(Math.abs(x[i] - y[i])).toBeLessThanOrEqual(tol * (1 + Math.abs(y[i])));
};

beforeAll(() => nd.random.seed(11));

describe('softmax family', () => {
  test('values, axis, int input', () => {
    const x = nd.array([[1, 2, 3], [1, 1, 1]]);
    const e = [1, Math.E, Math.E ** 2].map((v) => v / (1 + Math.E + Math.E ** 2));
    close(nd.softmax(x), [...e, 1 / 3, 1 / 3, 1 / 3]);
    close(nd.logSoftmax(x).exp(), [...e, 1 / 3, 1 / 3, 1 / 3]);
    close(nd.softmax(x, { axis: 0 }).sum({ axis: 0 }), [1, 1, 1]);
    expect(nd.softmax(nd.array([1, 2], { dtype: 'int32' })).dtype).toBe('float32');
  });
  test('gradients and second order', () => {
    check((a) => nd.softmax(a, { axis: 0 }).square(), [rnd([3, 4])]);
    check((a) => nd.logSoftmax(a).mul(nd.arange(0, 8).reshape([2, 4]).astype('float64')), [rnd([2, 4])]);
    check2((a) => nd.softmax(a).square().sum(), [rnd([2, 3])]);
    check2((a) => nd.logSoftmax(a).square().sum(), [rnd([2, 3])]);
  });
  test('softmaxCrossEntropy', () => {
    const x = nd.array([[1, 2, 3], [0, 0, 0]]);
    const y = nd.softmaxCrossEntropy(x, nd.array([2, 0]));
    expect(y.shape).toEqual([]);
    close(y, -Math.log(Math.E ** 2 / (1 + Math.E + Math.E ** 2)) + Math.log(3));
    const lab = nd.array([2, 0, 1], { dtype: 'int32' });
    check((a) => nd.softmaxCrossEntropy(a, lab), [rnd([3, 4])]);
    check2((a) => nd.softmaxCrossEntropy(a, lab), [rnd([3, 4])]);
    expect(code(() => nd.softmaxCrossEntropy(x, nd.array([3, 0])).toArray())).toMatch(/^OUT_OF_RANGE: softmax_cross_entropy: label 3 .*\(2,3\)/);
    expect(code(() => nd.softmaxCrossEntropy(x, nd.array([0])))).toMatch(/^SHAPE_MISMATCH: .*\(1\).*\(2,3\)/);
  });
  test('softmax and logSoftmax over an empty axis give an empty result and an empty gradient (PyTorch)', () => {
    for (const f of [nd.softmax, nd.logSoftmax]) {
      const x = nd.ones([3, 0]);
      x.attachGrad();
      expect(f(x).shape).toEqual([3, 0]);
      autograd.record(() => f(x).sum()).backward();
      expect(x.grad!.shape).toEqual([3, 0]);
      expect(f(nd.ones([0, 4]), { axis: 0 }).shape).toEqual([0, 4]);
    }
  });
  test('softmaxCrossEntropy of an empty batch is 0 (a sum over no rows)', () => {
    const y = nd.softmaxCrossEntropy(nd.zeros([0, 5]), nd.zeros([0]));
    expect(y.shape).toEqual([]);
    expect(y.item()).toBe(0);
  });
});

describe('Activation / LeakyReLU', () => {
  const x = nd.array([-2, -0.5, 0.3, 1.5]);
  test('values', () => {
    close(nd.Activation(x, { actType: 'relu' }), [0, 0, 0.3, 1.5]);
    close(nd.Activation(x, { actType: 'softrelu' }), [-2, -0.5, 0.3, 1.5].map((v) => Math.log1p(Math.exp(v))));
    close(nd.Activation(x, { actType: 'softsign' }), [-2, -0.5, 0.3, 1.5].map((v) => v / (1 + Math.abs(v))));
    close(nd.LeakyReLU(x, { slope: 0.1 }), [-0.2, -0.05, 0.3, 1.5]);
    close(nd.LeakyReLU(x, { actType: 'elu', slope: 1 }), [Math.expm1(-2), Math.expm1(-0.5), 0.3, 1.5]);
    close(nd.LeakyReLU(nd.array([0, 1]), { actType: 'gelu' }), [0, 0.8413447]);
    expect(code(() => nd.Activation(x, { actType: 'swish' as any }))).toMatch(/^BAD_ARGUMENT: Activation: actType/);
    expect(code(() => nd.LeakyReLU(x, { actType: 'prelu' as any }))).toMatch(/^BAD_ARGUMENT: LeakyReLU/);
  });
  test('gradients and second order', () => {
    const v = nd.array([-1.3, -0.4, 0.2, 0.9, 2.1]);
    for (const t of ['relu', 'sigmoid', 'tanh', 'softrelu', 'softsign'] as const) {
      check((a) => nd.Activation(a, { actType: t }).mul(a), [v]);
      check2((a) => nd.Activation(a, { actType: t }).mul(a).sum(), [v]);
    }
    for (const t of ['leaky', 'elu', 'gelu'] as const) {
      check((a) => nd.LeakyReLU(a, { actType: t, slope: 0.3 }).mul(a), [v]);
      check2((a) => nd.LeakyReLU(a, { actType: t, slope: 0.3 }).mul(a).sum(), [v]);
    }
    // sigmoid's and tanh's fused gradient rounds as the elementwise ops it replaced
    const x = rnd([1000], 4), dy = rnd([1000]);
    for (const t of ['sigmoid', 'tanh'] as const) {
      const xa = x.copy();
      xa.attachGrad();
      autograd.record(() => nd.Activation(xa, { actType: t })).backward(dy);
      const y = nd.Activation(x, { actType: t });
      const want = t === 'sigmoid' ? dy.mul(y.mul(nd.subtract(1, y))) : dy.mul(nd.subtract(1, y.square()));
      expect(Array.from(xa.grad!.toTypedArray())).toEqual(Array.from(want.toTypedArray()));
    }
  });
});

describe('Convolution', () => {
  // Every output element against a direct loop in float64 over the same float32 inputs, within the
  // float32 error bound of a sum of K products plus the bias: (K + 2)·2^-24·(|b| + sum|x·w|).
  function convReference(x: NDArray, w: NDArray, b: NDArray | null, o: { stride: number[]; pad: number[]; dilate: number[]; groups: number }) {
    const one = x.ndim === 3; // 1-D: height 1
    const [N, C] = x.shape, [F, Cg] = w.shape;
    const [H, W] = one ? [1, x.shape[2]] : [x.shape[2], x.shape[3]];
    const [KH, KW] = one ? [1, w.shape[2]] : [w.shape[2], w.shape[3]];
    const [sh, sw] = one ? [1, o.stride[0]] : o.stride, [ph, pw] = one ? [0, o.pad[0]] : o.pad, [dh, dw] = one ? [1, o.dilate[0]] : o.dilate;
    const OH = Math.floor((H + 2 * ph - dh * (KH - 1) - 1) / sh) + 1, OW = Math.floor((W + 2 * pw - dw * (KW - 1) - 1) / sw) + 1;
    const X = x.toTypedArray(), Wt = w.toTypedArray(), B = b ? b.toTypedArray() : null;
    const y = new Float64Array(N * F * OH * OW), mag = new Float64Array(y.length);
    const fPerGroup = F / o.groups;
    for (let n = 0; n < N; n++)
      for (let f = 0; f < F; f++)
        for (let oh = 0; oh < OH; oh++)
          for (let ow = 0; ow < OW; ow++) {
            let acc = B ? B[f] : 0, m = Math.abs(acc);
            const g = Math.floor(f / fPerGroup);
            for (let c = 0; c < Cg; c++)
              for (let i = 0; i < KH; i++)
                for (let j = 0; j < KW; j++) {
                  const h = oh * sh - ph + i * dh, ww = ow * sw - pw + j * dw;
                  if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
                  const t = X[((n * C + g * Cg + c) * H + h) * W + ww] * Wt[((f * Cg + c) * KH + i) * KW + j];
                  acc += t;
                  m += Math.abs(t);
                }
            const k = ((n * F + f) * OH + oh) * OW + ow;
            y[k] = acc;
            mag[k] = m;
          }
    return { shape: one ? [N, F, OW] : [N, F, OH, OW], y, mag, K: Cg * KH * KW };
  }
  const CONV_CASES: { x: number[]; w: number[]; bias: boolean; stride: number[]; pad: number[]; dilate: number[]; groups: number }[] = [
    { x: [2, 3, 5, 5], w: [4, 3, 3, 3], bias: true, stride: [2, 2], pad: [1, 1], dilate: [1, 1], groups: 1 },
    { x: [1, 4, 6, 7], w: [6, 2, 2, 3], bias: true, stride: [1, 2], pad: [1, 0], dilate: [2, 1], groups: 2 },
    { x: [2, 3, 9], w: [4, 3, 3], bias: false, stride: [2], pad: [1], dilate: [1], groups: 1 },
    { x: [2, 3, 11], w: [6, 1, 4], bias: true, stride: [1], pad: [2], dilate: [2], groups: 3 },
    { x: [2, 16, 12, 12], w: [8, 16, 3, 3], bias: true, stride: [1, 1], pad: [1, 1], dilate: [1, 1], groups: 1 },
  ];
  for (const cc of CONV_CASES)
    test(`values against a direct loop, every element: x (${cc.x}) w (${cc.w}) stride ${cc.stride} pad ${cc.pad} dilate ${cc.dilate} groups ${cc.groups}${cc.bias ? ' bias' : ''}`, () => {
      nd.tidy(() => {
        const x = rnd(cc.x), w = rnd(cc.w), b = cc.bias ? rnd([cc.w[0]]) : null;
        const kernel = cc.w.slice(2);
        const o = { kernel, stride: cc.stride, pad: cc.pad, dilate: cc.dilate, numGroup: cc.groups, numFilter: cc.w[0] };
        const y = b ? nd.Convolution(x, w, b, o) : nd.Convolution(x, w, { ...o, noBias: true });
        const ref = convReference(x, w, b, cc);
        expect(y.shape).toEqual(ref.shape);
        const got = y.toTypedArray();
        const u = 2 ** -24;
        for (let k = 0; k < got.length; k++) {
          const bound = (ref.K + 2) * u * ref.mag[k] + 1e-30;
          if (!(Math.abs(got[k] - ref.y[k]) <= bound)) throw new Error(`element ${k}: ${got[k]} vs ${ref.y[k]} (bound ${bound})`);
        }
      });
    });
  test('gradients: 1-D, 2-D, stride/pad/dilate/groups, bias', () => {
    check((x, w, b) => nd.Convolution(x, w, b, { kernel: 3, pad: 1, stride: 2 }), [rnd([2, 2, 7]), rnd([3, 2, 3]), rnd([3])]);
    check((x, w) => nd.Convolution(x, w, { kernel: [2, 3], dilate: [2, 1], numGroup: 2, noBias: true }).square(), [
      rnd([1, 4, 5, 5]),
      rnd([4, 2, 2, 3]),
    ]);
    check((x, w, b) => nd.Convolution(x, w, b, { kernel: [3, 3], stride: [2, 1], pad: [1, 0], numFilter: 2 }).square(), [
      rnd([2, 1, 4, 5]),
      rnd([2, 1, 3, 3]),
      rnd([2]),
    ]);
  });
  test('second order (data, weight and mixed)', () => {
    const loss = (x: NDArray, w: NDArray) => nd.Convolution(x, w, { kernel: [2, 2], stride: 1, pad: 1, numGroup: 1 }).square().sum();
    check2(loss, [rnd([1, 2, 3, 3]), rnd([2, 2, 2, 2])], 0);
    check2(loss, [rnd([1, 2, 3, 3]), rnd([2, 2, 2, 2])], 1);
  });
  test('errors name the op and shapes', () => {
    expect(code(() => nd.Convolution(nd.zeros([2, 4, 28, 28]), nd.zeros([8, 3, 3, 3]), { kernel: [3, 3] }))).toBe(
      'SHAPE_MISMATCH: Convolution: weight (8,3,3,3) expects 3 input channels, got 4 in data (2,4,28,28)',
    );
    expect(code(() => nd.Convolution(nd.zeros([1, 1, 2, 2]), nd.zeros([1, 1, 3, 3]), { kernel: [3, 3] }))).toMatch(/^SHAPE_MISMATCH: .*larger/);
    expect(code(() => nd.Convolution(nd.zeros([1, 1, 5]), nd.zeros([1, 1, 3]), nd.zeros([2]), { kernel: 3 }))).toMatch(/^SHAPE_MISMATCH: Convolution: bias \(2\)/);
    expect(code(() => nd.Convolution(nd.zeros([1, 1, 5]), nd.zeros([1, 1, 3]), { kernel: 3, stride: 0 }))).toMatch(/^BAD_ARGUMENT/);
    expect(code(() => nd.Convolution(nd.zeros([1, 1, 5, 5]), nd.zeros([1, 1, 3]), { kernel: 3 }))).toMatch(/^SHAPE_MISMATCH/);
  });
});

describe('Pooling', () => {
  const x = nd.array([[[[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]]]);
  test('values: max, avg with padding (count_include_pad), global, 1-D', () => {
    expect(nd.Pooling(x, { kernel: [2, 2], stride: [2, 2] }).toArray()).toEqual([[[[6, 8], [14, 16]]]]);
    close(nd.Pooling(x, { kernel: [2, 2], stride: 2, pad: 1, poolType: 'avg' }), [0.25, 1.25, 1, 3.5, 8.5, 5, 3.25, 7.25, 4]);
    close(nd.Pooling(x, { globalPool: true, poolType: 'avg' }), [8.5]);
    expect(nd.Pooling(nd.array([[[1, 3, 2, 5]]]), { kernel: 2, stride: 1 }).toArray()).toEqual([[[3, 3, 5]]]);
    expect(nd.Pooling(x, { kernel: [3, 3], stride: 2, poolingConvention: 'full' }).shape).toEqual([1, 1, 2, 2]);
  });
  test('sum pooling: window sums (padding adds zeros), 1-D and global, gradient and second order', () => {
    expect(nd.Pooling(x, { kernel: [2, 2], stride: 2, pad: 1, poolType: 'sum' }).toArray()).toEqual([[[[1, 5, 4], [14, 34, 20], [13, 29, 16]]]]);
    expect(nd.Pooling(x, { kernel: [3, 3], stride: 1, poolType: 'sum' }).toArray()).toEqual([[[[54, 63], [90, 99]]]]);
    expect(nd.Pooling(nd.array([[[1, 3, 2, 5]]]), { kernel: 2, stride: 1, poolType: 'sum' }).toArray()).toEqual([[[4, 5, 7]]]);
    expect(nd.Pooling(x, { globalPool: true, poolType: 'sum' }).toArray()).toEqual([[[[136]]]]);
    const v = rnd([2, 2, 5, 5]);
    check((a) => nd.Pooling(a, { kernel: [2, 3], stride: [1, 2], pad: [1, 1], poolType: 'sum' }).square(), [v]);
    check((a) => nd.Pooling(a, { globalPool: true, poolType: 'sum' }).square(), [v]);
    check2((a) => nd.Pooling(a, { kernel: [2, 2], poolType: 'sum' }).square().sum(), [v]);
  });
  test('gradients and second order', () => {
    const v = rnd([2, 2, 5, 5]);
    check((a) => nd.Pooling(a, { kernel: [3, 3], stride: 2, pad: 1 }).square(), [v]);
    check((a) => nd.Pooling(a, { kernel: [2, 3], stride: [1, 2], pad: [1, 1], poolType: 'avg' }).square(), [v]);
    check((a) => nd.Pooling(a, { kernel: [2, 2], poolType: 'avg', countIncludePad: false, pad: 1 }).square(), [v]);
    check((a) => nd.Pooling(a, { globalPool: true, poolType: 'max' }).square(), [v]);
    check2((a) => nd.Pooling(a, { kernel: [2, 2], stride: 2 }).square().sum(), [v]);
    check2((a) => nd.Pooling(a, { kernel: [2, 2], poolType: 'avg' }).square().sum(), [v]);
    // unclipped windows take whole-row loops: windows that tile x (gradient written, not added),
    // and windows with gaps between them (the gaps' gradient stays zero)
    check((a) => nd.Pooling(a, { kernel: [2, 3], stride: [2, 3], poolType: 'avg' }).square(), [rnd([2, 2, 4, 6])]);
    check((a) => nd.Pooling(a, { kernel: [2, 2], stride: 3, poolType: 'sum' }).square(), [v]);
    // 2x2 / 2 has its own loops: tiling x, and with a last row and column outside every window
    for (const poolType of ['avg', 'sum'] as const)
      for (const u of [rnd([2, 2, 4, 6]), v]) check((a) => nd.Pooling(a, { kernel: [2, 2], stride: 2, poolType }).square(), [u]);
  });
  test('float32 avg pooling rounds the window mean once', () => {
    // summed in float32, 1 + 2^-24 + 2^-24 would round to 1 twice
    const x = nd.array([[[[1, 2 ** -24, 3, 2], [2 ** -24, 0, 5, 7]]]]);
    expect(Array.from(nd.Pooling(x, { kernel: [2, 2], stride: 2, poolType: 'avg' }).toTypedArray())).toEqual([0.25 + 2 ** -25, 4.25]);
  });
  test('errors', () => {
    expect(code(() => nd.Pooling(nd.zeros([2, 3]), { kernel: [2] }))).toMatch(/^SHAPE_MISMATCH: Pooling: .*\(2,3\)/);
    expect(code(() => nd.Pooling(x, { kernel: [2, 2], poolType: 'lp' as any }))).toMatch(/^BAD_ARGUMENT/);
    expect(code(() => nd.Pooling(x, { kernel: [5, 5] }))).toMatch(/^SHAPE_MISMATCH/);
  });
  // pad < kernel is the only bound on a kernel, so kernel * kernel can pass int64 (it wrapped: avg gave the sum)
  test('avg pooling divides by the true window area when kernel * kernel passes int64', () => {
    const K = 4.5e15;
    const y = nd.Pooling(nd.ones([1, 1, 4, 4], { dtype: 'float64' }), { kernel: [K, K], pad: K - 1, stride: K, poolType: 'avg' });
    const got = (y.toArray() as number[][][][]).flat(3);
    [1, 3, 3, 9].forEach((n, i) => expect(got[i] / (n / (K * K))).toBeCloseTo(1, 12));
  });
  // a huge stride puts the last 'full' window past the padded data: its area is 0, not a product of
  // negative lengths (signed overflow, caught by the sanitizer run)
  test("a 'full' convention window past the padded data is empty and gives 0", () => {
    for (const poolType of ['max', 'avg', 'sum'] as const)
      for (const countIncludePad of [true, false])
        expect(
          nd.Pooling(nd.ones([1, 1, 4, 4]), { kernel: [2, 2], stride: 4.5e15, poolingConvention: 'full', poolType, countIncludePad }).toArray(),
        ).toEqual([[[[poolType === 'sum' ? 4 : 1, 0], [0, 0]]]]);
  });
});

describe('BatchNorm', () => {
  const setup = () => {
    return {
      x: nd.array([[1, 2, 3], [3, 6, 9]]),  // (N=2, C=3)
      gamma: nd.array([1, 2, 0.5]),
      beta: nd.array([0, 1, -1]),
      mm: nd.zeros([3]),
      mv: nd.ones([3]),
    };
  };
  test('training: batch statistics and in-place running update (also without backward)', () => {
    const { x, gamma, beta, mm, mv } = setup();
    const y = autograd.trainMode(() => nd.BatchNorm(x, gamma, beta, mm, mv, { eps: 0 }));
    close(y, [-1, -1, -1.5, 1, 3, -0.5]);
    close(mm, [0.2, 0.4, 0.6]);  // 0.9 * 0 + 0.1 * mean
    close(mv, [0.9 + 0.1 * 1, 0.9 + 0.1 * 4, 0.9 + 0.1 * 9]);  // biased batch variance (MXNet)
  });
  test('predict mode uses running stats and leaves them alone', () => {
    const { x, gamma, beta, mm, mv } = setup();
    const y = nd.BatchNorm(x, gamma, beta, mm, mv, { eps: 0 });  // default: predict
    close(y, [1, 5, 0.5, 3, 13, 3.5]);
    expect(mm.toArray()).toEqual([0, 0, 0]);
    expect(mv.toArray()).toEqual([1, 1, 1]);
    // record({trainMode:false}) + backward({trainMode:false}): gradients through the constants
    const xv = x.copy();
    xv.attachGrad();
    autograd.record(() => nd.BatchNorm(xv, gamma, beta, mm, mv, { eps: 0 }).sum(), { trainMode: false }).backward(undefined, { trainMode: false });
    close(xv.grad!, [1, 2, 0.5, 1, 2, 0.5]);
    expect(mm.toArray()).toEqual([0, 0, 0]);
    // useGlobalStats while training: no update either
    autograd.trainMode(() => nd.BatchNorm(x, gamma, beta, mm, mv, { useGlobalStats: true }));
    expect(mm.toArray()).toEqual([0, 0, 0]);
  });
  test('record() trains: statistics update once per forward', () => {
    const { x, gamma, beta, mm, mv } = setup();
    autograd.record(() => nd.BatchNorm(x, gamma, beta, mm, mv));
    close(mm, [0.2, 0.4, 0.6]);
    close(mv, [0.9 + 0.1 * 1, 0.9 + 0.1 * 4, 0.9 + 0.1 * 9]); // batch variances 1, 4, 9
  });
  test('gradients (train, fixGamma, axis, predict) and second order', () => {
    const ps = () => [rnd([3]), rnd([3]), nd.zeros([3]), nd.ones([3])];
    const bn = (o: object) => (x: NDArray, g: NDArray, b: NDArray, m: NDArray, v: NDArray) =>
      autograd.trainMode(() => nd.BatchNorm(x, g, b, m, v, o)).mul(nd.arange(0, x.size).reshape(x.shape).astype('float64'));
    check(bn({}), [rnd([4, 3, 2]), ...ps()]);
    check(bn({ axis: -1 }), [rnd([2, 2, 3]), ...ps()]);
    const gm = rnd([3]).astype('float64'), gv = nd.array([0.5, 1, 2], { dtype: 'float64' });
    check((x: NDArray, g: NDArray, b: NDArray) => bn({ useGlobalStats: true })(x, g, b, gm, gv), [rnd([4, 3]), rnd([3]), rnd([3])]);
    const pred = (x: NDArray, g: NDArray, b: NDArray) =>
      autograd.predictMode(() => nd.BatchNorm(x, g, b, nd.zeros([3], { dtype: 'float64' }), nd.ones([3], { dtype: 'float64' })).square());
    check(pred, [rnd([4, 3]), rnd([3]), rnd([3])]);
    // fixGamma: gamma treated as 1 and gets zero gradient
    const x = rnd([4, 3]), g = nd.array([5, 5, 5]);
    g.attachGrad();
    autograd.record(() => nd.BatchNorm(x, g, nd.zeros([3]), nd.zeros([3]), nd.ones([3]), { fixGamma: true }).square().sum()).backward();
    expect(g.grad!.toArray()).toEqual([0, 0, 0]);
    const m = nd.zeros([3], { dtype: 'float64' }), v = nd.ones([3], { dtype: 'float64' });
    check2((x: NDArray, g: NDArray) => autograd.trainMode(() => nd.BatchNorm(x, g, nd.zeros([3], { dtype: 'float64' }), m, v)).square().mul(x).sum(), [rnd([4, 3]), rnd([3])]);
  });
  test('training on a batch with no values per channel is BAD_ARGUMENT and leaves the running statistics unchanged (PyTorch)', () => {
    const { gamma, beta, mm, mv } = setup();
    for (const x of [nd.zeros([0, 3]), nd.zeros([2, 3, 0])]) {
      expect(code(() => autograd.trainMode(() => nd.BatchNorm(x, gamma, beta, mm, mv)))).toMatch(
        /^BAD_ARGUMENT: BatchNorm: training needs at least one value per channel, got data \((0,3|2,3,0)\)/,
      );
      expect(code(() => autograd.record(() => nd.BatchNorm(x, gamma, beta, mm, mv)))).toMatch(/^BAD_ARGUMENT: BatchNorm/);
    }
    expect(mm.toArray()).toEqual([0, 0, 0]);
    expect(mv.toArray()).toEqual([1, 1, 1]);
  });
  test('an empty batch in predict mode (or with useGlobalStats) gives an empty result and zero parameter gradients', () => {
    const { gamma, beta, mm, mv } = setup();
    const x = nd.zeros([0, 3]);
    gamma.attachGrad();
    beta.attachGrad();
    autograd.record(() => nd.BatchNorm(x, gamma, beta, mm, mv, { useGlobalStats: true }).sum()).backward();
    expect(gamma.grad!.toArray()).toEqual([0, 0, 0]);
    expect(beta.grad!.toArray()).toEqual([0, 0, 0]);
    expect(nd.BatchNorm(x, gamma, beta, mm, mv).shape).toEqual([0, 3]);
    expect(mm.toArray()).toEqual([0, 0, 0]);
    expect(mv.toArray()).toEqual([1, 1, 1]);
  });
  test('errors', () => {
    const { x, gamma, beta, mm } = setup();
    expect(code(() => nd.BatchNorm(x, gamma, beta, mm, nd.ones([2])))).toMatch(/^SHAPE_MISMATCH: BatchNorm: movingVar \(2\) must have shape \(3\) for data \(2,3\)/);
    expect(code(() => nd.BatchNorm(x, gamma, beta, mm, mm, { momentum: 2 }))).toMatch(/^BAD_ARGUMENT/);
    expect(code(() => nd.BatchNorm(x, gamma, beta, mm, mm, { axis: 2 }))).toMatch(/^BAD_AXIS/);
  });
});

describe('LayerNorm', () => {
  test('values, gradients, second order, errors', () => {
    const y = nd.LayerNorm(nd.array([[1, 2, 3], [2, 2, 2]]), nd.ones([3]), nd.zeros([3]), { eps: 0 });
    const s = Math.sqrt(2 / 3);
    close(y.slice([0], [1]), [-1 / s, 0, 1 / s]);
    check((x, g, b) => nd.LayerNorm(x, g, b).mul(nd.arange(0, 12).reshape([2, 2, 3]).astype('float64')), [rnd([2, 2, 3]), rnd([3]), rnd([3])]);
    check((x, g, b) => nd.LayerNorm(x, g, b, { axis: 1 }).square(), [rnd([2, 3, 2]), rnd([3]), rnd([3])]);
    check2((x, g) => nd.LayerNorm(x, g, nd.zeros([3], { dtype: 'float64' })).square().mul(x).sum(), [rnd([2, 3]), rnd([3])]);
    expect(code(() => nd.LayerNorm(nd.zeros([2, 3]), nd.ones([2]), nd.zeros([3])))).toMatch(/^SHAPE_MISMATCH: LayerNorm: gamma \(2\)/);
  });
});

describe('LayerNorm on empty arrays (PyTorch)', () => {
  test('an empty batch gives an empty result; gamma and beta get zero gradients', () => {
    const x = nd.zeros([0, 3]), g = nd.ones([3]), b = nd.zeros([3]);
    g.attachGrad();
    b.attachGrad();
    expect(nd.LayerNorm(x, g, b).shape).toEqual([0, 3]);
    autograd.record(() => nd.LayerNorm(x, g, b).sum()).backward();
    expect(g.grad!.toArray()).toEqual([0, 0, 0]);
    expect(b.grad!.toArray()).toEqual([0, 0, 0]);
  });
  test('normalising over an empty axis gives an empty result and an empty gradient', () => {
    const x = nd.ones([4, 0]);
    x.attachGrad();
    expect(nd.LayerNorm(x, nd.ones([0]), nd.zeros([0])).shape).toEqual([4, 0]);
    autograd.record(() => nd.LayerNorm(x, nd.ones([0]), nd.zeros([0])).sum()).backward();
    expect(x.grad!.shape).toEqual([4, 0]);
  });
});

describe('Embedding', () => {
  test('values, gradient with repeated indices, errors', () => {
    const w = nd.array([[1, 2], [3, 4], [5, 6]]);
    expect(nd.Embedding(nd.array([[2, 0]]), w, { inputDim: 3, outputDim: 2 }).toArray()).toEqual([[[5, 6], [1, 2]]]);
    const idx = nd.array([1, 1, 0], { dtype: 'int32' });
    check((ww) => nd.Embedding(idx, ww).mul(nd.arange(0, 6).reshape([3, 2]).astype('float64')), [rnd([3, 2])]);
    check2((ww) => nd.Embedding(idx, ww).square().sum(), [rnd([3, 2])]);
    expect(code(() => nd.Embedding(nd.array([3]), w).toArray())).toMatch(/^OUT_OF_RANGE: Embedding: index 3 .*\(3,2\)/);
    expect(code(() => nd.Embedding(nd.array([-1]), w).toArray())).toMatch(/^OUT_OF_RANGE/);
    expect(code(() => nd.Embedding(nd.array([0]), w, { inputDim: 4 }))).toMatch(/^SHAPE_MISMATCH/);
  });
});

describe('Dropout', () => {
  test('Dropout: inverted scaling, shared mask along axes, seeded, predict mode identity', () => {
    nd.tidy(() => {
      const x = nd.ones([200, 10]);
      const y = autograd.trainMode(() => nd.Dropout(x, { p: 0.25 }));
      const vals = arr(y);
      expect(new Set(vals.map((v) => Math.fround(v)))).toEqual(new Set([0, Math.fround(1 / 0.75)]));
      const kept = vals.filter((v) => v !== 0).length / vals.length;
      expect(kept).toBeGreaterThan(0.65);
      expect(kept).toBeLessThan(0.85);
      const s = autograd.trainMode(() => nd.Dropout(x, { p: 0.5, axes: [1] }));
      for (const row of s.toArray() as number[][]) expect(new Set(row).size).toBe(1);
      nd.random.seed(3);
      const a = autograd.trainMode(() => nd.Dropout(x, { p: 0.5 }));
      nd.random.seed(3);
      const b = autograd.trainMode(() => nd.Dropout(x, { p: 0.5 }));
      expect(arr(a)).toEqual(arr(b));
      expect(arr(autograd.trainMode(() => nd.Dropout(x, { p: 0 })))).toEqual(arr(x));
      expect(arr(nd.Dropout(x))).toEqual(arr(x));
      expect(codeOf(() => nd.Dropout(x, { p: 1 }))).toBe('BAD_ARGUMENT');
      expect(codeOf(() => nd.Dropout(x, { axes: [2] }))).toBe('BAD_AXIS');
      // the mask is decided at forward: backward in predict mode still applies it
      const v = nd.ones([50]);
      v.attachGrad();
      const d = autograd.record(() => nd.Dropout(v, { p: 0.5 }));
      d.backward(null, { trainMode: false });
      expect(arr(v.grad!)).toEqual(arr(d));
      // second order through Dropout: zeros, not an error
      const d2 = autograd.record(() => nd.Dropout(v.mul(v), { p: 0.5 }));
      const [g1] = autograd.grad(d2, v, null, { createGraph: true });
      const [g2] = autograd.grad(g1, v);
      const mask = arr(d2).map((t) => t / 1); // v = 1, so d2 = mask
      expect(arr(g2)).toEqual(mask.map((m) => 2 * m));
    });
  });
});

describe('FullyConnected', () => {
  test('FullyConnected: values, flatten, noBias, validation messages', () => {
    nd.tidy(() => {
      const x = nd.array([
        [1, 2, 3, 4],
        [5, 6, 7, 8],
      ]);
      const w = nd.array([
        [1, 0, 0, 0],
        [0, 1, 0, 1],
        [1, 1, 1, 1],
      ]);
      const b = nd.array([1, 2, 3]);
      expect(nd.FullyConnected(x, w, b, { numHidden: 3 }).toArray()).toEqual([
        [2, 8, 13],
        [6, 16, 29],
      ]);
      expect(nd.FullyConnected(x, w, { numHidden: 3, noBias: true }).toArray()).toEqual([
        [1, 6, 10],
        [5, 14, 26],
      ]);
      expect(nd.FullyConnected(x, w).toArray()).toEqual([
        [1, 6, 10],
        [5, 14, 26],
      ]);
      const x3 = x.reshape([2, 2, 2]);
      expect(nd.FullyConnected(x3, w, b).shape).toEqual([2, 3]);
      const wl = nd.ones([3, 2]);
      const nf = nd.FullyConnected(x3, wl, b, { flatten: false });
      expect(nf.shape).toEqual([2, 2, 3]);
      expect((nf.toArray() as number[][][])[1][0]).toEqual([12, 13, 14]);
      let e = errorOf(() => nd.FullyConnected(x, nd.ones([8, 3]), nd.zeros([8])));
      expect(e.code).toBe('SHAPE_MISMATCH');
      expect(e.message).toBe('FullyConnected: weight (8,3) expects 3 input features, got 4 in data (2,4)');
      e = errorOf(() => nd.FullyConnected(x, w, nd.zeros([4])));
      expect(e.code).toBe('SHAPE_MISMATCH');
      expect(e.message).toContain('bias');
      expect(codeOf(() => nd.FullyConnected(x, w, b, { numHidden: 5 }))).toBe('SHAPE_MISMATCH');
      expect(codeOf(() => nd.FullyConnected(x, nd.ones([3]), b))).toBe('SHAPE_MISMATCH');
      expect(codeOf(() => nd.FullyConnected(x, w, b, { noBias: true }))).toBe('BAD_ARGUMENT');
      expect(codeOf(() => nd.FullyConnected(x, w.astype('float64'), b))).toBe('DTYPE_MISMATCH');
    });
  });
});

test('no leaks across a tidy loop of NN ops', () => {
  const x = rnd([2, 3, 6, 6]), w = rnd([4, 3, 3, 3]);
  const before = nd.memory();
  for (let i = 0; i < 20; i++)
    nd.tidy(() => {
      const xv = x.copy();
      xv.attachGrad();
      autograd.record(() => nd.Pooling(nd.Convolution(xv, w, { kernel: [3, 3], pad: 1 }), { kernel: [2, 2], stride: 2 }).sum()).backward();
      xv.dropGrad();
    });
  const after = nd.memory();
  expect(after.numArrays).toBe(before.numArrays);
  expect(after.numBytes).toBe(before.numBytes);
});
