#!/usr/bin/env node
'use strict';
// Per-op overhead of this tree against an older commit, side by side in one run: builds the base
// commit once into a git worktree under the temp dir (Release, as shipped), then runs
// bench/overhead.js and bench/autograd-overhead.js (ndgrad only, 1 thread) in both trees, alternating
// base/head so machine drift hits both alike, and prints the median of each figure and head/base.
// Each tree runs its own copy of the scripts against its own addon and dist/.
//
// node bench/compare-commits.js --base REV [--runs N] [--quick]   (this tree must be built: npm run build)
const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
};
const baseRev = opt('--base', null);
const runs = Math.max(1, parseInt(opt('--runs', '3'), 10) || 3);
const quick = args.includes('--quick');
if (!baseRev) {
  console.error('usage: node bench/compare-commits.js --base REV [--runs N] [--quick]');
  process.exit(2);
}

const git = (...a) => execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' }).trim();
const baseSha = git('rev-parse', '--verify', `${baseRev}^{commit}`);
const headSha = git('rev-parse', 'HEAD');
const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';

function sh(cmd, cmdArgs, cwd) {
  const r = spawnSync(cmd, cmdArgs, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} ${cmdArgs.join(' ')} failed in ${cwd}`);
}

// The base tree: a detached worktree sharing this repository's node_modules, built once.
function prepareBase() {
  const dir = path.join(os.tmpdir(), `ndgrad-base-${baseSha.slice(0, 12)}`);
  const stamp = path.join(dir, '.compare-built');
  if (fs.existsSync(stamp)) return dir;
  if (!fs.existsSync(dir)) git('worktree', 'add', '--detach', dir, baseSha);
  if (!fs.existsSync(path.join(dir, 'node_modules'))) fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  console.log(`building base ${baseSha.slice(0, 12)} in ${dir} ...`);
  sh('npx', ['node-gyp', 'rebuild', '-j', 'max'], dir);
  sh('npm', ['run', 'build:ts', '--silent'], dir);
  fs.writeFileSync(stamp, baseSha + '\n');
  return dir;
}

function runNode(dir, script, scriptArgs, env = {}) {
  const r = spawnSync(process.execPath, [path.join(dir, 'bench', script), ...scriptArgs], {
    cwd: dir, encoding: 'utf8', env: { ...process.env, NDGRAD_NUM_THREADS: '1', ...env }, maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`${script} failed in ${dir}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

// One sample of every figure of one tree: { label: µs }.
function sample(dir) {
  const figures = {};
  const lines = runNode(dir, 'overhead.js', quick ? ['--quick', '--json'] : ['--json']).trim().split('\n');
  const json = JSON.parse(lines[lines.length - 1]);
  for (const [k, v] of Object.entries(json.us)) figures[`overhead: ${k}`] = v;
  const tmp = path.join(os.tmpdir(), `ndgrad-compare-${process.pid}.jsonl`);
  fs.rmSync(tmp, { force: true });
  runNode(dir, 'autograd-overhead.js', ['--peers', 'ndgrad', '--threads', '1', '--rounds', '1', ...(quick ? ['--quick'] : [])],
    { NDGRAD_BENCH_RESULTS: tmp });
  for (const line of fs.readFileSync(tmp, 'utf8').trim().split('\n')) {
    for (const r of JSON.parse(line).results) if (r.medians.ndgrad1 !== undefined) figures[`autograd-overhead: ${r.name}`] = r.medians.ndgrad1;
  }
  fs.rmSync(tmp, { force: true });
  return { figures, backend: json.backend };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function main() {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js'))) throw new Error('this tree is not built: npm run build');
  const baseDir = prepareBase();
  const samples = { base: [], head: [] };
  let backend = null;
  for (let i = 0; i < runs; i++) {
    // ABBA order: each tree goes first in half the runs
    const order = i % 2 === 0 ? [['base', baseDir], ['head', ROOT]] : [['head', ROOT], ['base', baseDir]];
    for (const [which, dir] of order) {
      const s = sample(dir);
      samples[which].push(s.figures);
      backend = backend ?? s.backend;
    }
    process.stdout.write(`run ${i + 1}/${runs} done\n`);
  }
  const cpu = (os.cpus()[0] || {}).model || 'unknown CPU';
  console.log(`\nper-op overhead, base ${baseSha.slice(0, 12)} vs head ${headSha.slice(0, 12)}${dirty ? ' (+ uncommitted changes)' : ''}`);
  console.log(`${cpu} x${os.cpus().length}, node ${process.version}, nd.backend() ${JSON.stringify(backend)}, NDGRAD_NUM_THREADS=1,`);
  console.log(`medians of ${runs} alternating runs (µs per op, lower is better)\n`);
  console.log('| figure | base | head | head/base |');
  console.log('|---|---:|---:|---:|');
  for (const k of Object.keys(samples.head[0])) {
    if (!samples.base.every((s) => k in s)) continue;
    const b = median(samples.base.map((s) => s[k]));
    const h = median(samples.head.map((s) => s[k]));
    const f = (v) => (v < 10 ? v.toFixed(3) : v.toFixed(1));
    console.log(`| ${k} | ${f(b)} | ${f(h)} | ${(h / b).toFixed(2)} |`);
  }
}

try {
  main();
} catch (e) {
  console.error(e.message || e);
  process.exit(1);
}
