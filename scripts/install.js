#!/usr/bin/env node
'use strict';
// npm's install hook: node-gyp-build (load a fitting prebuild, else compile with node-gyp), and when
// that fails, say which platform this is, which prebuilds ship and what to install to compile.
const { spawnSync } = require('child_process');
const path = require('path');
const { helpMessage } = require('./install-help');

const bin = require.resolve('node-gyp-build/bin.js');
const r = spawnSync(process.execPath, [bin, ...process.argv.slice(2)], { stdio: 'inherit' });
if (r.status !== 0) {
  console.error('\n' + helpMessage(path.join(__dirname, '..'), r.error || `node-gyp-build exited with ${r.status === null ? r.signal : r.status}`));
  process.exit(r.status || 1);
}
