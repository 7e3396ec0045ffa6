'use strict';
// ndgrad side of the benchmarks (a worker process; threads come from NDGRAD_NUM_THREADS).
const { nd, autograd, gluon, init, optimizer } = require('../../dist');
const harness = require('./harness');
const { serve } = harness;

// Timed the MXNet way: queued work is waited for before the clock is read (ENGINE.md), every few
// iterations (up to 16, or NDGRAD_BENCH_SYNC_EVERY: 1 is a training loop that reads its loss every step).
const syncEvery = Math.max(1, Number(process.env.NDGRAD_BENCH_SYNC_EVERY) || 16);
const measure = (fn, opts = {}) => harness.measure(fn, { syncEvery, ...opts, sync: () => nd.waitAll() });
const ref = require('./reference');
const { invoke } = require('../../dist/dispatch'); // the gradient ops by name (convLayer)

nd.random.seed(42);

function need(...names) {
  const missing = names.filter((n) => typeof nd[n] !== 'function');
  return missing.length ? { ok: false, skipped: `op ${missing.join(', ')} not available` } : null;
}

const done = (m, value, extra) => ({ ok: true, value, seconds: m.seconds, iters: m.iters, extra });
// A result that disagrees with the float64 reference is reported instead of a figure.
const wrong = (msg) => ({ ok: false, error: `wrong result (checked before timing): ${msg}` });
const f64 = (a) => Float64Array.from(a.toTypedArray());

function oneHot(labels, k) {
  const data = new Float32Array(labels.length * k);
  labels.forEach((l, i) => { data[i * k + l] = 1; });
  return nd.array(data).reshape([labels.length, k]);
}

// Summed softmax cross-entropy with the best formulation the library has: the fused op, logSoftmax +
// pick, or (with existing ops only) a max-shifted log-sum-exp minus the picked logit via a one-hot mask.
function lossFn(labelsIdx, labelsOneHot) {
  if (typeof nd.softmaxCrossEntropy === 'function') return { name: 'softmaxCrossEntropy', f: (z) => nd.softmaxCrossEntropy(z, labelsIdx) };
  if (typeof nd.logSoftmax === 'function' && typeof nd.pick === 'function')
    return { name: 'logSoftmax+pick', f: (z) => nd.negative(nd.sum(nd.pick(nd.logSoftmax(z), labelsIdx))) };
  return {
    name: 'log-sum-exp - sum(z*onehot)',
    f: (z) => {
      const s = z.sub(nd.max(z.detach(), { axis: 1, keepdims: true }));
      return nd.sum(nd.log(nd.sum(nd.exp(s), { axis: 1 }))).sub(nd.sum(s.mul(labelsOneHot)));
    },
  };
}

function labelsFor(batch, k) {
  const idx = [];
  for (let i = 0; i < batch; i++) idx.push((i * 7 + 3) % k);
  return { idx: nd.array(idx), oneHot: oneHot(idx, k) };
}

const param = (shape, scale) => {
  const p = nd.random.normal(0, scale, shape);
  p.attachGrad();
  return nd.keep(p);
};

