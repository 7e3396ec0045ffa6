#!/usr/bin/env node
// `npm run check:isa`: no AVX instruction may appear outside the ISA kernel objects. Disassembles
// every object file of the native build (build/**/*.o) with objdump and fails if a ymm/zmm register
// or a VEX/EVEX-encoded (v-prefixed SIMD) instruction shows up in any object other than the
// AVX2 / AVX-512 kernel translation units. Skips with a message when objdump is missing.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const buildDir = path.join(root, 'build');

function has(cmd) {
  const r = spawnSync(cmd, ['--version'], { stdio: 'ignore' });
  return !r.error && r.status === 0;
}
if (!has('objdump')) {
  console.log('check:isa skipped: objdump not found (install binutils to run it)');
  process.exit(0);
}
if (process.arch !== 'x64') {
  console.log(`check:isa skipped: only x64 builds have AVX objects (this is ${process.arch})`);
  process.exit(0);
}

function walk(dir, out) {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith('.o')) out.push(p);
  }
  return out;
}

const objects = walk(buildDir, []);
if (objects.length === 0) {
  console.error('check:isa: no object files under build/ (build the addon first: npm run build:native)');
  process.exit(1);
}

// avx2.o / avx512.o / bf16_avx512.o (node-gyp) or avx2.cc.o / avx512.cc.o / bf16_avx512.cc.o (cmake);
// bf16_avx512 is the AVX512_BF16 GEMM kernel, called only when CPUID reports the extension
const ISA_OBJECT = /^(avx2|avx512|bf16_avx512)(\.cc)?\.o$/;
// Non-SIMD x86 mnemonics that start with 'v' (virtualisation, segment verification).
const NOT_SIMD = /^(verr|verw|vmcall|vmlaunch|vmresume|vmxoff|vmxon|vmread|vmwrite|vmptrld|vmptrst|vmclear|vmfunc|vmrun|vmload|vmsave|vmmcall|vmgexit)$/;

let isaObjects = 0;
const offenders = [];
for (const obj of objects) {
  const rel = path.relative(root, obj);
  if (ISA_OBJECT.test(path.basename(obj))) {
    isaObjects++;
    continue;
  }
  const r = spawnSync('objdump', ['-d', '--no-show-raw-insn', obj], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) {
    console.error(`check:isa: objdump failed on ${rel}: ${r.stderr}`);
    process.exit(1);
  }
  let fn = '?';
  const hits = [];
  for (const line of r.stdout.split('\n')) {
    const head = /^[0-9a-f]+ <(.+)>:$/.exec(line);
    if (head) {
      fn = head[1];
      continue;
    }
    const m = /^\s*[0-9a-f]+:\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const [, mnemonic, operands] = m;
    const wide = /%[yz]mm\d+/.test(operands);
    const vex = mnemonic.startsWith('v') && !NOT_SIMD.test(mnemonic);
    if (wide || vex) hits.push(`${fn}: ${mnemonic} ${operands}`.trim());
  }
  if (hits.length) offenders.push({ rel, hits });
}

if (offenders.length) {
  for (const { rel, hits } of offenders) {
    console.error(`AVX instructions outside the ISA kernel objects in ${rel} (${hits.length}):`);
    for (const h of hits.slice(0, 5)) console.error(`    ${h}`);
  }
  process.exit(1);
}
console.log(`check:isa: ${objects.length - isaObjects} baseline objects are free of AVX; ${isaObjects} ISA kernel objects skipped`);
