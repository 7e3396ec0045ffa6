'use strict';
// Matrix multiply C = A·B, float32, n×n (GFLOP/s = 2n³ / time; higher is better).
// node bench/matmul.js [--quick] [--threads N] [--rounds R] [--peers ndgrad,torch,tfjs]
const { parseArgs, runCases } = require('./lib/harness');

const opts = parseArgs();
const sizes = [128, 512, 1024];
const cases = sizes.map((n) => ({
  name: `matmul n=${n}`,
  label: `matrix multiply n=${n} (GFLOP/s)`,
  higherIsBetter: true,
  workload: 'matmul',
  params: { n },
  unit: 'GFLOP/s',
  // TF.js cpu manages about 0.5 GFLOP/s: seconds per n=1024 product.
  slow: n >= 1024 ? ['tfjs-cpu'] : [],
}));
runCases('matmul (float32, GFLOP/s, higher is better)', cases, opts).catch((e) => { console.error(e); process.exit(1); });