const handlers = {
  info: () => ({ ok: true, backend: nd.backend(), memory: nd.memory() }),

  // n alone: n x n square; else C (m x n) = op(A) op(B) over depth k, ta / tb as nd.dot's transposes.
  // dtype 'bfloat16': bfloat16 operands and result, float32 sums (the result rounded once)
  matmul: ({ n, m = n, k = n, ta = false, tb = false, quick, dtype = 'float32' }) => {
    const operand = (shape) => {
      const x = nd.random.uniform(-1, 1, shape);
      if (dtype === 'float32') return x;
      const y = x.astype(dtype);
      x.dispose();
      return y;
    };
    const a = operand(ta ? [k, m] : [m, k]);
    const b = operand(tb ? [n, k] : [k, n]);
    const c = nd.zeros([m, n], { dtype });
    const o = { transposeA: ta, transposeB: tb, out: c };
    nd.dot(a, b, o);
    const resultU = dtype === 'bfloat16' ? 2 ** -8 : 0;
    const bad = ref.checkProduct(a.toTypedArray(), b.toTypedArray(), c.toTypedArray(), { m, n, k, ta, tb }, 256, undefined, resultU);
    if (bad) return nd.dispose([a, b, c]), wrong(bad);
    const t = measure(() => nd.dot(a, b, o), { quick });
    nd.dispose([a, b, c]);
    return done(t, (2 * m * n * k) / t.perIter / 1e9);
  },

  elementwise: ({ op, n, alloc, quick }) => {
    const a = nd.random.uniform(-1, 1, [n]);
    const b = nd.random.uniform(-1, 1, [n]);
    const c = nd.zeros([n]);
    const fns = {
      add: alloc ? () => nd.add(a, b).dispose() : () => nd.add(a, b, { out: c }),
      exp: alloc ? () => nd.exp(a).dispose() : () => nd.exp(a, { out: c }),
    };
    const r = op === 'add' ? nd.add(a, b) : nd.exp(a);
    const bad = ref.checkElementwise(op, a.toTypedArray(), b.toTypedArray(), r.toTypedArray());
    r.dispose();
    if (bad) return nd.dispose([a, b, c]), wrong(bad);
    const m = measure(fns[op], { quick });
    nd.dispose([a, b, c]);
    return done(m, (m.perIter * 1e9) / n);
  },

  mlp: ({ batch, quick, steps }) => {
    const miss = need('FullyConnected');
    if (miss) return miss;
    const before = nd.memory();
    const x = nd.random.uniform(0, 1, [batch, 784]);
    const { idx, oneHot: oh } = labelsFor(batch, 10);
    const loss = lossFn(idx, oh);
    const sizes = [[512, 784], [512, 512], [10, 512]];
    const ws = sizes.map(([o, i]) => param([o, i], Math.sqrt(2 / i)));
    const bs = sizes.map(([o]) => param([o], 0));
    const params = [...ws, ...bs];
    const lr = 0.01 / batch;
    let count = 0;
    const step = () => {
      count++;
      nd.tidy(() => {
        const l = autograd.record(() => {
          // FullyConnected + relu as one op (what Gluon's Dense with activation 'relu' records)
          let h = nd.FullyConnected(x, ws[0], bs[0], { numHidden: 512, act: 'relu' });
          h = nd.FullyConnected(h, ws[1], bs[1], { numHidden: 512, act: 'relu' });
          const z = nd.FullyConnected(h, ws[2], bs[2], { numHidden: 10 });
          return loss.f(z);
        });
        l.backward();
      });
      // w -= lr * g in one fused pass per parameter, as torch's p.sub_(p.grad, alpha=lr)
      nd.tidy(() => { for (const p of params) nd.multiSgdUpdate([p, p.grad], { lrs: [lr], wds: [0] }); });
    };
    // one recorded step without the update, against the float64 reference
    const got = { grads: {} };
    nd.tidy(() => {
      const l = autograd.record(() => {
        let h = nd.FullyConnected(x, ws[0], bs[0], { numHidden: 512, act: 'relu' });
        h = nd.FullyConnected(h, ws[1], bs[1], { numHidden: 512, act: 'relu' });
        return loss.f(nd.FullyConnected(h, ws[2], bs[2], { numHidden: 10 }));
      });
      l.backward();
      got.loss = l.item();
      ws.forEach((w, i) => { got.grads[`w${i}`] = w.grad.toTypedArray(); });
      bs.forEach((b, i) => { got.grads[`b${i}`] = b.grad.toTypedArray(); });
    });
    const want = ref.mlpStep(f64(x), ws.map(f64), bs.map(f64), Array.from(idx.toTypedArray()), batch);
    const bad = ref.checkStep('MLP step', got, want);
    if (bad) return nd.dispose([x, idx, oh, ...params]), wrong(bad);
    step();
    const afterWarm = nd.memory();
    count = 0;
    const m = measure(step, { quick, minIters: steps || 10 });
    const afterSteps = nd.memory();
    nd.dispose([x, idx, oh, ...params]);
    return done(m, m.perIter * 1e3, { loss: loss.name, steps: count, before, afterWarm, afterSteps });
  },

  // dtype 'bfloat16': input and parameters in bfloat16 (every op in float32, rounded; the dense layer
  // on the bfloat16 GEMM), checked against the float64 step of the same bfloat16 values within 2^-3
  cnn: ({ batch, quick, dtype = 'float32' }) => {
    const miss = need('Convolution', 'Pooling', 'FullyConnected');
    if (miss) return miss;
    // a bfloat16 copy replaces the float32 array
    const cast = (a) => {
      if (dtype === 'float32') return a;
      const c = nd.keep(nd.tidy(() => a.astype(dtype)));
      a.dispose();
      return c;
    };
    const x = cast(nd.random.uniform(0, 1, [batch, 1, 28, 28]));
    const { idx, oneHot: oh } = labelsFor(batch, 10);
    const loss = lossFn(idx, oh);
    const { w1, b1, w2, b2, w3, b3 } = Object.fromEntries(ref.CNN_PARAMS.map(([k, shape, scale]) => {
      const p = cast(param(shape, scale));
      if (dtype !== 'float32') p.attachGrad();
      return [k, p];
    }));
    const pool = { kernel: [2, 2], stride: [2, 2], poolType: 'max' };
    const forward = () =>
      autograd.record(() => {
        // conv + relu as one op (what Gluon's Conv2D with activation 'relu' records)
        let h = nd.Convolution(x, w1, b1, { kernel: [3, 3], numFilter: 32, act: 'relu' });
        h = nd.Pooling(h, pool);
        h = nd.Convolution(h, w2, b2, { kernel: [3, 3], numFilter: 64, act: 'relu' });
        h = nd.Pooling(h, pool);
        return loss.f(nd.FullyConnected(h, w3, b3, { numHidden: 10 }));
      });
    const step = () => nd.tidy(() => forward().backward());
    // one step against the float64 reference
    const got = { grads: {} };
    nd.tidy(() => {
      const l = forward();
      l.backward();
      got.loss = l.item();
      for (const [k, v] of Object.entries({ w1, b1, w2, b2, w3, b3 })) got.grads[k] = v.grad.toTypedArray();
    });
    const P = { w1: f64(w1), b1: f64(b1), w2: f64(w2), b2: f64(b2), w3: f64(w3), b3: f64(b3) };
    const rtol = dtype === 'float32' ? undefined : 2 ** -3; // 8-bit significands rounded at every op: a wrong kernel is off by O(1)
    const bad = ref.checkStep('CNN step', got, ref.cnnStep(f64(x), P, Array.from(idx.toTypedArray()), batch), rtol);
    if (bad) return nd.dispose([x, idx, oh, w1, b1, w2, b2, w3, b3]), wrong(bad);
    const m = measure(step, { quick, minIters: 5 });
    nd.dispose([x, idx, oh, w1, b1, w2, b2, w3, b3]);
    return done(m, m.perIter * 1e3, { loss: loss.name });
  },

  // One convolution of the CNN step alone (bench/conv-layers.js): forward with bias, or the data
  // or weight gradient op (`grad`: 'none' | 'data' | 'weight'), ms per call. Checked first at 64
  // sampled elements against float64 sums over the same float32 inputs.
  convLayer: ({ x: xs, w: ws, grad, quick, dtype = 'float32' }) => {
    const u = (shape) => nd.keep(nd.tidy(() => nd.random.uniform(-1, 1, shape).astype(dtype)));
    const x = u(xs), w = u(ws), b = u([ws[0]]);
    const k = ws.slice(2), o = { kernel: k, numFilter: ws[0] };
    const dy = u(nd.tidy(() => nd.Convolution(x, w, b, o).shape));
    const a = { kernel: k, num_filter: ws[0], no_bias: true };
    const run = {
      none: () => nd.Convolution(x, w, b, o),
      data: () => invoke('_conv_data_grad', [dy, w], { ...a, x_shape: xs }),
      weight: () => invoke('_conv_weight_grad', [x, dy], { ...a, w_shape: ws }),
    }[grad];
    const r = run();
    const f32 = (t) => nd.tidy(() => t.astype('float32').toTypedArray());
    const bad = ref.checkConvSamples(grad, [x, w, b, dy].map(f32), f32(r), xs, ws, dtype === 'float32' ? 0 : 2 ** -8);
    r.dispose();
    if (bad) return nd.dispose([x, w, b, dy]), wrong(bad);
    const m = measure(() => run().dispose(), { quick });
    nd.dispose([x, w, b, dy]);
    return done(m, m.perIter * 1e3);
  },

  // FullyConnected 784 -> 512 on one row (µs per forward)
  fc: ({ batch, quick }) => {
    const x = nd.random.uniform(-1, 1, [batch, 784]);
    const w = nd.random.uniform(-0.05, 0.05, [512, 784]);
    const b = nd.random.uniform(-1, 1, [512]);
    const y = nd.FullyConnected(x, w, b, { numHidden: 512 });
    const bad = ref.checkFullyConnected(x.toTypedArray(), w.toTypedArray(), b.toTypedArray(), y.toTypedArray(), batch, 784, 512);
    y.dispose();
    if (bad) return nd.dispose([x, w, b]), wrong(bad);
    const m = measure(() => nd.FullyConnected(x, w, b, { numHidden: 512 }).dispose(), { quick });
    nd.dispose([x, w, b]);
    return done(m, m.perIter * 1e6);
  },

  // nd.add on one-element arrays, result disposed each time (µs per op)
  tiny: ({ quick }) => {
    const a = nd.array([1]);
    const b = nd.array([2]);
    const r = nd.add(a, b);
    const v = r.item();
    r.dispose();
    if (v !== 3) return nd.dispose([a, b]), wrong(`1 + 2 gave ${v}`);
    const m = measure(() => { for (let i = 0; i < 1000; i++) nd.add(a, b).dispose(); }, { quick });
    nd.dispose([a, b]);
    return done(m, m.perIter * 1e6 / 1000);
  },

  // A chain of 1000 recorded ops on float32[4] (sin, y * x, y * 0.999): µs per recorded op (phase
  // 'record') or per op of its backward (phase 'backward').
  autograd: ({ kind, phase, quick }) => {
    const CHAIN = 1000;
    const x = nd.array([0.5, 0.25, 0.125, 1]);
    x.attachGrad();
    const chain = () => {
      let y = x;
      if (kind === 'sin') for (let i = 0; i < CHAIN; i++) y = nd.sin(y);
      else if (kind === 'mul') for (let i = 0; i < CHAIN; i++) y = y.mul(x);
      else for (let i = 0; i < CHAIN; i++) y = y.mul(0.999);
      return y;
    };
    const graph = () => autograd.record(chain);
    // check the gradient of sum(y) once, against float64 (1e-4: 1000 float32 roundings)
    nd.tidy(() => graph().backward());
    const g = x.grad.toTypedArray();
    const xs = [0.5, 0.25, 0.125, 1];
    const want = xs.map((v) => {
      if (kind === 'mul') return (CHAIN + 1) * v ** CHAIN;
      if (kind === 'scalar') return 0.999 ** CHAIN;
      let y = v, d = 1;
      for (let i = 0; i < CHAIN; i++) { d *= Math.cos(y); y = Math.sin(y); }
      return d;
    });
    for (let i = 0; i < 4; i++)
      if (!(Math.abs(g[i] - want[i]) <= 1e-4 * Math.abs(want[i]) + 1e-30)) {
        nd.dispose([x.grad, x]);
        return wrong(`${kind} chain: d sum(y)/dx[${i}] = ${g[i]}, reference ${want[i]}`);
      }
    let m;
    // The chain's result is dropped inside the tidy (returning it would keep it and its graph alive
    // until the GC backstop): freeing the unused graph is part of the cost, as for torch.
    if (phase === 'record') m = measure(() => nd.tidy(() => { graph(); }), { quick });
    else {
      // backward alone: the graph is rebuilt outside the timed part
      let t = 0, n = 0;
      m = measure(() => nd.tidy(() => {
        const y = graph();
        const t0 = process.hrtime.bigint();
        y.backward();
        t += Number(process.hrtime.bigint() - t0) / 1e9;
        n++;
      }), { quick });
      m = { ...m, perIter: t / n };
    }
    nd.dispose([x.grad, x]);
    return done(m, m.perIter * 1e6 / CHAIN);
  },
};

