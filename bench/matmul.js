'use strict';
// Matrix multiply C = A·B (GFLOP/s = 2mnk / time; higher is better): float32 n×n, bfloat16 n×n (float32
// sums; ndgrad's bfloat16 GEMM runs on vdpbf16ps where the CPU has AVX512_BF16), and the MLP step's
// float32 GEMM shapes.
// node bench/matmul.js [--quick] [--threads N] [--rounds R] [--peers ndgrad,torch,tfjs] [--mlp | --all]
// (--mlp: the MLP step's GEMM shapes instead of the square sizes; --all: both)
const { parseArgs, runCases } = require('./lib/harness');

const opts = parseArgs();
const square = (dtype, sizes) =>
  sizes.map((n) => ({
    name: dtype === 'float32' ? `matmul n=${n}` : `matmul bf16 n=${n}`,
    label: `matrix multiply ${dtype} n=${n} (GFLOP/s)`,
    higherIsBetter: true,
    workload: 'matmul',
    params: dtype === 'float32' ? { n } : { n, dtype },
    unit: 'GFLOP/s',
    // TF.js cpu manages about 0.5 GFLOP/s: seconds per n=1024 product.
    slow: n >= 1024 ? ['tfjs-cpu'] : [],
  }));
const squares = [...square('float32', [128, 256, 512, 1024, 2048]), ...square('bfloat16', [128, 512, 1024])];
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
const cases = process.argv.includes('--mlp') ? mlp : process.argv.includes('--all') ? [...squares, ...mlp] : squares;
runCases('matmul (float32 and bfloat16, GFLOP/s, higher is better)', cases, opts).catch((e) => { console.error(e); process.exit(1); });
