'use strict';
// ndgrad side of the benchmarks (a worker process; threads come from NDGRAD_NUM_THREADS).
const { nd, autograd } = require('../../dist');
const { measure, serve } = require('./harness');

nd.random.seed(42);

function need(...names) {
  const missing = names.filter((n) => typeof nd[n] !== 'function');
  return missing.length ? { ok: false, skipped: `op ${missing.join(', ')} not available` } : null;
}

const done = (m, value, extra) => ({ ok: true, value, seconds: m.seconds, iters: m.iters, extra });

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
    const w1 = param([32, 1, 3, 3], Math.sqrt(2 / 9));
    const b1 = param([32], 0);
    const w2 = param([64, 32, 3, 3], Math.sqrt(2 / 288));
    const b2 = param([64], 0);
    const w3 = param([10, 1600], Math.sqrt(2 / 1600));
    const b3 = param([10], 0);
    const pool = { kernel: [2, 2], stride: [2, 2], poolType: 'max' };
    const step = () =>
      nd.tidy(() => {
        const l = autograd.record(() => {
          let h = nd.Convolution(x, w1, b1, { kernel: [3, 3], numFilter: 32 });
          h = nd.Pooling(nd.relu(h), pool);
          h = nd.Convolution(h, w2, b2, { kernel: [3, 3], numFilter: 64 });
          h = nd.Pooling(nd.relu(h), pool);
          return loss.f(nd.FullyConnected(h, w3, b3, { numHidden: 10 }));
        });
        l.backward();
      });
    const m = measure(step, { quick, minIters: 5 });
    nd.dispose([x, idx, oh, w1, b1, w2, b2, w3, b3]);
    return done(m, m.perIter * 1e3, { loss: loss.name });
  },
};

serve(handlers);