// ---- Gluon (bench/gluon.js) ----

// The book's LeNet (d2l.ai 6.6, MXNet edition): sigmoid convolutions, average pooling, three dense layers.
function lenet() {
  const { nn } = gluon;
  const net = new nn.Sequential();
  net.add(new nn.Conv2D(6, 5, { padding: 2, activation: 'sigmoid' }), new nn.AvgPool2D(2, { strides: 2 }),
    new nn.Conv2D(16, 5, { activation: 'sigmoid' }), new nn.AvgPool2D(2, { strides: 2 }),
    new nn.Dense(120, { activation: 'sigmoid' }), new nn.Dense(84, { activation: 'sigmoid' }), new nn.Dense(10));
  return net;
}

// One SGD step on one batch with a float32 net and its float64 copy: the loss before and after the
// step must agree (rtol 1e-4), or no figure is reported.
function checkLenetStep(X, y, batch, lr) {
  const net = lenet(), net64 = lenet();
  net.initialize(new init.Xavier());
  net64.initialize(new init.Xavier());
  const xb = nd.sliceAxis(X, 0, 0, batch), yb = nd.sliceAxis(y, 0, 0, batch), xb64 = xb.astype('float64');
  nd.tidy(() => { net.forward(xb); net64.forward(xb); }); // deferred shapes, then the copy turns float64
  net64.cast('float64');
  const ps = [...net.collectParams().values()], ps64 = [...net64.collectParams().values()];
  ps64.forEach((p, i) => nd.tidy(() => p.setData(ps[i].data().astype('float64'))));
  const loss = new gluon.loss.SoftmaxCrossEntropyLoss();
  const losses = [net, net64].map((n, k) => {
    const x = k ? xb64 : xb;
    const trainer = new gluon.Trainer(n.collectParams(), 'sgd', { learningRate: lr });
    const before = nd.tidy(() => {
      const l = autograd.record(() => loss.forward(n.forward(x), yb));
      l.backward();
      trainer.step(batch);
      return nd.mean(l).item();
    });
    return [before, nd.tidy(() => nd.mean(loss.forward(n.forward(x), yb)).item())];
  });
  net.dispose(); net64.dispose(); nd.dispose([xb, yb, xb64]);
  for (const k of [0, 1])
    if (!(Math.abs(losses[0][k] - losses[1][k]) <= 1e-4 * Math.abs(losses[1][k])))
      return `LeNet loss ${k ? 'after' : 'before'} one SGD step ${losses[0][k]}, float64 ${losses[1][k]}`;
  return '';
}

