'use strict';
// Per-op overhead on tiny arrays, where the math is negligible and the cost is the library: `add` of
// two one-element arrays (result dropped at once), and autograd on float32[4]: µs per recorded op
// (a chain of 1000 recorded sin / y * x / y * 0.999, forward under record) and µs per op of its
// backward. ndgrad, PyTorch (1 thread: tiny ops do not split) and TF.js (add only) in the same run;
// every peer checks its result (the chain's gradient against float64) before timing.
// node bench/autograd-overhead.js [--quick] [--rounds R] [--peers ...]
const { parseArgs, runCases } = require('./lib/harness');

const opts = parseArgs();
opts.threads = [1]; // one-element and four-element ops never use the thread pool
const cases = [
  { name: 'tiny add (1 elem)', label: 'tiny `add` (1 element), per op (µs)', workload: 'tiny', params: {}, unit: 'µs' },
];
const KINDS = { sin: '`sin`', mul: '`y * x`', scalar: '`y * 0.999`' };
for (const [kind, what] of Object.entries(KINDS)) {
  cases.push({ name: `recorded ${kind}`, label: `recorded tiny op ${what}, per op (µs)`, workload: 'autograd', params: { kind, phase: 'record' }, unit: 'µs', noTfjs: 'not measured' });
  cases.push({ name: `backward ${kind}`, label: `backward of recorded ${what}, per op (µs)`, workload: 'autograd', params: { kind, phase: 'backward' }, unit: 'µs', noTfjs: 'not measured' });
}
runCases('tiny ops and autograd overhead (float32, µs per op, lower is better)', cases, opts).catch((e) => { console.error(e); process.exit(1); });
