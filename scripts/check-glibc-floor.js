#!/usr/bin/env node
// CI guard for the Linux prebuilds: `objdump -T` over a built .node must show no GLIBC_ symbol
// version newer than the floor (default 2.28, Node 20's own), no GLIBCXX_/CXXABI_ demand
// (libstdc++ is linked statically) and no unresolved __wrap_ symbol (a --wrap without its
// definition in native/src/compat/glibc_compat.cc).
// Usage: node scripts/check-glibc-floor.js <file.node> [--max 2.28]   (OBJDUMP=... to override)
'use strict';
const { execFileSync } = require('child_process');

const args = process.argv.slice(2);
const maxIdx = args.indexOf('--max');
const max = maxIdx >= 0 ? args.splice(maxIdx, 2)[1] : '2.28';
const file = args[0];
if (!file) {
  console.error('usage: node scripts/check-glibc-floor.js <file.node> [--max 2.28]');
  process.exit(2);
}

const cmp = (a, b) => {
  const x = a.split('.').map(Number), y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] || 0) !== (y[i] || 0)) return (x[i] || 0) - (y[i] || 0);
  return 0;
};

const out = execFileSync(process.env.OBJDUMP || 'objdump', ['-T', file], { encoding: 'utf8' });
const errors = [];
const byVersion = new Map();
for (const line of out.split('\n')) {
  const m = line.match(/\s\(?(GLIBC|GLIBCXX|CXXABI)_([\d.]+)\)?\s+(\S+)\s*$/);
  if (m) {
    const [, lib, ver, sym] = m;
    if (lib !== 'GLIBC') errors.push(`${sym}@${lib}_${ver}: libstdc++ is linked dynamically (expected -static-libstdc++)`);
    else if (!byVersion.has(ver)) byVersion.set(ver, [sym]);
    else byVersion.get(ver).push(sym);
  }
  const w = line.match(/\*UND\*.*\s(__wrap_\S+)\s*$/);
  if (w) errors.push(`${w[1]} is undefined: --wrap without a definition in native/src/compat/glibc_compat.cc`);
}
const versions = [...byVersion.keys()].sort(cmp);
if (!versions.length) errors.push('no GLIBC_ symbol versions found (not a glibc binary?)');
for (const v of versions) {
  if (cmp(v, max) > 0) errors.push(`needs GLIBC_${v} > ${max}: ${byVersion.get(v).join(', ')}`);
}
const top = versions[versions.length - 1];
if (errors.length) {
  for (const e of errors) console.error(`glibc floor: ${e}`);
  console.error(`glibc floor FAILED for ${file} (limit ${max})`);
  process.exit(1);
}
console.log(`glibc floor ok: ${file} needs GLIBC_${top} (${byVersion.get(top).join(', ')}), limit ${max}; no GLIBCXX/CXXABI`);
