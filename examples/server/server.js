// A server that trains (issue 11): an HTTP service that trains an MLP (784-512-512-10, batch 128) on
// Fashion-MNIST in the background of the same process and answers from the live model:
//   GET  /status   -> { steps, loss, samplesPerSecond, engine, data }
//   POST /predict  <- { "pixels": [784 numbers in 0..1] } (or a list of such images)
//                  -> { "probabilities": [[10 numbers]], "classes": [..] }
// The training loop is `step(); await nd.ready()`: with the threaded engine the kernels of a step run
// on the engine thread while the event loop answers requests (the naive engine blocks for each step).
// Usage: npm run build:ts && node examples/server/server.js [--port 3000] [--data DIR]
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const { autograd, gluon, init, nd } = require('ndgrad');

const SOURCES = ['/usr/share/datasets/fashion-mnist', path.join(__dirname, '..', 'data', 'fashion-mnist-subset')];
const BATCH = 128;

// Training images as float32 [N, 784] in 0..1 and labels [N]: the given folder, else the system data
// set, else the bundled subset, else generated images (a bright band whose row gives the label).
function loadData(dir) {
  const root = dir ?? SOURCES.find((d) => fs.existsSync(path.join(d, 'train-labels-idx1-ubyte.gz')) || fs.existsSync(path.join(d, 'train-labels-idx1-ubyte')));
  if (root) {
    const set = new gluon.data.vision.FashionMNIST({ root, train: true });
    // the whole set as one batch, converted to new arrays (the loader frees its batch afterwards)
    const [images, labels] = new gluon.data.DataLoader(set, { batchSize: set.length })[Symbol.iterator]().next().value;
    const x = nd.tidy(() => images.reshape([images.shape[0], 784]).astype('float32').mul(1 / 255));
    const y = labels.astype('float32');
    nd.dispose([images, labels]);
    set.dispose();
    return { x, y, source: root };
  }
  const n = 2048;
  const px = new Float32Array(n * 784);
  const lb = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    lb[i] = i % 10;
    for (let k = 0; k < 784; k++) px[i * 784 + k] = Math.floor(k / 28) >> 1 === lb[i] ? 0.9 : ((k * 31 + i) % 40) / 400;
  }
  return { x: nd.array(px).reshape([n, 784]), y: nd.array(lb), source: 'generated' };
}

function mlp() {
  const net = new gluon.nn.Sequential();
  net.add(new gluon.nn.Dense(512, { activation: 'relu' }), new gluon.nn.Dense(512, { activation: 'relu' }), new gluon.nn.Dense(10));
  net.initialize({ init: new init.Xavier() });
  return net;
}

function readBody(req, limit = 1 << 22) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => {
      body += c;
      if (body.length > limit) reject(new Error('body too large'));
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function send(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

// Pixels of one image (784 numbers) or of several, as a flat Float32Array; throws on anything else.
function pixelsOf(doc) {
  const p = doc && doc.pixels;
  const images = Array.isArray(p) && Array.isArray(p[0]) ? p : [p];
  if (!images.every((im) => Array.isArray(im) && im.length === 784 && im.every((v) => typeof v === 'number' && Number.isFinite(v))))
    throw new Error('expected { "pixels": [784 numbers] } or a list of such images');
  const flat = new Float32Array(images.length * 784);
  images.forEach((im, i) => flat.set(im, i * 784));
  return { flat, n: images.length };
}

/**
 * Starts training and serving; resolves to { port, state, close() } once listening. `steps` bounds
 * the training (default: until closed).
 */
async function startServer({ port = 0, data = null, steps = Infinity, learningRate = 0.05 } = {}) {
  nd.random.seed(1);
  const { x, y, source } = loadData(data);
  const net = mlp();
  const loss = new gluon.loss.SoftmaxCrossEntropyLoss();
  const trainer = new gluon.Trainer(net.collectParams(), 'sgd', { learningRate, momentum: 0.9 });
  const state = { steps: 0, loss: NaN, samplesPerSecond: 0, engine: nd.backend().engine, data: source, examples: x.shape[0] };
  let stopped = false;
  const start = performance.now();

  const training = (async () => {
    while (!stopped && state.steps < steps) {
      const l = nd.tidy(() => {
        const idx = nd.random.randint(0, x.shape[0], [BATCH]);
        const xb = nd.take(x, idx);
        const yb = nd.take(y, idx);
        const batchLoss = autograd.record(() => loss.forward(net.forward(xb), yb).mean());
        batchLoss.backward();
        trainer.step(1);
        return batchLoss;
      });
      const [value] = await l.data(); // the event loop stays free while the step computes
      l.dispose();
      state.steps++;
      state.loss = value;
      state.samplesPerSecond = (state.steps * BATCH) / ((performance.now() - start) / 1000);
    }
  })();

  const server = http.createServer(async (req, res) => {
    try {
      if (req.method === 'GET' && req.url === '/status') return send(res, 200, state);
      if (req.method === 'POST' && req.url === '/predict') {
        let input;
        try {
          input = pixelsOf(JSON.parse(await readBody(req)));
        } catch (e) {
          return send(res, 400, { error: e.message });
        }
        const probs = nd.tidy(() => nd.softmax(net.forward(nd.array(input.flat).reshape([input.n, 784]))));
        const values = await probs.data();
        probs.dispose();
        const probabilities = [];
        for (let i = 0; i < input.n; i++) probabilities.push(Array.from(values.subarray(i * 10, i * 10 + 10)));
        return send(res, 200, { probabilities, classes: probabilities.map((p) => p.indexOf(Math.max(...p))) });
      }
      send(res, 404, { error: 'GET /status or POST /predict' });
    } catch (e) {
      send(res, 500, { error: e.message });
    }
  });
  server.keepAliveTimeout = 30000;
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));

  return {
    port: server.address().port,
    state,
    training,
    async close() {
      stopped = true;
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
      await training;
      trainer.dispose();
      net.dispose();
      nd.dispose([x, y]);
    },
  };
}

module.exports = { startServer };

if (require.main === module) {
  const arg = (name) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  startServer({ port: Number(arg('--port') ?? 3000), data: arg('--data') ?? null }).then((s) => {
    console.log(`training on ${s.state.data} (${s.state.examples} images, engine ${s.state.engine}); listening on http://127.0.0.1:${s.port}`);
    const stop = () => s.close().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
