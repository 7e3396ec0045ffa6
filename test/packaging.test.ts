// Packaging: what a user sees when the addon cannot be loaded or installed, and the package entry
// points. (The glibc floor, the arm64 prebuild and the packed install are checked by .ci/run with
// scripts/check-glibc-floor.js, scripts/arm64-kernels-test.sh and scripts/smoke-pack.sh.)
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadNative } from '../lib/binding';

const root = path.join(__dirname, '..');
const platformTag = `${process.platform}-${process.arch}`;

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ndgrad-packaging-'));
}

describe('packaging', () => {
  test('when no addon fits, loading names the platform, the shipped prebuilds and what to install', () => {
    const dir = tempDir();
    try {
      // prebuilds for platforms other than this one: node-gyp-build must reject both
      const other = process.arch === 'riscv64' ? 'linux-s390x' : 'linux-riscv64';
      fs.mkdirSync(path.join(dir, 'prebuilds', other), { recursive: true });
      fs.writeFileSync(path.join(dir, 'prebuilds', other, 'ndgrad.glibc.node'), '');
      fs.mkdirSync(path.join(dir, 'prebuilds', 'win32-ia32'));
      fs.writeFileSync(path.join(dir, 'prebuilds', 'win32-ia32', 'ndgrad.node'), '');
      let err: (Error & { cause?: unknown }) | undefined;
      try {
        loadNative(dir);
      } catch (e) {
        err = e as Error;
      }
      expect(err).toBeDefined();
      const msg = err!.message;
      expect(msg).toContain(`no usable native addon for this platform: ${platformTag}`);
      expect(msg).toContain(`Node ${process.version}`);
      expect(msg).toContain(`Prebuilt binaries in this package: ${other} (glibc >= 2.28), win32-ia32.`);
      expect(msg).toMatch(/compiled from source, which needs .*(C\+\+17 compiler|Xcode|Visual Studio)/);
      expect(msg).toContain('npm rebuild ndgrad --build-from-source');
      expect(msg).toContain('Cause: No native build was found');
      expect((err!.cause as Error).message).toContain('No native build was found');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a prebuild that fits by name but cannot be loaded gets the same explanation with the reason', () => {
    const dir = tempDir();
    try {
      // what a prebuild for a newer glibc or another CPU looks like to this process: dlopen fails
      fs.mkdirSync(path.join(dir, 'prebuilds', platformTag), { recursive: true });
      const libc = process.platform === 'linux' ? '.glibc' : '';
      fs.writeFileSync(path.join(dir, 'prebuilds', platformTag, `ndgrad${libc}.node`), 'not an ELF file');
      let msg = '';
      try {
        loadNative(dir);
      } catch (e) {
        msg = (e as Error).message;
      }
      expect(msg).toContain(`no usable native addon for this platform: ${platformTag}`);
      expect(msg).toContain(`Prebuilt binaries in this package: ${platformTag}`);
      expect(msg).toMatch(/Cause: .*(invalid ELF header|not a valid|too short|file too short)/i);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the install script explains the platform and fails when the addon can neither load nor build', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    // then the optional MPI module, which never fails the install (native/dist/build.js)
    expect(pkg.scripts.install).toBe('node scripts/install.js && node native/dist/build.js --if-mpi');
    for (const f of ['scripts/install.js', 'scripts/install-help.js']) expect(pkg.files).toContain(f);
    // An installed copy with no prebuild and no binding.gyp: node-gyp-build's load test fails, then
    // its node-gyp build fails (a missing header dir makes that fast and offline).
    const dir = tempDir();
    try {
      fs.mkdirSync(path.join(dir, 'scripts'));
      for (const f of ['install.js', 'install-help.js']) fs.copyFileSync(path.join(root, 'scripts', f), path.join(dir, 'scripts', f));
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'ndgrad', version: '0.0.0' }));
      fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
      const r = spawnSync(process.execPath, ['scripts/install.js'], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, NDGRAD_PREBUILD: '', npm_config_nodedir: path.join(dir, 'no-node-headers'), npm_config_build_from_source: '' },
        timeout: 60000,
      });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(`ndgrad: no usable native addon for this platform: ${platformTag}`);
      expect(r.stderr).toContain('Prebuilt binaries in this package: none.');
      expect(r.stderr).toContain('npm rebuild ndgrad --build-from-source');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the exports map serves require, import (one shared instance) and the types', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    const entry = pkg.exports['.'];
    expect(Object.keys(entry)[0]).toBe('types'); // TypeScript needs "types" first
    for (const cond of ['types', 'import', 'require']) expect(fs.existsSync(path.join(root, entry[cond]))).toBe(true);
    // the package resolves itself by name through "exports" (Node's self-reference)
    const script = [
      "import { createRequire } from 'module';",
      "const esm = await import('ndgrad');",
      "const cjs = createRequire(process.cwd() + '/')('ndgrad');",
      "if (esm.nd !== cjs.nd || esm.default.nd !== cjs.nd || esm.NDArray !== cjs.NDArray) throw new Error('two instances');",
      'console.log(esm.nd.array([1, 2]).mul(2).toString().split("\\n")[0]);',
    ].join('\n');
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('[2. 4.]');
  });
});
