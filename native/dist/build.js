#!/usr/bin/env node
'use strict';
// Builds the optional MPI module (native/dist/build/Release/ndgrad_dist.node) with node-gyp.
// `--if-mpi` (the install hook): without mpicc, or when the build fails, say so and exit 0, so that
// installing ndgrad never fails for want of MPI. Without it (`npm run build:dist`), failures are errors.
const { spawnSync } = require('child_process');
const path = require('path');

const optional = process.argv.includes('--if-mpi');
const hint = 'Open MPI is needed for kvstore "dist_sync": on Debian/Ubuntu `apt-get install libopenmpi-dev openmpi-bin`, then `npm run build:dist`.';
const done = (msg, code) => {
  if (msg) console[code ? 'error' : 'log'](`ndgrad: ${msg}`);
  process.exit(optional ? 0 : code);
};
if (process.env.NDGRAD_NO_MPI === '1') done('NDGRAD_NO_MPI=1: the MPI module is not built', 0);
const which = spawnSync('mpicc', ['--showme:version'], { encoding: 'utf8' });
if (which.error || which.status !== 0) done(optional ? '' : `mpicc (Open MPI) was not found. ${hint}`, optional ? 0 : 1);
// npm's own node-gyp when run by npm (an installed package has no dev dependencies), else ours
let gyp = process.env.npm_config_node_gyp;
if (!gyp) try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  // an installed package without dev dependencies: npm ships node-gyp with itself
  gyp = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
}
const r = spawnSync(process.execPath, [gyp, 'rebuild', '-j', 'max'], { cwd: __dirname, stdio: optional ? 'pipe' : 'inherit' });
if (r.status !== 0) done(`building the MPI module failed${optional ? ' (ignored; ' + hint + ')' : ''}`, 1);
done('built the MPI module (kvstore "dist_sync")', 0);
