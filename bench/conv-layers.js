'use strict';
// The CNN step's convolutions one by one (bench/cnn.js's layers, batch 32): forward with bias, data
// gradient and weight gradient, in float32 and bfloat16, ms per call (lower is better): where the
// step's time goes.
// node bench/conv-layers.js [--quick] [--threads N] [--rounds R] [--peers ...]
const { parseArgs, runCases } = require('./lib/harness');

const opts = parseArgs();
const layers = [
  { name: 'conv1 1->32 3x3 28x28', x: [32, 1, 28, 28], w: [32, 1, 3, 3], grads: ['none', 'weight'] }, // x needs no gradient
  { name: 'conv2 32->64 3x3 13x13', x: [32, 32, 13, 13], w: [64, 32, 3, 3], grads: ['none', 'data', 'weight'] },
];
const what = { none: 'forward', data: 'data grad', weight: 'weight grad' };
const cases = ['float32', 'bfloat16'].flatMap((dtype) => layers.flatMap((l) => l.grads.map((grad) => ({
  name: `${l.name.split(' ')[0]} ${what[grad]}${dtype === 'float32' ? '' : ' bf16'}`,
  label: `${l.name}, ${what[grad]}, ${dtype} (ms)`,
  workload: 'convLayer',
  params: dtype === 'float32' ? { x: l.x, w: l.w, grad } : { x: l.x, w: l.w, grad, dtype },
  unit: 'ms',
}))));
runCases('CNN step convolutions, batch 32 (float32 and bfloat16, ms per call, lower is better)', cases, { ...opts, only: opts.only || ['ndgrad', 'torch'] })
  .catch((e) => { console.error(e); process.exit(1); });
