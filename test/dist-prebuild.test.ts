// The MPI module's prebuild (DIST.md: "a fitting prebuild means the install compiles nothing"):
// lib/kvstore.ts loads it through node-gyp-build like the main addon (a local build, else
// prebuilds/<platform>-<arch>/ndgrad-dist.<libc>.node); the install hook (native/dist/build.js --if-mpi)
// uses a prebuild that loads and compiles nothing; one that cannot load (no Open MPI library, or
// another ABI) makes 'dist_sync' NO_MPI saying what it needs. NDGRAD_DIST_PREBUILD (node-gyp-build's
// override, named after native/dist/package.json) points both at a directory laid out as an installed
// package's native/dist. The packed tarball itself is checked by scripts/smoke-pack.sh (.ci/run).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DIST_DIR, distModule, mpiMissing, run } from './dist-helpers';

const skip = mpiMissing();
if (skip) console.log(`dist-prebuild: skipping: ${skip}`);
const mpiTest = skip ? test.skip : test;
const loadLib = JSON.stringify(path.join(__dirname, 'fixtures', 'load-lib'));
const libc = process.platform === 'linux' ? '.glibc' : '';

let dir = '';
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ndgrad-dist-prebuild-'));
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** A native/dist with only a prebuild: the module built here, its libmpi dependency renamed or not. */
function prebuiltDir(name: string, needs = 'libmpi.so.40'): string {
  const d = path.join(dir, name);
  const bin = fs.readFileSync(distModule());
  const at = bin.indexOf('libmpi.so.40\0');
  expect(at).toBeGreaterThan(0);
  bin.write(needs, at, 'latin1');  // same length: the ELF's other offsets stay right
  fs.mkdirSync(path.join(d, 'prebuilds', `${process.platform}-${process.arch}`), { recursive: true });
  fs.copyFileSync(path.join(DIST_DIR, 'package.json'), path.join(d, 'package.json'));
  fs.writeFileSync(path.join(d, 'prebuilds', `${process.platform}-${process.arch}`, `ndgrad-dist${libc}.node`), bin);
  return d;
}

const createAndSum = `const { kvstore, nd } = require(${loadLib});
  let r;
  try { const kv = kvstore.create('dist_sync'); kv.init(0, nd.zeros([3])); const x = nd.array([1, 2, 3]); kv.pushpull(0, x);
    r = { rank: kv.rank, n: kv.numWorkers, sum: x.toArray() }; } catch (e) { r = { code: e.code, message: e.message }; }
  console.log(JSON.stringify(r));`;
const report = (out: string) => JSON.parse(out.split('\n').find((l) => l.startsWith('{'))!);
// no mpicc on PATH, and a node-gyp that fails: the install hook cannot compile anything
const noCompiler = { PATH: '/nonexistent', npm_config_node_gyp: '/nonexistent/node-gyp.js' };

mpiTest("'dist_sync' loads the prebuild when there is no local build", async () => {
  const r = await run(['-e', createAndSum], { NDGRAD_DIST_PREBUILD: prebuiltDir('ok') });
  expect(report(r.stdout)).toEqual({ rank: 0, n: 1, sum: [1, 2, 3] });
});

mpiTest('a prebuild whose Open MPI library is missing: NO_MPI naming the library and what to install', async () => {
  const r = await run(['-e', createAndSum], { NDGRAD_DIST_PREBUILD: prebuiltDir('nolib', 'libmpx.so.40') });
  const e = report(r.stdout);
  expect(e.code).toBe('NO_MPI');
  expect(e.message).toContain(`prebuilds${path.sep}${process.platform}-${process.arch}${path.sep}ndgrad-dist${libc}.node could not be loaded`);
  expect(e.message).toContain('libmpx.so.40');
  expect(e.message).toContain('needs Open MPI 4.1 (libmpi.so.40');
  expect(e.message).toContain('npm run build:dist');
});

describe('the install hook (native/dist/build.js --if-mpi)', () => {
  const hook = (env: Record<string, string>) => run([path.join(DIST_DIR, 'build.js'), '--if-mpi'], { ...noCompiler, ...env });

  mpiTest('a prebuild that loads: nothing is compiled', async () => {
    const d = prebuiltDir('hook-ok');
    const r = await hook({ NDGRAD_DIST_PREBUILD: d });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`loads from ${path.join(d, 'prebuilds')}`);
    expect(r.stdout).toContain('nothing to build');
    expect(fs.existsSync(path.join(d, 'build'))).toBe(false);
  });

  mpiTest('a prebuild that does not load and no mpicc: says why, and the install still succeeds', async () => {
    const r = await hook({ NDGRAD_DIST_PREBUILD: prebuiltDir('hook-nolib', 'libmpx.so.40') });
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/the MPI prebuild does not load \(.*libmpx\.so\.40.*\); Open MPI is needed/);
  });
});
