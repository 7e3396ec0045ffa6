#!/usr/bin/env node
// Per-op overhead of ndgrad: median microseconds per nd.add on one-element arrays (the cost of the
// JS -> N-API -> op mechanism round trip) and on 1e6-element arrays (kernel speed).
// Usage: node bench/overhead.js [--quick]     (needs dist/: npm run build:ts)
'use strict';
const { nd } = require('../dist');

const quick = process.argv.includes('--quick');
const now = () => Number(process.hrtime.bigint()) / 1e3; // µs

/** Median over `rounds` of the mean µs per op of a batch of `batch` ops. */
function measure(rounds, batch, runBatch) {
  const per = [];
  runBatch(batch); // warm-up (JIT, allocator cache)
  nd.waitAll();
  for (let r = 0; r < rounds; r++) {
    const t0 = now();
    runBatch(batch);
    nd.waitAll(); // the queued kernels count too (MXNet's way of timing)
    per.push((now() - t0) / batch);
  }
  per.sort((a, b) => a - b);
  return per[per.length >> 1];
}

function report(label, us) {
  const s = us < 10 ? us.toFixed(3) : us.toFixed(1);
  console.log(`${label.padEnd(44)} ${s.padStart(9)} µs`);
}

const be = nd.backend();
console.log(`ndgrad overhead  backend: isa=${be.isa} threads=${be.threads}  node ${process.version}${quick ? '  (--quick)' : ''}`);

const R = quick ? 15 : 51;
const tinyBatch = quick ? 2000 : 20000;
const a1 = nd.array([1]);
const b1 = nd.array([2]);

const results = {};
// [key, label, rounds, batch, body]: each body runs `n` ops.
const N = 1e6;
const aBig = nd.random.uniform(0, 1, [N]);
const bBig = nd.random.uniform(0, 1, [N]);
const out = nd.zeros([N]);
const bigBatch = quick ? 5 : 20;
const bigRounds = quick ? 7 : 21;
// Lower bound: the raw binding call plus release, no NDArray object.
const native = nd._native;
const addId = nd._opTable().findIndex((o) => o.name === 'add');
const CASES = [
  ['tinyDispose', 'nd.add 1 element, dispose each', R, tinyBatch, (n) => { for (let i = 0; i < n; i++) nd.add(a1, b1).dispose(); }],
  ['tinyTidy', 'nd.add 1 element, one nd.tidy per batch', R, tinyBatch, (n) => nd.tidy(() => { for (let i = 0; i < n; i++) nd.add(a1, b1); })],
  ['tinyTidyEach', 'nd.add 1 element, nd.tidy around each', R, tinyBatch, (n) => { for (let i = 0; i < n; i++) nd.tidy(() => nd.add(a1, b1)).dispose(); }],
  ['tinyMethodScalar', 'a.add(1) 1 element (number operand), dispose', R, tinyBatch, (n) => { for (let i = 0; i < n; i++) a1.add(1).dispose(); }],
  ['rawBinding', 'raw binding op2 + release (lower bound)', R, tinyBatch, (n) => { for (let i = 0; i < n; i++) native.release(native.op2(addId, a1._h, b1._h)); }],
  ['bigDispose', 'nd.add 1e6 elements, dispose each', bigRounds, bigBatch, (n) => { for (let i = 0; i < n; i++) nd.add(aBig, bBig).dispose(); }],
  ['bigTidy', 'nd.add 1e6 elements, inside nd.tidy', bigRounds, bigBatch, (n) => nd.tidy(() => { for (let i = 0; i < n; i++) nd.add(aBig, bBig); })],
  ['bigOut', 'nd.add 1e6 elements, { out }', bigRounds, bigBatch, (n) => { for (let i = 0; i < n; i++) nd.add(aBig, bBig, { out }); }],
];
for (const [key, label, rounds, batch, body] of CASES) {
  results[key] = measure(rounds, batch, body);
  report(label, results[key]);
}
const gbs = (3 * 4 * N) / (results.bigOut * 1e-6) / 1e9;
console.log(`  (1e6 add with out: ${gbs.toFixed(1)} GB/s effective loads+stores; 12 MB may sit in cache)`);

nd.dispose([a1, b1, aBig, bBig, out]);
const mem = nd.memory();
if (mem.numArrays !== 0) console.log(`warning: ${mem.numArrays} arrays still alive`);
if (process.argv.includes('--json')) console.log(JSON.stringify({ backend: be, us: results }));
