#!/usr/bin/env node
// Runs the benchmark scripts in sequence (`npm run bench`, `npm run bench -- --quick`), then prints
// one markdown table of every workload they measured: ndgrad, the peers and the ratios, with the run's
// date, CPU (lscpu), nd.backend() and the peers' versions. The README's performance table is this
// table, pasted from a full run. To add a benchmark, append its file name to SCRIPTS.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { fmt, PEERS_DIR } = require('./lib/harness');

const SCRIPTS = [
  'overhead.js',
  'autograd-overhead.js',
  'fc.js',
  'matmul.js',
  'elementwise.js',
  'mlp.js',
  'cnn.js',
  'gluon.js',
  'engine.js',
];

const args = process.argv.slice(2);
const resultsFile = path.join(os.tmpdir(), `ndgrad-bench-${process.pid}.jsonl`);
fs.rmSync(resultsFile, { force: true });
const started = new Date();
let failed = 0;
for (const s of SCRIPTS) {
  console.log(`\n=== bench/${s} ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [path.join(__dirname, s), ...args], {
    stdio: 'inherit',
    env: { ...process.env, NDGRAD_BENCH_RESULTS: resultsFile },
  });
  if (r.status !== 0) {
    console.error(`bench/${s} failed (${r.signal || r.status})`);
    failed++;
  }
}

let runs = [];
try {
  runs = fs.readFileSync(resultsFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
} catch {
  /* no script reported */
}
fs.rmSync(resultsFile, { force: true });
if (runs.length) console.log('\n' + table(runs));
process.exit(failed ? 1 : 0);

function tfjsVersion() {
  try {
    return require(require.resolve('@tensorflow/tfjs-core/package.json', { paths: [PEERS_DIR] })).version;
  } catch {
    return null;
  }
}

function table(runs) {
  const first = runs[0].run;
  const threads = [...new Set(runs.flatMap((r) => r.run.threads))].sort((a, b) => a - b);
  const backend = Object.values(runs.find((r) => Object.keys(r.run.backends).length)?.run.backends ?? {})[0];
  const torch = runs.find((r) => r.run.torch)?.run.torch;
  const hasTfjs = runs.some((r) => r.results.some((c) => Object.keys(c.medians).some((k) => k.startsWith('tfjs')) ||
    Object.keys(c.messages).some((k) => k.startsWith('tfjs'))));
  const tfv = hasTfjs ? tfjsVersion() : null;
  const rounds = first.quick ? 'one round (--quick: short loops; not for publishing)' : `medians of ${first.rounds} interleaved rounds`;
  const lines = [];
  lines.push(`Run of ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC (\`npm run bench${args.length ? ' -- ' + args.join(' ') : ''}\`): ` +
    `${first.cpu} (lscpu), ${first.cpus} CPUs, load average ${first.load.toFixed(2)} at the start; node ${first.node}; ` +
    `ndgrad \`nd.backend()\` = \`${JSON.stringify(backend ?? null)}\` (threads per column set by NDGRAD_NUM_THREADS); ` +
    (torch ? `PyTorch ${torch.version} (BLAS ${path.basename(torch.blas)}, OPENBLAS_CORETYPE=${torch.coretype ?? 'unset'}, OPENBLAS_L2_SIZE unset)` : 'PyTorch not run') +
    `; ${tfv ? `TF.js ${tfv}` : 'TF.js not run'}; ${rounds}. Ratio = ndgrad / PyTorch at the same thread count ` +
    '(below 1 is faster for times, slower for GFLOP/s); every cell was checked against a float64 reference before it was timed.');
  lines.push('');
  const tcols = threads.map((t) => `${t}`).join(' / ');
  lines.push(`| workload (float32) | ndgrad ${tcols} threads | PyTorch ${tcols} threads | ratio | TF.js wasm / cpu | script |`);
  lines.push('|---|---|---|---|---|---|');
  const cell = (c, key) => {
    if (c.medians[key] !== undefined) return fmt(c.medians[key]);
    const m = c.messages[key];
    if (!m) return '–';
    if (m.includes('wrong result')) return '**wrong result**';
    if (m.startsWith('failed')) return 'fails';
    return '–';
  };
  for (const { run, results } of runs)
    for (const c of results) {
      const ts = run.threads;
      const nd = ts.map((t) => cell(c, `ndgrad${t}`)).join(' / ');
      const th = ts.map((t) => cell(c, `torch${t}`)).join(' / ');
      const ratio = ts
        .map((t) => (c.medians[`ndgrad${t}`] !== undefined && c.medians[`torch${t}`] !== undefined ? fmt(c.medians[`ndgrad${t}`] / c.medians[`torch${t}`]) : '–'))
        .join(' / ');
      const tf = ['tfjs-wasm', 'tfjs-cpu'].map((k) => cell(c, k)).join(' / ');
      lines.push(`| ${c.label} | ${nd} | ${th} | ${ratio} | ${tf} | \`bench/${run.script}\` |`);
    }
  return lines.join('\n');
}
