#!/usr/bin/env node
// Data-parallel training of the Fashion-MNIST LeNet of examples/fashion-mnist.ts over Open MPI
// (kvstore 'dist_sync'; README in this folder). Every rank trains on its own slice of the training
// set, 64 images per step; the Trainer sums the gradients of all ranks, so each step is one step on a
// global batch of 64 x ranks, and every rank holds the same parameters. Rank 0 prints.
//   npm run build:ts && npm run build:dist
//   mpirun -np 2 node examples/distributed/train.js [--epochs N] [--data DIR]
'use strict';
const fs = require('fs');
const path = require('path');
const { autograd, gluon, init, kvstore, nd } = require('ndgrad');
const { lenet } = require('./lenet');

const arg = (name, dflt) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : dflt);
const SYSTEM_DATA = '/usr/share/datasets/fashion-mnist';
const SUBSET = path.join(__dirname, '..', 'data', 'fashion-mnist-subset');
const root = arg('--data', fs.existsSync(SYSTEM_DATA) ? SYSTEM_DATA : SUBSET);
const epochs = Number(arg('--epochs', root === SUBSET ? 8 : 5));
const perRank = 64;

const kv = kvstore.create('dist_sync');
const say = (...a) => kv.rank === 0 && console.log(...a);

const toTensor = new gluon.data.vision.transforms.ToTensor();
const train = new gluon.data.vision.FashionMNIST({ root, train: true });
const test = new gluon.data.vision.FashionMNIST({ root, train: false });
// Equal slices: every rank must run the same number of steps (each step is a collective).
const share = Math.floor(train.length / kv.numWorkers);
const mine = train.slice(kv.rank * share, (kv.rank + 1) * share).transformFirst(toTensor);
say(`${kv.numWorkers} rank(s); ${share} training images each, ${perRank} per rank per step (global batch ${perRank * kv.numWorkers}); ${root}`);

nd.random.seed(1);
const net = lenet(gluon);
net.initialize(new init.Xavier());
// Rank 0's parameters are broadcast at the first step; the learning rate is that of one process on the
// global batch.
const trainer = new gluon.Trainer(net.collectParams(), 'adam', { learningRate: 0.002 }, { kvstore: kv });
const lossFn = new gluon.loss.SoftmaxCrossEntropyLoss();
const testLoader = new gluon.data.DataLoader(test.transformFirst(toTensor), { batchSize: 1000 });

const start = Date.now();
for (let epoch = 0; epoch < epochs; epoch++) {
  const loader = new gluon.data.DataLoader(mine, { batchSize: perRank, shuffle: true, seed: epoch * 1000 + kv.rank, lastBatch: 'discard' });
  let sum = 0;
  let n = 0;
  for (const [x, y] of loader) {
    const loss = autograd.record(() => lossFn.forward(net.forward(x), y));
    loss.backward();
    trainer.step(perRank * kv.numWorkers);
    sum += loss.sum().item();
    n += perRank;
    nd.dispose([x, y, loss]);
  }
  if (kv.rank === 0) {
    const acc = new gluon.metric.Accuracy();
    for (const [x, y] of testLoader) acc.update(y, net.forward(x));
    say(`epoch ${epoch + 1}: rank 0 train loss ${(sum / n).toFixed(4)}, test accuracy ${acc.get()[1].toFixed(4)}, ${((Date.now() - start) / 1000).toFixed(1)} s`);
  }
}
kv.barrier();
say('done: every rank holds the same parameters');
