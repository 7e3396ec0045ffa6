'use strict';
// CNN forward + backward, batch 32 of 1x28x28: conv3x3(32)-relu-maxpool2-conv3x3(64)-relu-maxpool2-
// dense(10), summed softmax cross-entropy (ms per step; lower is better). TF.js runs it in NHWC.
// node bench/cnn.js [--quick] [--threads N] [--rounds R] [--peers ...]
const { parseArgs, runCases } = require('./lib/harness');

const opts = parseArgs();
const cases = [{
  name: 'CNN step b=32',
  label: 'CNN conv-relu-pool ×2 + dense, batch 32, fwd+bwd (ms)',
  workload: 'cnn',
  params: { batch: 32 },
  unit: 'ms',
  slow: ['tfjs-cpu'], // tens of seconds a step
}];
runCases('CNN forward+backward (float32, ms/step, lower is better)', cases, opts).catch((e) => { console.error(e); process.exit(1); });