handlers.gluonLenet = ({ batch, n, quick }) => {
  const lr = 0.9;
  const X = nd.random.uniform(0, 1, [n, 1, 28, 28]);
  const y = nd.array(Array.from({ length: n }, (_, i) => (i * 7 + 3) % 10), { dtype: 'int32' });
  const bad = checkLenetStep(X, y, batch, lr);
  if (bad) return nd.dispose([X, y]), wrong(bad);
  const net = lenet();
  net.initialize(new init.Xavier());
  const loader = new gluon.data.DataLoader(new gluon.data.ArrayDataset(X, y), { batchSize: batch, shuffle: true, seed: 1 });
  const loss = new gluon.loss.SoftmaxCrossEntropyLoss();
  const trainer = new gluon.Trainer(net.collectParams(), 'sgd', { learningRate: lr });
  const epoch = () => {
    for (const [xb, yb] of loader)
      nd.tidy(() => {
        autograd.record(() => loss.forward(net.forward(xb), yb)).backward();
        trainer.step(xb.shape[0]);
      });
  };
  // the threaded engine returns before the queued work is done (ENGINE.md): time until it is
  const m = measure(() => { epoch(); nd.waitAll(); }, { quick, minIters: 1 });
  net.dispose();
  nd.dispose([X, y]);
  return done(m, m.perIter * 60000 / n);
};

