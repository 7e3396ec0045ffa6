#!/usr/bin/env node
'use strict';
// The optional MPI module (native/dist): `npm run build:dist` builds it from source with node-gyp
// (native/dist/build/Release/ndgrad_dist.node). `--if-mpi` (the install hook) first tries what
// node-gyp-build would load (a local build, else the prebuild for this platform,
// prebuilds/<platform>-<arch>/ndgrad-dist.<libc>.node) and, when it loads with every symbol
// resolved, compiles nothing; otherwise it builds from source when mpicc is found. It never fails the
// install: without MPI it says so and exits 0. Without `--if-mpi`, failures are errors.
const { spawnSync } = require('child_process');
const path = require('path');

const optional = process.argv.includes('--if-mpi');
const hint = 'Open MPI is needed for kvstore "dist_sync": on Debian/Ubuntu `apt-get install libopenmpi-dev openmpi-bin`, then `npm run build:dist`.';
const done = (msg, code) => {
  if (msg) console[code ? 'error' : 'log'](`ndgrad: ${msg}`);
  process.exit(optional ? 0 : code);
};
if (process.env.NDGRAD_NO_MPI === '1') done('NDGRAD_NO_MPI=1: the MPI module is not built', 0);

let unusable = '';
if (optional) {
  // In a child, with LD_BIND_NOW: a prebuild for another Open MPI or glibc fails here, not in training.
  const load = `const p = require(${JSON.stringify(require.resolve('node-gyp-build'))}).resolve(${JSON.stringify(__dirname)}); require(p); console.log(p)`;
  const r = spawnSync(process.execPath, ['-e', load], { encoding: 'utf8', env: { ...process.env, LD_BIND_NOW: '1' } });
  if (r.status === 0) done(`the MPI module (kvstore "dist_sync") loads from ${r.stdout.trim()}: nothing to build`, 0);
  const cause = (r.stderr.match(/^(?:Error|\w*Error): (.*)$/m) || [])[1] || `exit ${r.status}`;
  unusable = /No native build was found/.test(cause) ? 'no MPI prebuild fits this platform' : `the MPI prebuild does not load (${cause})`;
}
const which = spawnSync('mpicc', ['--showme:version'], { encoding: 'utf8' });
if (which.error || which.status !== 0) done(optional ? (unusable.startsWith('no MPI') ? '' : `${unusable}; ${hint}`) : `mpicc (Open MPI) was not found. ${hint}`, optional ? 0 : 1);
// npm's own node-gyp when run by npm (an installed package has no dev dependencies), else ours
let gyp = process.env.npm_config_node_gyp;
if (!gyp) try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  // an installed package without dev dependencies: npm ships node-gyp with itself
  gyp = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
}
if (unusable) console.log(`ndgrad: ${unusable}: building the MPI module from source`);
const r = spawnSync(process.execPath, [gyp, 'rebuild', '-j', 'max'], { cwd: __dirname, stdio: optional ? 'pipe' : 'inherit' });
if (r.status !== 0) done(`building the MPI module failed${optional ? ' (ignored; ' + hint + ')' : ''}`, 1);
done('built the MPI module (kvstore "dist_sync")', 0);
