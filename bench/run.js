#!/usr/bin/env node
// Runs the benchmark scripts in sequence: `npm run bench` or `npm run bench -- --quick`.
// To add a benchmark, append its file name to SCRIPTS.
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');

const SCRIPTS = [
  'overhead.js',
  'autograd-overhead.js',
  'matmul.js',
  'elementwise.js',
  'mlp.js',
  'cnn.js',
];

const args = process.argv.slice(2);
let failed = 0;
for (const s of SCRIPTS) {
  console.log(`\n=== bench/${s} ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [path.join(__dirname, s), ...args], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`bench/${s} failed (${r.signal || r.status})`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
