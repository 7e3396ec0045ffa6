'use strict';
// TF.js side of the benchmarks (a worker process): `node tfjs_worker.js wasm|cpu`.
// Loads @tensorflow/tfjs-core and a backend from bench/peers/node_modules.
const path = require('path');
const { measure, serve, PEERS_DIR } = require('./harness');
const ref = require('./reference');

const backendName = process.argv[2] || 'wasm';
const load = (m) => require(require.resolve(m, { paths: [PEERS_DIR] }));
const tf = load('@tensorflow/tfjs-core');
load(`@tensorflow/tfjs-backend-${backendName}`);
// tfjs-core's CommonJS build registers no gradients; the union package's build does (same tfjs-core).
load('@tensorflow/tfjs');

const ready = (async () => {
  if (backendName === 'wasm') {
    const wasm = load('@tensorflow/tfjs-backend-wasm');
    const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm', { paths: [PEERS_DIR] }));
    wasm.setWasmPaths(dir + path.sep);
  }
  if (!(await tf.setBackend(backendName))) throw new Error(`tf.setBackend(${backendName}) failed`);
  await tf.ready();
})();

const done = (m, value, extra) => ({ ok: true, value, seconds: m.seconds, iters: m.iters, extra });
// A result that disagrees with the float64 reference is reported instead of a figure.
const wrong = (msg) => ({ ok: false, error: `wrong result (checked before timing): ${msg}` });

const uniform = (shape, lo, hi) => tf.randomUniform(shape, lo, hi, 'float32', 42);
const labels = (batch, k) => {
  const idx = [];
  for (let i = 0; i < batch; i++) idx.push((i * 7 + 3) % k);
  return tf.cast(tf.oneHot(tf.tensor1d(idx, 'int32'), k), 'float32');
};
const variable = (shape, scale) => tf.variable(scale ? tf.randomNormal(shape, 0, scale, 'float32', 7) : tf.zeros(shape));

