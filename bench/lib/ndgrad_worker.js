'use strict';
// ndgrad side of the benchmarks (a worker process; threads come from NDGRAD_NUM_THREADS).
const { nd, autograd } = require('../../dist');
const { measure, serve } = require('./harness');
const ref = require('./reference');

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

  matmul: ({ n, quick }) => {
    const a = nd.random.uniform(-1, 1, [n, n]);
    const b = nd.random.uniform(-1, 1, [n, n]);
    const c = nd.zeros([n, n]);
    nd.dot(a, b, { out: c });
    const bad = ref.checkMatmul(a.toTypedArray(), b.toTypedArray(), c.toTypedArray(), n);
    if (bad) return nd.dispose([a, b, c]), wrong(bad);
    const m = measure(() => nd.dot(a, b, { out: c }), { quick });
    nd.dispose([a, b, c]);
    return done(m, (2 * n * n * n) / m.perIter / 1e9);
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
          let h = nd.relu(nd.FullyConnected(x, ws[0], bs[0], { numHidden: 512 }));
          h = nd.relu(nd.FullyConnected(h, ws[1], bs[1], { numHidden: 512 }));
          const z = nd.FullyConnected(h, ws[2], bs[2], { numHidden: 10 });
          return loss.f(z);
        });
        l.backward();
      });
      nd.tidy(() => { for (const p of params) p.isub(p.grad.mul(lr)); });
    };
    // one recorded step without the update, against the float64 reference
    const got = { grads: {} };
    nd.tidy(() => {
      const l = autograd.record(() => {
        let h = nd.relu(nd.FullyConnected(x, ws[0], bs[0], { numHidden: 512 }));
        h = nd.relu(nd.FullyConnected(h, ws[1], bs[1], { numHidden: 512 }));
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

  cnn: ({ batch, quick }) => {
    const miss = need('Convolution', 'Pooling', 'FullyConnected');
    if (miss) return miss;
    const x = nd.random.uniform(0, 1, [batch, 1, 28, 28]);
    const { idx, oneHot: oh } = labelsFor(batch, 10);
    const loss = lossFn(idx, oh);
    const { w1, b1, w2, b2, w3, b3 } = Object.fromEntries(ref.CNN_PARAMS.map(([k, shape, scale]) => [k, param(shape, scale)]));
    const pool = { kernel: [2, 2], stride: [2, 2], poolType: 'max' };
    const forward = () =>
      autograd.record(() => {
        let h = nd.Convolution(x, w1, b1, { kernel: [3, 3], numFilter: 32 });
        h = nd.Pooling(nd.relu(h), pool);
        h = nd.Convolution(h, w2, b2, { kernel: [3, 3], numFilter: 64 });
        h = nd.Pooling(nd.relu(h), pool);
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
    const bad = ref.checkStep('CNN step', got, ref.cnnStep(f64(x), P, Array.from(idx.toTypedArray()), batch));
    if (bad) return nd.dispose([x, idx, oh, w1, b1, w2, b2, w3, b3]), wrong(bad);
    const m = measure(step, { quick, minIters: 5 });
    nd.dispose([x, idx, oh, w1, b1, w2, b2, w3, b3]);
    return done(m, m.perIter * 1e3, { loss: loss.name });
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

serve(handlers);