// A model-like mix of parameter sizes (bench/optimizer.js's): two large matrices, a few mid-sized, 50 biases.
function modelSizes(total) {
  const s = [0.4, 0.3, 0.1, 0.1].map((f) => Math.floor(total * f));
  for (let i = 0; i < 50; i++) s.push(Math.floor((total * 0.1) / 50));
  return s;
}

// MXNet's Adam on one element in float64 (bias correction folded into the learning rate).
function adam64(w, g, t, { lr, beta1, beta2, eps }) {
  let m = 0, v = 0;
  for (let s = 1; s <= t; s++) {
    m = beta1 * m + (1 - beta1) * g;
    v = beta2 * v + (1 - beta2) * g * g;
    w -= (lr * Math.sqrt(1 - beta2 ** s) / (1 - beta1 ** s)) * m / (Math.sqrt(v) + eps);
  }
  return w;
}

handlers.adamStep = ({ total, quick }) => {
  const hp = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
  const shapes = modelSizes(total);
  const ws = shapes.map((k) => nd.random.uniform(-1, 1, [k]));
  const gs = shapes.map((k) => nd.random.uniform(-1, 1, [k]));
  const w0 = ws[0].toTypedArray().slice(0, 1000), g0 = gs[0].toTypedArray().slice(0, 1000);
  const opt = new optimizer.Adam({ learningRate: hp.lr, beta1: hp.beta1, beta2: hp.beta2, epsilon: hp.eps });
  const states = ws.map((w, i) => opt.createState(i, w));
  const idx = ws.map((_w, i) => i);
  const step = () => opt.update(idx, ws, gs, states);
  step(); step();
  const w2 = ws[0].toTypedArray();
  for (let i = 0; i < 1000; i++) {
    const want = adam64(w0[i], g0[i], 2, hp);
    if (!(Math.abs(w2[i] - want) <= 1e-6 * Math.abs(w0[i]) + 1e-7))
      return nd.dispose([ws, gs, states]), wrong(`Adam: w[${i}] after two steps ${w2[i]}, float64 ${want}`);
  }
  const m = measure(() => { step(); nd.waitAll(); }, { quick });
  // copy bandwidth on the same sizes in the same run: x * 1 into preallocated arrays (reads and writes each byte once)
  const dst = shapes.map((k) => nd.zeros([k]));
  const mc = measure(() => { ws.forEach((w, i) => nd.multiply(w, 1, { out: dst[i] })); nd.waitAll(); }, { quick });
  nd.dispose([ws, gs, states, dst]);
  const n = shapes.reduce((a, b) => a + b, 0);
  return done(m, m.perIter * 1e3, { adamGBs: n * 28 / m.perIter / 1e9, copyGBs: n * 8 / mc.perIter / 1e9 });
};

serve(handlers);
