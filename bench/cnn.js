'use strict';
// CNN forward + backward, batch 32 of 1x28x28: conv3x3(32)-relu-maxpool2-conv3x3(64)-relu-maxpool2-
// dense(10), summed softmax cross-entropy (ms per step; lower is better). TF.js runs it in NHWC.
// node bench/cnn.js [--quick] [--threads N] [--rounds R] [--peers ...]
const { parseArgs, runCases } = require('./lib/harness');

const opts = parseArgs();
// The bfloat16 row: input and parameters in bfloat16 (ndgrad: ops in float32, rounded once; PyTorch:
// its bfloat16 CPU kernels); TF.js has no bfloat16.
const cases = ['float32', 'bfloat16'].map((dtype) => ({
  name: dtype === 'float32' ? 'CNN step b=32' : 'CNN step bf16 b=32',
  label: `CNN conv-relu-pool ×2 + dense, batch 32, ${dtype}, fwd+bwd (ms)`,
  workload: 'cnn',
  params: dtype === 'float32' ? { batch: 32 } : { batch: 32, dtype },
  unit: 'ms',
  slow: ['tfjs-cpu'], // tens of seconds a step
}));
runCases('CNN forward+backward (float32 and bfloat16, ms/step, lower is better)', cases, opts).catch((e) => { console.error(e); process.exit(1); });
