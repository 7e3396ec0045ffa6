'use strict';
// What to tell a user whose platform has no fitting prebuild and no working compiler: used by the
// install script (scripts/install.js) and by the runtime loader (lib/binding.ts). Plain CommonJS so
// it works at install time, before dist/ exists in a git checkout.
const fs = require('fs');
const path = require('path');

// The glibc the Linux prebuilds need (checked in CI by scripts/check-glibc-floor.js).
const GLIBC_FLOOR = '2.28';

function glibcVersion() {
  if (process.platform !== 'linux' || !process.report) return null;
  try {
    return process.report.getReport().header.glibcVersionRuntime || null;
  } catch (_) {
    return null;
  }
}

/** e.g. "linux-x64 (glibc 2.36)", "linux-x64 (musl)", "darwin-arm64" */
function describePlatform() {
  const tag = `${process.platform}-${process.arch}`;
  if (process.platform !== 'linux') return tag;
  const glibc = glibcVersion();
  return glibc ? `${tag} (glibc ${glibc})` : `${tag} (musl or another non-glibc libc)`;
}

/** The prebuilds shipped in <root>/prebuilds, e.g. ["linux-arm64 (glibc >= 2.28)", "linux-x64 (glibc >= 2.28)"]. */
function shippedPrebuilds(root) {
  const dir = path.join(root, 'prebuilds');
  let folders = [];
  try {
    folders = fs.readdirSync(dir).sort();
  } catch (_) {
    return [];
  }
  const out = [];
  for (const folder of folders) {
    let files = [];
    try {
      files = fs.readdirSync(path.join(dir, folder)).filter((f) => f.endsWith('.node'));
    } catch (_) {
      continue;
    }
    for (const f of files) {
      const libc = f.includes('.musl.') ? 'musl' : f.includes('.glibc.') ? `glibc >= ${GLIBC_FLOOR}` : '';
      out.push(libc ? `${folder} (${libc})` : folder);
    }
  }
  return out;
}

function buildTools() {
  switch (process.platform) {
    case 'linux':
      return [
        'a C++17 compiler, make and Python 3 (what node-gyp needs), e.g.',
        '    Debian/Ubuntu: apt-get install g++ make python3',
        '    RHEL/Fedora/Amazon Linux: dnf install gcc-c++ make python3',
        '    Alpine: apk add build-base python3',
      ].join('\n');
    case 'darwin':
      return 'the Xcode command line tools (xcode-select --install) and Python 3';
    case 'win32':
      return 'Visual Studio Build Tools with the "Desktop development with C++" workload, and Python 3';
    default:
      return 'a C++17 compiler, make and Python 3 (what node-gyp needs)';
  }
}

/** The whole explanation; `cause` is the error that stopped the load or build, if any. */
function helpMessage(root, cause) {
  const prebuilds = shippedPrebuilds(root);
  const lines = [
    `ndgrad: no usable native addon for this platform: ${describePlatform()}, Node ${process.version}.`,
    `  Prebuilt binaries in this package: ${prebuilds.length ? prebuilds.join(', ') : 'none'}.`,
  ];
  const glibc = glibcVersion();
  if (glibc && cmpVersion(glibc, GLIBC_FLOOR) < 0) {
    lines.push(`  The Linux prebuilds need glibc >= ${GLIBC_FLOOR}; this system has ${glibc}.`);
  }
  lines.push(
    `  Without a fitting prebuild ndgrad is compiled from source, which needs ${buildTools()}`,
    '  With those installed: npm rebuild ndgrad --build-from-source',
  );
  if (cause) {
    const msg = String((cause && cause.message) || cause).trim().split('\n')[0];
    lines.push(`  Cause: ${msg}`);
  }
  return lines.join('\n');
}

function cmpVersion(a, b) {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] || 0) !== (y[i] || 0)) return (x[i] || 0) - (y[i] || 0);
  }
  return 0;
}

module.exports = { GLIBC_FLOOR, describePlatform, shippedPrebuilds, helpMessage };
