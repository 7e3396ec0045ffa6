#!/usr/bin/env node
// Linker settings that keep the Linux glibc build loadable on glibc 2.28 (see
// native/src/compat/glibc_compat.cc for why). Used by binding.gyp:
//   node native/glibc-compat.js enabled <target_arch>   prints 1 or 0
//   node native/glibc-compat.js ldflags <target_arch>   prints the linker flags (empty when disabled)
// Enabled for Linux x64/arm64 builds on a glibc host (a cross build targets glibc too) whose
// compiler ($CXX, default g++) has libstdc++.a; NDGRAD_GLIBC_COMPAT=0 builds a plain, dynamically
// linked addon instead.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const [mode, arch = process.arch] = process.argv.slice(2);

function enabled() {
  if (process.env.NDGRAD_GLIBC_COMPAT === '0') return false;
  if (process.platform !== 'linux' || !['x64', 'arm64'].includes(arch)) return false;
  const header = process.report && process.report.getReport().header;
  return Boolean(header && header.glibcVersionRuntime) && haveStaticLibstdcxx();
}

// RHEL/Fedora ship libstdc++.a separately (libstdc++-static): without it a build from source links
// libstdc++ dynamically, as any addon does, rather than failing.
function haveStaticLibstdcxx() {
  const cxx = (process.env.CXX || 'g++').trim().split(/\s+/);
  try {
    const p = execFileSync(cxx[0], [...cxx.slice(1), '-print-file-name=libstdc++.a'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return path.isAbsolute(p) && fs.existsSync(p);
  } catch (_) {
    return false;
  }
}

// The wrapped symbols are the NDGRAD_PIN(...) and NDGRAD_LOCAL(...) entries of the compat source, so
// the list lives in one place.
function wrappedSymbols() {
  const src = fs.readFileSync(path.join(__dirname, 'src', 'compat', 'glibc_compat.cc'), 'utf8');
  const syms = [];
  for (const m of src.matchAll(/^\s*(?:NDGRAD_PIN\(\s*[^,]+,\s*(\w+)|(?!\/\/).*\/\/ NDGRAD_LOCAL\((\w+)\))/gm)) syms.push(m[1] || m[2]);
  return syms;
}

if (mode === 'enabled') {
  process.stdout.write(enabled() ? '1' : '0');
} else if (mode === 'ldflags') {
  if (enabled()) {
    const flags = [
      '-static-libstdc++', // no GLIBCXX_3.4.30 demand on the user's system
      '-Wl,--exclude-libs,ALL', // keep the static libstdc++ private (no interposition with Node's)
      ...wrappedSymbols().map((s) => `-Wl,--wrap=${s}`),
    ];
    // libgcc stays dynamic on purpose: -static-libgcc pulls in _dl_find_object@GLIBC_2.35.
    process.stdout.write(flags.join(' '));
  }
} else if (mode === 'symbols') {
  process.stdout.write(wrappedSymbols().join('\n') + '\n');
} else {
  console.error('usage: node native/glibc-compat.js <enabled|ldflags|symbols> [target_arch]');
  process.exit(2);
}
