// The benchmarks' result checks (bench/lib/reference.js): every worker checks its workload once
// against these float64 references before timing it, so that a wrong fast kernel posts "wrong result"
// instead of a figure. These tests hold the checks to both sides: ndgrad's real results pass, and a
// result wrong by a little more than float32 rounding can explain is refused.
import { autograd, nd, NDArray } from '../lib';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ref = require('../bench/lib/reference.js');

const f64 = (a: NDArray) => Float64Array.from(a.toTypedArray());

beforeAll(() => nd.random.seed(5));

// The bound is the worst case of a float32 sum of n products, (n + 2)·u·sum|a·b| (0.016 here for
// entries of size ~10), so it refuses what a wrong kernel gives (a product term lost or doubled, a
// wrong tile), not a last-bit difference.
test('matrix product check: ndgrad passes at n = 1024 (past every blocking size), a sampled entry off by a fifth of one product term is refused', () => {
  nd.tidy(() => {
    const n = 1024;
    const a = nd.random.uniform(-1, 1, [n, n]);
    const b = nd.random.uniform(-1, 1, [n, n]);
    const c = nd.dot(a, b).toTypedArray() as Float32Array;
    const A = a.toTypedArray(), B = b.toTypedArray();
    expect(ref.checkMatmul(A, B, c, n)).toBe('');
    const bad = Float32Array.from(c);
    bad[13] += 0.05; // entry (0, 13) is the first sampled one; a product term is ~0.25 on average
    expect(ref.checkMatmul(A, B, bad, n)).toMatch(/^matmul n=1024: element 0 /);
  });
});

test('elementwise check: add must be exact, exp within 8 ulps', () => {
  nd.tidy(() => {
    const a = nd.random.uniform(-5, 5, [100000]);
    const b = nd.random.uniform(-5, 5, [100000]);
    const s = nd.add(a, b).toTypedArray();
    const e = nd.exp(a).toTypedArray();
    expect(ref.checkElementwise('add', a.toTypedArray(), b.toTypedArray(), s)).toBe('');
    expect(ref.checkElementwise('exp', a.toTypedArray(), b.toTypedArray(), e)).toBe('');
    const s2 = Float32Array.from(s);
    s2[777] = Math.fround(s2[777] * (1 + 2 ** -22)); // one ulp or two off
    expect(ref.checkElementwise('add', a.toTypedArray(), b.toTypedArray(), s2)).toMatch(/^add: element 777 /);
    const e2 = Float32Array.from(e);
    e2[5] *= 1 + 2 ** -19; // 16 ulps
    expect(ref.checkElementwise('exp', a.toTypedArray(), b.toTypedArray(), e2)).toMatch(/^exp: element 5 /);
  });
});

test('FullyConnected check: batch 1 (GEMV) and batch 3 pass, a bias left out is refused', () => {
  nd.tidy(() => {
    for (const m of [1, 3]) {
      const x = nd.random.uniform(-1, 1, [m, 784]);
      const w = nd.random.uniform(-0.05, 0.05, [512, 784]);
      const b = nd.random.uniform(-1, 1, [512]);
      const y = nd.FullyConnected(x, w, b, { numHidden: 512 }).toTypedArray();
      expect(ref.checkFullyConnected(x.toTypedArray(), w.toTypedArray(), b.toTypedArray(), y, m, 784, 512)).toBe('');
      const noBias = nd.FullyConnected(x, w, { numHidden: 512, noBias: true }).toTypedArray();
      expect(ref.checkFullyConnected(x.toTypedArray(), w.toTypedArray(), b.toTypedArray(), noBias, m, 784, 512)).toMatch(/^FullyConnected 784->512: element /);
    }
  });
});

/** The benchmark's MLP step (loss and every gradient) at a small batch. */
function mlpGot(batch: number) {
  const x = nd.random.uniform(0, 1, [batch, 784]);
  const labels = Array.from({ length: batch }, (_, i) => (i * 7 + 3) % 10);
  const sizes = [[512, 784], [512, 512], [10, 512]];
  const ws = sizes.map(([o, i]) => nd.random.normal(0, Math.sqrt(2 / i), [o, i]));
  const bs = sizes.map(([o]) => nd.random.uniform(-0.1, 0.1, [o]));
  for (const p of [...ws, ...bs]) p.attachGrad();
  const l = autograd.record(() => {
    let h = nd.relu(nd.FullyConnected(x, ws[0], bs[0], { numHidden: 512 }));
    h = nd.relu(nd.FullyConnected(h, ws[1], bs[1], { numHidden: 512 }));
    return nd.softmaxCrossEntropy(nd.FullyConnected(h, ws[2], bs[2], { numHidden: 10 }), nd.array(labels));
  });
  l.backward();
  const got = { loss: l.item(), grads: {} as Record<string, Float32Array> };
  ws.forEach((w, i) => (got.grads[`w${i}`] = w.grad!.toTypedArray() as Float32Array));
  bs.forEach((b, i) => (got.grads[`b${i}`] = b.grad!.toTypedArray() as Float32Array));
  const want = ref.mlpStep(f64(x), ws.map(f64), bs.map(f64), labels, batch);
  return { got, want };
}

