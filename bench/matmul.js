'use strict';
// Matrix multiply C = A·B, float32, n×n (GFLOP/s = 2n³ / time; higher is better).
// node bench/matmul.js [--quick] [--threads N] [--rounds R] [--peers ndgrad,torch,tfjs] [--mlp | --all]
// (--mlp: the MLP step's GEMM shapes instead of the square sizes; --all: both)
const { parseArgs, runCases } = require('./lib/harness');

const opts = parseArgs();
const sizes = [128, 256, 512, 1024, 2048];
const square = sizes.map((n) => ({
  name: `matmul n=${n}`,
  label: `matrix multiply n=${n} (GFLOP/s)`,
  higherIsBetter: true,
  workload: 'matmul',
  params: { n },
  unit: 'GFLOP/s',
  // TF.js cpu manages about 0.5 GFLOP/s: seconds per n=1024 product.
  slow: n >= 1024 ? ['tfjs-cpu'] : [],
}));
// The GEMMs of the MLP 784-512-512-10 step at batch 128 (bench/mlp.js), as FullyConnected calls
// them: forward x . w^T, data gradient dy . w, weight gradient dy^T . x (depth = the batch).
const mlp = [
  ['fwd 128x784 . (512x784)^T', { m: 128, n: 512, k: 784, tb: true }],
  ['fwd 128x512 . (512x512)^T', { m: 128, n: 512, k: 512, tb: true }],
  ['fwd 128x512 . (10x512)^T', { m: 128, n: 10, k: 512, tb: true }],
  ['dx 128x512 . 512x512', { m: 128, n: 512, k: 512 }],
  ['dx 128x10 . 10x512', { m: 128, n: 512, k: 10 }],
  ['dW (128x512)^T . 128x784', { m: 512, n: 784, k: 128, ta: true }],
  ['dW (128x512)^T . 128x512', { m: 512, n: 512, k: 128, ta: true }],
  ['dW (128x10)^T . 128x512', { m: 10, n: 512, k: 128, ta: true }],
].map(([what, params]) => ({
  name: `matmul mlp ${what}`,
  label: `MLP GEMM ${what} (GFLOP/s)`,
  higherIsBetter: true,
  workload: 'matmul',
  params,
  unit: 'GFLOP/s',
  slow: ['tfjs-cpu'],
}));
const cases = process.argv.includes('--mlp') ? mlp : process.argv.includes('--all') ? [...square, ...mlp] : square;
runCases('matmul (float32, GFLOP/s, higher is better)', cases, opts).catch((e) => { console.error(e); process.exit(1); });