const handlers = {
  info: async () => { await ready; return { ok: true, backend: tf.getBackend() }; },

  matmul: async ({ n, m: rows, quick, dtype }) => {
    if (rows !== undefined) return { ok: false, skipped: 'square products only' };
    if (dtype && dtype !== 'float32') return { ok: false, skipped: `TF.js has no ${dtype} matmul` };
    await ready;
    const a = uniform([n, n], -1, 1);
    const b = uniform([n, n], -1, 1);
    const c0 = tf.matMul(a, b);
    const bad = ref.checkMatmul(a.dataSync(), b.dataSync(), c0.dataSync(), n);
    c0.dispose();
    if (bad) return tf.dispose([a, b]), wrong(bad);
    // dataSync forces completion (the cpu and wasm backends are synchronous already).
    const m = measure(() => { const c = tf.matMul(a, b); c.dataSync(); c.dispose(); }, { quick, slowLimit: 3 });
    tf.dispose([a, b]);
    return done(m, (2 * n * n * n) / m.perIter / 1e9);
  },

  elementwise: async ({ op, n, alloc, quick }) => {
    await ready;
    if (!alloc) return { ok: false, skipped: 'TF.js has no out= form' };
    const a = uniform([n], -1, 1);
    const b = uniform([n], -1, 1);
    const fns = { add: () => tf.add(a, b), exp: () => tf.exp(a) };
    const c0 = fns[op]();
    const bad = ref.checkElementwise(op, a.dataSync(), b.dataSync(), c0.dataSync());
    c0.dispose();
    if (bad) return tf.dispose([a, b]), wrong(bad);
    const m = measure(() => { const c = fns[op](); c.dataSync(); c.dispose(); }, { quick });
    tf.dispose([a, b]);
    return done(m, (m.perIter * 1e9) / n);
  },

  mlp: async ({ batch, quick }) => {
    await ready;
    const x = uniform([batch, 784], 0, 1);
    const y = labels(batch, 10);
    const sizes = [[784, 512], [512, 512], [512, 10]];
    const ws = sizes.map(([i, o]) => variable([i, o], Math.sqrt(2 / i)));
    const bs = sizes.map(([, o]) => variable([o], 0));
    const opt = tf.train.sgd(0.01 / batch);
    const f = () => {
      let h = tf.relu(tf.add(tf.matMul(x, ws[0]), bs[0]));
      h = tf.relu(tf.add(tf.matMul(h, ws[1]), bs[1]));
      const z = tf.add(tf.matMul(h, ws[2]), bs[2]);
      return tf.losses.softmaxCrossEntropy(y, z, undefined, undefined, tf.Reduction.SUM);
    };
    {
      // one step's loss and gradients against the float64 reference (weights here are [in, out])
      const T = (v) => Float64Array.from(tf.tidy(() => tf.transpose(v)).dataSync());
      const F = (v) => Float64Array.from(v.dataSync());
      const { value, grads } = tf.variableGrads(f, [...ws, ...bs]);
      const got = { loss: value.dataSync()[0], grads: {} };
      ws.forEach((w, i) => { got.grads[`w${i}`] = T(grads[w.name]); });
      bs.forEach((b, i) => { got.grads[`b${i}`] = F(grads[b.name]); });
      tf.dispose([value, ...Object.values(grads)]);
      const lab = Array.from({ length: batch }, (_, i) => (i * 7 + 3) % 10);
      const bad = ref.checkStep('MLP step', got, ref.mlpStep(F(x), ws.map(T), bs.map(F), lab, batch));
      if (bad) return tf.dispose([x, y, ...ws, ...bs]), opt.dispose(), wrong(bad);
    }
    const m = measure(() => tf.tidy(() => { opt.minimize(f, false, [...ws, ...bs]); }), { quick, minIters: 2, slowLimit: 3 });
    tf.dispose([x, y, ...ws, ...bs]);
    opt.dispose();
    return done(m, m.perIter * 1e3);
  },

  cnn: async ({ batch, quick, dtype }) => {
    if (dtype && dtype !== 'float32') return { ok: false, skipped: `TF.js has no ${dtype} convolution` };
    await ready;
    // TF.js convolutions are NHWC.
    const x = uniform([batch, 28, 28, 1], 0, 1);
    const y = labels(batch, 10);
    // HWIO filters and an [in, out] dense weight here
    const layout = (s) => (s.length === 4 ? [s[2], s[3], s[1], s[0]] : s.length === 2 ? [s[1], s[0]] : s);
    const { w1, b1, w2, b2, w3, b3 } = Object.fromEntries(ref.CNN_PARAMS.map(([k, shape, scale]) => [k, variable(layout(shape), scale)]));
    const vars = [w1, b1, w2, b2, w3, b3];
    const f = () => {
      let h = tf.relu(tf.add(tf.conv2d(x, w1, 1, 'valid'), b1));
      h = tf.maxPool(h, 2, 2, 'valid');
      h = tf.relu(tf.add(tf.conv2d(h, w2, 1, 'valid'), b2));
      h = tf.maxPool(h, 2, 2, 'valid');
      const z = tf.add(tf.matMul(tf.reshape(h, [batch, 1600]), w3), b3);
      return tf.losses.softmaxCrossEntropy(y, z, undefined, undefined, tf.Reduction.SUM);
    };
    {
      // one step against the float64 reference: NHWC / HWIO here, NCHW / OIHW there
      const F = (v) => Float64Array.from(v.dataSync());
      const perm = (v, p) => Float64Array.from(tf.tidy(() => tf.transpose(v, p)).dataSync());
      const { value, grads } = tf.variableGrads(f, vars);
      const got = { loss: value.dataSync()[0], grads: {
        w1: perm(grads[w1.name], [3, 2, 0, 1]), b1: F(grads[b1.name]), w2: perm(grads[w2.name], [3, 2, 0, 1]), b2: F(grads[b2.name]),
        // the dense layer's input is flattened HWC here, CHW there
        w3: perm(tf.tidy(() => tf.reshape(grads[w3.name], [5, 5, 64, 10])), [3, 2, 0, 1]), b3: F(grads[b3.name]),
      } };
      tf.dispose([value, ...Object.values(grads)]);
      const P = {
        w1: perm(w1, [3, 2, 0, 1]), b1: F(b1), w2: perm(w2, [3, 2, 0, 1]), b2: F(b2),
        w3: perm(tf.tidy(() => tf.reshape(w3, [5, 5, 64, 10])), [3, 2, 0, 1]), b3: F(b3),
      };
      const lab = Array.from({ length: batch }, (_, i) => (i * 7 + 3) % 10);
      const bad = ref.checkStep('CNN step', got, ref.cnnStep(perm(x, [0, 3, 1, 2]), P, lab, batch));
      if (bad) return tf.dispose([x, y, ...vars]), wrong(bad);
    }
    const m = measure(() => tf.tidy(() => {
      const { grads } = tf.variableGrads(f, vars);
      for (const g of Object.values(grads)) g.dataSync();
    }), { quick, minIters: 2, slowLimit: 3 });
    tf.dispose([x, y, ...vars]);
    return done(m, m.perIter * 1e3);
  },

  // FullyConnected 784 -> 512 on one row: matMul with the weight transposed, plus the bias (µs)
  fc: async ({ batch, quick }) => {
    await ready;
    const x = uniform([batch, 784], -1, 1);
    const w = uniform([512, 784], -0.05, 0.05);
    const b = uniform([512], -1, 1);
    const fc = () => tf.tidy(() => tf.add(tf.matMul(x, w, false, true), b));
    const y = fc();
    const bad = ref.checkFullyConnected(x.dataSync(), w.dataSync(), b.dataSync(), y.dataSync(), batch, 784, 512);
    y.dispose();
    if (bad) return tf.dispose([x, w, b]), wrong(bad);
    const m = measure(() => { const r = fc(); r.dataSync(); r.dispose(); }, { quick });
    tf.dispose([x, w, b]);
    return done(m, m.perIter * 1e6);
  },

  // tf.add on one-element tensors, result disposed each time (µs per op)
  tiny: async ({ quick }) => {
    await ready;
    const a = tf.tensor1d([1]);
    const b = tf.tensor1d([2]);
    const r = tf.add(a, b);
    const v = r.dataSync()[0];
    r.dispose();
    if (v !== 3) return tf.dispose([a, b]), wrong(`1 + 2 gave ${v}`);
    const m = measure(() => { for (let i = 0; i < 1000; i++) tf.add(a, b).dispose(); }, { quick });
    tf.dispose([a, b]);
    return done(m, m.perIter * 1e6 / 1000);
  },
};

serve(handlers);