test('training-step check (MLP): ndgrad passes, a gradient off by 1e-3 relative is refused', () => {
  nd.tidy(() => {
    const { got, want } = mlpGot(4);
    expect(ref.checkStep('MLP step', got, want)).toBe('');
    const w1 = Float32Array.from(got.grads.w1).map((v) => v * (1 + 1e-3));
    expect(ref.checkStep('MLP step', { ...got, grads: { ...got.grads, w1 } }, want)).toMatch(/^MLP step: gradient of w1 off by/);
    expect(ref.checkStep('MLP step', { ...got, loss: got.loss * (1 + 1e-3) }, want)).toMatch(/^MLP step: loss /);
  });
});

test('training-step check (CNN): ndgrad passes, a dropped bias gradient is refused', () => {
  nd.tidy(() => {
    const batch = 2;
    const x = nd.random.uniform(0, 1, [batch, 1, 28, 28]);
    const labels = Array.from({ length: batch }, (_, i) => (i * 7 + 3) % 10);
    const P: Record<string, NDArray> = {
      w1: nd.random.normal(0, Math.sqrt(2 / 9), [32, 1, 3, 3]), b1: nd.random.uniform(-0.1, 0.1, [32]),
      w2: nd.random.normal(0, Math.sqrt(2 / 288), [64, 32, 3, 3]), b2: nd.random.uniform(-0.1, 0.1, [64]),
      w3: nd.random.normal(0, Math.sqrt(2 / 1600), [10, 1600]), b3: nd.random.uniform(-0.1, 0.1, [10]),
    };
    for (const p of Object.values(P)) p.attachGrad();
    const pool = { kernel: [2, 2], stride: [2, 2], poolType: 'max' as const };
    const l = autograd.record(() => {
      let h = nd.Pooling(nd.relu(nd.Convolution(x, P.w1, P.b1, { kernel: [3, 3], numFilter: 32 })), pool);
      h = nd.Pooling(nd.relu(nd.Convolution(h, P.w2, P.b2, { kernel: [3, 3], numFilter: 64 })), pool);
      return nd.softmaxCrossEntropy(nd.FullyConnected(h, P.w3, P.b3, { numHidden: 10 }), nd.array(labels));
    });
    l.backward();
    const got = { loss: l.item(), grads: Object.fromEntries(Object.entries(P).map(([k, v]) => [k, v.grad!.toTypedArray()])) };
    const want = ref.cnnStep(f64(x), Object.fromEntries(Object.entries(P).map(([k, v]) => [k, f64(v)])), labels, batch);
    expect(ref.checkStep('CNN step', got, want)).toBe('');
    const b2 = new Float32Array(64);
    expect(ref.checkStep('CNN step', { ...got, grads: { ...got.grads, b2 } }, want)).toMatch(/^CNN step: gradient of b2 off by/);
  });
});

test('convolution check (bench/conv-layers.js): ndgrad\'s forward and both gradients pass, a sampled element off by a fifth of a product term is refused', () => {
  nd.tidy(() => {
    const xs = [3, 8, 9, 7], ws = [20, 8, 3, 2], a = { kernel: [3, 2], num_filter: 20, no_bias: true };
    const x = nd.random.uniform(-1, 1, xs), w = nd.random.uniform(-1, 1, ws), b = nd.random.uniform(-1, 1, [20]);
    const y = nd.Convolution(x, w, b, { kernel: [3, 2], numFilter: 20 });
    const dy = nd.random.uniform(-1, 1, y.shape);
    const ins = [x, w, b, dy].map((t) => t.toTypedArray());
    // the gradient ops are reached by name, as the benchmark does
    const { invoke } = require('../lib/dispatch'); // eslint-disable-line @typescript-eslint/no-require-imports
    const outs: Record<string, NDArray> = {
      none: y,
      data: invoke('_conv_data_grad', [dy, w], { ...a, x_shape: xs }),
      weight: invoke('_conv_weight_grad', [x, dy], { ...a, w_shape: ws }),
    };
    for (const [grad, r] of Object.entries(outs)) {
      const got = r.toTypedArray() as Float32Array;
      expect(ref.checkConvSamples(grad, ins, got, xs, ws)).toBe('');
      const bad = Float32Array.from(got);
      bad[0] += 0.05; // element 0 is the first sampled one
      expect(ref.checkConvSamples(grad, ins, bad, xs, ws)).toMatch(new RegExp(`^convolution \\(${grad}\\): element 0 `));
    }
  });
});
