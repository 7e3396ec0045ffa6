'use strict';
// Elementwise add and exp of 1e7 float32 (ns per element; lower is better), into an existing array
// (ndgrad `nd.add(a, b, { out: c })`, torch `torch.add(a, b, out=c)`) and allocating a fresh result
// (disposed at once each iteration; TF.js has only this form).
// node bench/elementwise.js [--quick] [--threads N] [--rounds R] [--peers ...]
const { parseArgs, runCases } = require('./lib/harness');

const opts = parseArgs();
const n = 1e7;
const cases = [];
for (const op of ['add', 'exp'])
  for (const alloc of [false, true])
    cases.push({
      name: `${op} 1e7 ${alloc ? 'allocating' : 'into out'}`,
      label: `\`${op}\` 1e7 ${alloc ? 'allocating the result' : 'into an existing array'} (ns/elem)`,
      workload: 'elementwise',
      params: { op, n, alloc },
      unit: 'ns/elem',
      noTfjs: alloc ? undefined : 'no out= form',
    });
runCases('elementwise (float32, ns/elem, lower is better)', cases, opts).catch((e) => { console.error(e); process.exit(1); });
