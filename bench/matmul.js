'use strict';
// Matrix multiply C = A·B, n×n, float32 and bfloat16 (float32 sums; GFLOP/s = 2n³ / time; higher
// is better). ndgrad's bfloat16 GEMM runs on vdpbf16ps where the CPU has AVX512_BF16.
// node bench/matmul.js [--quick] [--threads N] [--rounds R] [--peers ndgrad,torch,tfjs]
const { parseArgs, runCases } = require('./lib/harness');

const opts = parseArgs();
const sizes = [128, 512, 1024];
const cases = ['float32', 'bfloat16'].flatMap((dtype) => sizes.map((n) => ({
  name: dtype === 'float32' ? `matmul n=${n}` : `matmul bf16 n=${n}`,
  label: `matrix multiply ${dtype} n=${n} (GFLOP/s)`,
  higherIsBetter: true,
  workload: 'matmul',
  params: dtype === 'float32' ? { n } : { n, dtype },
  unit: 'GFLOP/s',
  // TF.js cpu manages about 0.5 GFLOP/s: seconds per n=1024 product.
  slow: n >= 1024 ? ['tfjs-cpu'] : [],
})));
runCases('matmul (float32 and bfloat16, GFLOP/s, higher is better)', cases, opts).catch((e) => { console.error(e); process.exit(1); });
