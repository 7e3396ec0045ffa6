'use strict';
// TF.js side of the benchmarks (a worker process): `node tfjs_worker.js wasm|cpu`.
// Loads @tensorflow/tfjs-core and a backend from bench/peers/node_modules.
const path = require('path');
const { measure, serve, PEERS_DIR } = require('./harness');

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

const uniform = (shape, lo, hi) => tf.randomUniform(shape, lo, hi, 'float32', 42);
const labels = (batch, k) => {
  const idx = [];
  for (let i = 0; i < batch; i++) idx.push((i * 7 + 3) % k);
  return tf.cast(tf.oneHot(tf.tensor1d(idx, 'int32'), k), 'float32');
};
const variable = (shape, scale) => tf.variable(scale ? tf.randomNormal(shape, 0, scale, 'float32', 7) : tf.zeros(shape));

const handlers = {
  info: async () => { await ready; return { ok: true, backend: tf.getBackend() }; },

  matmul: async ({ n, quick }) => {
    await ready;
    const a = uniform([n, n], -1, 1);
    const b = uniform([n, n], -1, 1);
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
    const m = measure(() => tf.tidy(() => { opt.minimize(f, false, [...ws, ...bs]); }), { quick, minIters: 2, slowLimit: 3 });
    tf.dispose([x, y, ...ws, ...bs]);
    opt.dispose();
    return done(m, m.perIter * 1e3);
  },

  cnn: async ({ batch, quick }) => {
    await ready;
    // TF.js convolutions are NHWC.
    const x = uniform([batch, 28, 28, 1], 0, 1);
    const y = labels(batch, 10);
    const w1 = variable([3, 3, 1, 32], Math.sqrt(2 / 9));
    const b1 = variable([32], 0);
    const w2 = variable([3, 3, 32, 64], Math.sqrt(2 / 288));
    const b2 = variable([64], 0);
    const w3 = variable([1600, 10], Math.sqrt(2 / 1600));
    const b3 = variable([10], 0);
    const vars = [w1, b1, w2, b2, w3, b3];
    const f = () => {
      let h = tf.relu(tf.add(tf.conv2d(x, w1, 1, 'valid'), b1));
      h = tf.maxPool(h, 2, 2, 'valid');
      h = tf.relu(tf.add(tf.conv2d(h, w2, 1, 'valid'), b2));
      h = tf.maxPool(h, 2, 2, 'valid');
      const z = tf.add(tf.matMul(tf.reshape(h, [batch, 1600]), w3), b3);
      return tf.losses.softmaxCrossEntropy(y, z, undefined, undefined, tf.Reduction.SUM);
    };
    const m = measure(() => tf.tidy(() => {
      const { grads } = tf.variableGrads(f, vars);
      for (const g of Object.values(grads)) g.dataSync();
    }), { quick, minIters: 2, slowLimit: 3 });
    tf.dispose([x, y, ...vars]);
    return done(m, m.perIter * 1e3);
  },
};

serve(handlers);
