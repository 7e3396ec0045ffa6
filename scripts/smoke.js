'use strict';
// Smoke test of an installed ndgrad package, run from a project that installed the packed tarball
// (scripts/smoke-pack.sh copies it there). Checks that require('ndgrad') and import('ndgrad') both
// work and share one instance, that the addon came from prebuilds/ (the tarball has no build/),
// that the README example prints [2. 4. 6. 8.], and a few small kernels (dot/GEMM, exp, sum, softmax)
// against plain JS, so a run under qemu-aarch64 exercises the NEON tables through the real addon.
// Usage: node smoke.js [expected-isa]
const assert = require('assert');
const path = require('path');
const fs = require('fs');

async function main() {
  const expectIsa = process.argv[2];
  const cjs = require('ndgrad');
  const esm = await import('ndgrad');
  assert.strictEqual(esm.nd, cjs.nd, 'import and require must share one module instance');
  assert.strictEqual(esm.default.nd, cjs.nd);
  for (const k of ['nd', 'autograd', 'NDArray', 'NDArrayError']) assert.ok(esm[k], `ESM export ${k}`);

  const pkgDir = path.dirname(require.resolve('ndgrad/package.json'));
  const pkg = require('ndgrad/package.json');
  assert.ok(!fs.existsSync(path.join(pkgDir, 'build')), 'the packed install must not contain build/');
  assert.ok(fs.existsSync(path.join(pkgDir, pkg.exports['.'].types)), 'exports types file exists');

  const { nd, autograd } = cjs;
  // README example
  const x = nd.array([1, 2, 3, 4]);
  x.attachGrad();
  const y = autograd.record(() => x.mul(x).add(1));
  y.backward();
  const printed = x.grad.toString().split('\n')[0];
  console.log(printed);
  assert.strictEqual(printed, '[2. 4. 6. 8.]');

  const backend = nd.backend();
  console.log(`backend ${JSON.stringify(backend)} on ${process.platform}-${process.arch}, Node ${process.version}`);
  if (expectIsa) assert.strictEqual(backend.isa, expectIsa);

  // Small products only: qemu is 10-50x slower than the host.
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  for (const [m, k, n] of [[1, 37, 1], [1, 100, 9], [5, 17, 3], [33, 65, 17]]) {
    const a = Array.from({ length: m * k }, rnd), b = Array.from({ length: k * n }, rnd);
    const got = nd.dot(nd.array(a).reshape([m, k]), nd.array(b).reshape([k, n])).toArray().flat();
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += Math.fround(a[i * k + p]) * Math.fround(b[p * n + j]);
        assert.ok(Math.abs(got[i * n + j] - s) <= 1e-5 * k, `dot ${m}x${k}x${n} [${i},${j}]: ${got[i * n + j]} vs ${s}`);
      }
  }
  const v = Array.from({ length: 1031 }, (_, i) => Math.fround(((i % 97) - 48) / 8));
  const e = nd.exp(nd.array(v)).toArray();
  v.forEach((t, i) => assert.ok(Math.abs(e[i] - Math.exp(t)) <= 2e-7 * Math.exp(t), `exp(${t}): ${e[i]}`));
  const sum = nd.sum(nd.array(v)).item();
  assert.ok(Math.abs(sum - v.reduce((p, q) => p + q, 0)) < 1e-3, `sum ${sum}`);
  const sm = nd.softmax(nd.array(v.slice(0, 40)).reshape([4, 10])).toArray();
  for (const row of sm) assert.ok(Math.abs(row.reduce((p, q) => p + q, 0) - 1) < 1e-5, 'softmax rows sum to 1');
  console.log('smoke ok');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
