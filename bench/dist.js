#!/usr/bin/env node
// Distributed benchmarks (`npm run bench:dist`; needs Open MPI and `npm run build:dist`):
// 1. kvstore pushpull of a 64 MiB float32 buffer against a plain C MPI_Allreduce of the same size (and
//    against C summing in ndgrad's 4 MiB pieces),
//    each under `mpirun -np 2` with the same options, alternated 7 rounds (median of the rounds' medians).
// 2. Training throughput of the Fashion-MNIST CNN (synthetic 1x28x28 images, 64 per rank per step,
//    weak scaling) on 1 rank and on 2 ranks, alternated 7 rounds; each rank gets NDGRAD_NUM_THREADS =
//    cores / ranks.
// node bench/dist.js [--quick] [--rounds R] [--only pushpull|cnn]; as a worker under mpirun: --worker pushpull|cnn.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const args = process.argv.slice(2);
const flag = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const quick = args.includes('--quick');
const only = flag('--only', null);
const FLOATS = 16 << 20; // 64 MiB
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function pushpullWorker(iters) {
  const { nd, kvstore } = require('..');
  const kv = kvstore.create('dist_sync');
  const x = nd.zeros([FLOATS]);
  kv.init(0, x);
  for (let w = 0; w < 3; w++) kv.pushpull(0, x), x.waitToRead();
  const t = [];
  for (let k = 0; k < iters; k++) {
    kv.barrier();
    const t0 = process.hrtime.bigint();
    kv.pushpull(0, x);
    x.waitToRead();
    t.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  if (kv.rank === 0) console.log(JSON.stringify({ median: median(t), min: Math.min(...t) }));
}

async function cnnWorker(steps) {
  const { autograd, gluon, kvstore, nd } = require('..');
  const kv = kvstore.create('dist_sync');
  const net = require('../examples/distributed/lenet').lenet(gluon);
  net.initialize();
  const trainer = new gluon.Trainer(net.collectParams(), 'adam', { learningRate: 0.002 }, { kvstore: kv });
  const lossFn = new gluon.loss.SoftmaxCrossEntropyLoss();
  const per = 64;
  const x = nd.random.uniform(0, 1, [per, 1, 28, 28]);
  const y = nd.array(Array.from({ length: per }, (_, i) => (i + kv.rank) % 10));
  const step = () => {
    const loss = autograd.record(() => lossFn.forward(net.forward(x), y));
    loss.backward();
    trainer.step(per * kv.numWorkers);
    loss.dispose();
  };
  for (let w = 0; w < 3; w++) step();
  nd.waitAll();
  kv.barrier();
  const t0 = process.hrtime.bigint();
  for (let s = 0; s < steps; s++) step();
  nd.waitAll();
  kv.barrier();
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  if (kv.rank === 0) console.log(JSON.stringify({ imagesPerSec: (steps * per * kv.numWorkers) / sec, stepMs: (sec / steps) * 1000 }));
}

const MPIRUN = ['--allow-run-as-root', '--oversubscribe', '--bind-to', 'none', '--mca', 'btl', 'self,vader,tcp', '--mca', 'btl_tcp_if_include', 'lo'];

function mpirun(np, cmd, env = {}) {
  const r = spawnSync('mpirun', [...MPIRUN, '-np', String(np), ...cmd], { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`mpirun ${cmd.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('{')));
}

function main() {
  const rounds = Number(flag('--rounds', quick ? 2 : 7));
  const iters = quick ? 5 : 20;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ndgrad-bench-dist-'));
  const exe = path.join(tmp, 'allreduce');
  const cc = spawnSync('mpicc', ['-O2', '-o', exe, path.join(__dirname, 'mpi', 'allreduce.c')], { stdio: 'inherit' });
  if (cc.status !== 0) throw new Error('mpicc failed: install Open MPI (Debian/Ubuntu: apt-get install libopenmpi-dev openmpi-bin)');
  console.log(`bench/dist: ${os.cpus().length} cores, load ${load()} at start`);
  if (only !== 'cnn') pushpullRows(exe, rounds, iters);
  if (only !== 'pushpull') cnnRows(rounds);
  console.log(`load ${load()} at end`);
  fs.rmSync(tmp, { recursive: true, force: true });
}

const load = () => os.loadavg()[0].toFixed(2);

function pushpullRows(exe, rounds, iters) {
  const c = [], pieces = [], js = [];
  // ndgrad's sums go in pieces of 4 MiB (native/dist/dist.cc, kPieceBytes): C in the same pieces too
  const PIECE = 1 << 20;
  for (let r = 0; r < rounds; r++) {
    c.push(mpirun(2, [exe, String(FLOATS), String(iters)]).median);
    pieces.push(mpirun(2, [exe, String(FLOATS), String(iters), String(PIECE)]).median);
    js.push(mpirun(2, [process.execPath, __filename, '--worker', 'pushpull', String(iters)]).median);
  }
  const [mc, mp, mj] = [median(c), median(pieces), median(js)];
  const gbs = (s) => ((FLOATS * 4) / s / 1e9).toFixed(2);
  const ms = (s) => (s * 1000).toFixed(1);
  console.log(`allreduce 64 MiB float32, 2 ranks: C MPI_Allreduce ${ms(mc)} ms (${gbs(mc)} GB/s), ` +
    `kvstore pushpull ${ms(mj)} ms (${gbs(mj)} GB/s): ${(mc / mj).toFixed(2)}x of C (goal >= 0.9x)`);
  console.log(`  C in 4 MiB pieces (as ndgrad sums): ${ms(mp)} ms; pushpull ${(mp / mj).toFixed(2)}x of it`);
  console.log(`  per round, C ms: ${c.map(ms).join(' ')}; C in pieces: ${pieces.map(ms).join(' ')}; pushpull ms: ${js.map(ms).join(' ')}`);
}

function cnnRows(rounds) {
  const steps = quick ? 10 : 60;
  const cores = os.cpus().length;
  const cnn = (np, threads) => mpirun(np, [process.execPath, __filename, '--worker', 'cnn', String(steps)], { NDGRAD_NUM_THREADS: String(threads) }).imagesPerSec;
  // 1 rank with every core, 1 rank with one thread (what each of 2 ranks gets), 2 ranks
  const runs = [[1, cores], [1, Math.max(1, cores >> 1)], [2, Math.max(1, cores >> 1)]];
  const got = runs.map(() => []);
  for (let r = 0; r < rounds; r++) runs.forEach(([np, th], i) => got[i].push(cnn(np, th)));
  const m = got.map(median);
  console.log(`Fashion-MNIST LeNet, 64 images per rank per step, images/s (median of ${rounds}): ` +
    runs.map(([np, th], i) => `${np} rank(s) x ${th} thread(s) ${m[i].toFixed(0)}`).join(', ') +
    `; 2 ranks vs 1: ${(m[2] / m[0]).toFixed(2)}x (vs 1 rank x ${runs[1][1]} thread(s): ${(m[2] / m[1]).toFixed(2)}x)`);
  runs.forEach(([np, th], i) => console.log(`  per round, ${np} rank(s) x ${th} thread(s): ${got[i].map((v) => v.toFixed(0)).join(' ')}`));
}

if (args[0] === '--worker') {
  const f = args[1] === 'pushpull' ? pushpullWorker : cnnWorker;
  f(Number(args[2])).catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  main();
}
