#!/usr/bin/env node
// The one list of C++ sources, read by binding.gyp (`node native/sources.js <group>`) and
// CMakeLists.txt (file(READ) + string(JSON)). `--check` fails when a native/**/*.cc is unlisted
// or a listed file is missing.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const groups = JSON.parse(fs.readFileSync(path.join(__dirname, 'sources.json'), 'utf8'));

function walk(dir, out) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith('.cc')) out.push(path.relative(root, p).split(path.sep).join('/'));
  }
  return out;
}

const arg = process.argv[2];
if (arg === '--check') {
  const listed = new Set(Object.values(groups).flat());
  // native/dist is the optional MPI module, built apart (its own binding.gyp)
  const onDisk = walk(path.join(root, 'native'), []).filter((f) => !f.startsWith('native/dist/'));
  const unlisted = onDisk.filter((f) => !listed.has(f));
  const missing = [...listed].filter((f) => !fs.existsSync(path.join(root, f)));
  for (const f of unlisted) console.error(`unlisted in native/sources.json: ${f}`);
  for (const f of missing) console.error(`listed in native/sources.json but missing: ${f}`);
  if (unlisted.length || missing.length) process.exit(1);
  console.log(`native/sources.json lists all ${onDisk.length} sources`);
} else if (arg && groups[arg]) {
  // gyp expands <!@(...) by splitting on whitespace; paths are relative to the package root.
  process.stdout.write(groups[arg].join(' '));
} else {
  console.error(`usage: node native/sources.js <${Object.keys(groups).join('|')}> | --check`);
  process.exit(2);
}
