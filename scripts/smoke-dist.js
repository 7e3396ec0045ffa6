'use strict';
// Smoke test of the MPI module of an installed ndgrad package (scripts/smoke-pack.sh runs it under
// `mpirun -np 2` from the project that installed the packed tarball): the module can only come from
// the package's prebuild (an installed package has no native/dist/build), and a pushpull across the
// two ranks gives the sum, which the store keeps.
const assert = require('assert');
const fs = require('fs');
const path = require('path');

const dist = path.join(path.dirname(require.resolve('ndgrad/package.json')), 'native', 'dist');
assert.ok(!fs.existsSync(path.join(dist, 'build')), 'the packed install must not contain native/dist/build');
const file = require('node-gyp-build').resolve(dist);
assert.ok(file.includes(`${path.sep}prebuilds${path.sep}`), `the MPI module should be the prebuild, got ${file}`);

const { kvstore, nd } = require('ndgrad');
const kv = kvstore.create('dist_sync');
assert.strictEqual(kv.numWorkers, 2, 'run under mpirun -np 2');
kv.init('g', nd.zeros([1 << 16]));
const x = nd.full([1 << 16], kv.rank + 1);
kv.pushpull('g', x);
const stored = nd.zeros([1 << 16]);
kv.pull('g', { out: stored });
for (const a of [x, stored]) assert.ok(a.toArray().every((v) => v === 3), 'pushpull sums 1 + 2 on every element');
console.log(`rank ${kv.rank} of ${kv.numWorkers}: pushpull ok with ${path.relative(dist, file)}`);
