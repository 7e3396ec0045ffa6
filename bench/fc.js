'use strict';
// FullyConnected 784 -> 512 forward on a batch of 1 (the GEMV path) and of 128, float32, µs per call
// (lower is better): ndgrad nd.FullyConnected, torch F.linear, TF.js matMul(x, w, false, true) + b.
// node bench/fc.js [--quick] [--threads N] [--rounds R] [--peers ...]
const { parseArgs, runCases } = require('./lib/harness');

const opts = parseArgs();
const cases = [1, 128].map((batch) => ({
  name: `FC 784->512 b=${batch}`,
  label: `FullyConnected 784→512, batch ${batch} (µs)`,
  workload: 'fc',
  params: { batch },
  unit: 'µs',
}));
runCases('FullyConnected forward (float32, µs, lower is better)', cases, opts).catch((e) => { console.error(e); process.exit(1); });
