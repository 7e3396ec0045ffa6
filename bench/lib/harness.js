'use strict';
// Shared driver for the benchmark scripts: starts one long-lived worker process per peer
// (ndgrad with NDGRAD_NUM_THREADS=1 and =N, PyTorch with torch.set_num_threads(1) and (N), TF.js wasm
// and cpu), sends them the same cases in interleaved rounds, and prints medians with the ratio
// ndgrad/peer. Workers answer one JSON line per request on stdout.
const { spawn, spawnSync } = require('child_process');
const os = require('os');
const path = require('path');
const readline = require('readline');

const BENCH = path.resolve(__dirname, '..');
const PEERS_DIR = path.join(BENCH, 'peers');
const PYTHON = '/usr/bin/python3';

function parseArgs(argv = process.argv.slice(2)) {
  const o = { quick: false, maxThreads: Math.max(1, Math.min(os.availableParallelism ? os.availableParallelism() : os.cpus().length, 64)), rounds: 3, only: null, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--threads') o.maxThreads = Math.max(1, parseInt(argv[++i], 10) || 1);
    else if (a.startsWith('--threads=')) o.maxThreads = Math.max(1, parseInt(a.slice(10), 10) || 1);
    else if (a === '--rounds') o.rounds = Math.max(1, parseInt(argv[++i], 10) || 1);
    else if (a === '--peers') o.only = argv[++i].split(',');
    else if (a === '--json') o.json = true;
    else if (a === '--help' || a === '-h') {
      console.log('options: --quick (1 round, short timings, slow peer cells skipped)  --threads N (columns 1 and N threads)\n' +
        '         --rounds R (default 3; medians)  --peers ndgrad,torch,tfjs-wasm,tfjs-cpu  --json (machine-readable results at the end)');
      process.exit(0);
    }
  }
  if (o.quick) o.rounds = 1;
  o.threads = o.maxThreads > 1 ? [1, o.maxThreads] : [1];
  return o;
}

class Worker {
  constructor(name, cmd, args, env) {
    this.name = name;
    this.dead = null;
    this.pending = null;
    this.stderr = '';
    this.proc = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'], cwd: BENCH });
    this.proc.on('error', (e) => this._die(String(e.message || e)));
    this.proc.on('exit', (code, sig) => this._die(`exited (${sig || code})${this.stderr ? ': ' + lastLine(this.stderr) : ''}`));
    this.proc.stderr.on('data', (d) => { this.stderr = (this.stderr + d).slice(-4000); });
    readline.createInterface({ input: this.proc.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return; // library chatter
      let msg;
      try { msg = JSON.parse(line); } catch { return; }
      const p = this.pending;
      this.pending = null;
      if (p) p.resolve(msg);
    });
  }
  _die(why) {
    if (!this.dead) this.dead = why;
    const p = this.pending;
    this.pending = null;
    if (p) p.resolve({ ok: false, error: `${this.name} ${why}` });
  }
  request(req) {
    if (this.dead) return Promise.resolve({ ok: false, error: `${this.name} ${this.dead}` });
    return new Promise((resolve) => {
      this.pending = { resolve };
      this.proc.stdin.write(JSON.stringify(req) + '\n');
    });
  }
  close() {
    if (!this.dead) { this.dead = 'closed'; try { this.proc.stdin.end(); } catch { /* gone */ } }
  }
}

function lastLine(s) {
  const ls = s.trim().split('\n');
  return ls[ls.length - 1].slice(0, 300);
}

function tfjsInstalled() {
  try {
    require.resolve('@tensorflow/tfjs-core', { paths: [PEERS_DIR] });
    return true;
  } catch {
    return false;
  }
}

let torchChecked = null;
function torchAvailable() {
  if (torchChecked === null) {
    const r = spawnSync(PYTHON, ['-c', 'import torch'], { env: torchEnv(1), encoding: 'utf8' });
    torchChecked = r.status === 0 ? '' : (r.error ? String(r.error.message) : lastLine(r.stderr || 'import failed'));
  }
  return torchChecked;
}

/**
 * OPENBLAS_CORETYPE for this CPU, from its flags: Debian's OpenBLAS 0.3.21 does not recognise recent
 * CPUs (Zen 4/5) and falls back to slow generic kernels unless told the core type. SkylakeX kernels
 * with AVX-512, Haswell kernels with AVX2; it replaces a value inherited from the environment (which
 * the note says). Returns { value, why }.
 */
function openblasCoretype() {
  const inherited = process.env.OPENBLAS_CORETYPE;
  const was = inherited ? `; was ${inherited} in the environment` : '';
  let flags = '';
  try {
    const line = require('fs').readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    flags = ` ${line ? line.split(':')[1] : ''} `;
  } catch {
    return { value: inherited, why: `no /proc/cpuinfo: ${inherited ? 'kept from the environment' : 'left to OpenBLAS'}` };
  }
  if (flags.includes(' avx512f ')) return { value: 'SkylakeX', why: `the CPU has avx512f${was}` };
  if (flags.includes(' avx2 ')) return { value: 'Haswell', why: `the CPU has avx2${was}` };
  return { value: undefined, why: `no avx2: left to OpenBLAS${was}` };
}

function torchEnv(threads) {
  // OPENBLAS_L2_SIZE unset (a wrong cache size makes OpenBLAS block badly); OPENBLAS_CORETYPE from
  // the CPU flags (openblasCoretype). Both are printed by runCases.
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  delete env.OPENBLAS_L2_SIZE;
  const ct = openblasCoretype().value;
  if (ct) env.OPENBLAS_CORETYPE = ct;
  else delete env.OPENBLAS_CORETYPE;
  return env;
}

/** The CPU's model name as lscpu prints it (os.cpus() as a fallback). */
function cpuModel() {
  const r = spawnSync('lscpu', [], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  const line = r.status === 0 ? r.stdout.split('\n').find((l) => /^Model name:/.test(l)) : null;
  return line ? line.replace(/^Model name:\s*/, '').trim() : os.cpus()[0].model.trim();
}

/** Starts the workers. Returns { peers: [{ key, lib, threads, label, worker }], notes: [] } */
function startPeers(opts) {
  const want = (k) => !opts.only || opts.only.some((o) => k.startsWith(o) || o.startsWith(k));
  const peers = [];
  const notes = [];
  for (const t of opts.threads) {
    if (!want('ndgrad')) break;
    const env = { ...process.env, NDGRAD_NUM_THREADS: String(t) };
    peers.push({ key: `ndgrad${t}`, lib: 'ndgrad', threads: t, label: `ndgrad(${t}t)`,
      worker: new Worker(`ndgrad(${t}t)`, process.execPath, [path.join(__dirname, 'ndgrad_worker.js')], env) });
  }
  if (want('torch')) {
    const why = torchAvailable();
    if (why) notes.push(`torch: skipped (python3 cannot import torch: ${why})`);
    else for (const t of opts.threads) {
      peers.push({ key: `torch${t}`, lib: 'torch', threads: t, label: `torch(${t}t)`,
        worker: new Worker(`torch(${t}t)`, PYTHON, [path.join(PEERS_DIR, 'torch_bench.py'), 'serve', '--threads', String(t), '--json'], torchEnv(t)) });
    }
  }
  if (want('tfjs')) {
    if (!tfjsInstalled()) notes.push('tfjs: not installed (cd bench/peers && npm install)');
    else for (const b of ['wasm', 'cpu']) {
      if (!want(`tfjs-${b}`)) continue;
      peers.push({ key: `tfjs-${b}`, lib: 'tfjs', threads: 1, label: `tfjs-${b}`,
        worker: new Worker(`tfjs-${b}`, process.execPath, [path.join(__dirname, 'tfjs_worker.js'), b], process.env) });
    }
  }
  return { peers, notes };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function fmt(v) {
  if (v === undefined || v === null || !isFinite(v)) return '-';
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}

/**
 * Runs `cases` ([{ name, workload, params, unit, higherIsBetter, slow?: [peerKey...] }]) on every peer in
 * interleaved rounds and prints one line per case. Returns the results.
 */
async function runCases(title, cases, opts) {
  const { peers, notes } = startPeers(opts);
  const cpu = cpuModel();
  console.log(`${title}: node ${process.version}, ${cpu} x${os.cpus().length}, load average ${os.loadavg()[0].toFixed(2)}`);
  const run = { script: path.basename(process.argv[1]), cpu, cpus: os.cpus().length, node: process.version, load: os.loadavg()[0],
    threads: opts.threads, quick: opts.quick, rounds: opts.rounds, backends: {}, torch: null };
  const backends = [];
  for (const p of peers.filter((q) => q.lib === 'ndgrad')) {
    const info = await p.worker.request({ workload: 'info' });
    backends.push(info.ok ? `${p.label} ${JSON.stringify(info.backend)}` : `${p.label} failed: ${info.error}`);
    if (info.ok) run.backends[p.key] = info.backend;
  }
  if (backends.length) console.log(`  nd.backend(): ${backends.join(', ')}`);
  const t0 = peers.find((p) => p.lib === 'torch');
  if (t0) {
    const info = await t0.worker.request({ workload: 'info' });
    const ct = openblasCoretype();
    if (info.ok) {
      console.log(`  torch ${info.backend.torch} (torch.set_num_threads per column), BLAS ${info.backend.blas}`);
      console.log(`  torch env: OPENBLAS_CORETYPE=${ct.value ?? '(unset)'} (${ct.why}), OPENBLAS_L2_SIZE unset`);
      run.torch = { version: info.backend.torch, blas: info.backend.blas, coretype: ct.value ?? null };
    } else notes.push(`torch: ${info.error}`);
  }
  for (const n of notes) console.log('  ' + n);
  if (opts.rounds > 1) console.log(`  medians of ${opts.rounds} interleaved rounds; ratio = ndgrad/peer at the same thread count (tfjs: vs ndgrad(1t))`);
  else console.log('  one round (--quick); ratio = ndgrad/peer at the same thread count (tfjs: vs ndgrad(1t))');
  const results = [];
  for (const c of cases) {
    const vals = {};
    const msgs = {};
    const extras = {};
    for (let r = 0; r < opts.rounds; r++) {
      for (const p of peers) {
        if (msgs[p.key]) continue; // skipped or failed: don't retry
        if (opts.quick && c.slow && c.slow.includes(p.key)) { msgs[p.key] = 'skipped in --quick (slow)'; continue; }
        if (p.lib === 'tfjs' && c.noTfjs) { msgs[p.key] = c.noTfjs; continue; }
        if (r > 0 && vals[p.key] && vals[p.key].secs > 10) continue; // one round is enough for a 10-second cell
        const res = await p.worker.request({ workload: c.workload, params: { ...c.params, quick: opts.quick } });
        if (res.ok) {
          (vals[p.key] ??= { xs: [], secs: 0 }).xs.push(res.value);
          vals[p.key].secs += res.seconds || 0;
          if (res.extra) (extras[p.key] ??= []).push(res.extra);
        } else msgs[p.key] = res.skipped ? `skipped: ${res.skipped}` : `failed: ${res.error}`;
      }
    }
    const med = {};
    for (const k of Object.keys(vals)) med[k] = median(vals[k].xs);
    results.push({ name: c.name, label: c.label ?? c.name, unit: c.unit, higherIsBetter: !!c.higherIsBetter, medians: med, messages: msgs, extras });
    printCase(c, peers, med, msgs, opts);
    // ndgrad failing a case (a wrong result, a crash) fails the run, so CI's quick bench catches it
    for (const t of opts.threads) {
      const m = msgs[`ndgrad${t}`];
      if (m && m.startsWith('failed')) process.exitCode = 1;
    }
    if (c.after) c.after(extras, peers);
  }
  for (const p of peers) p.worker.close();
  // bench/run.js collects every script's results for its markdown table
  if (process.env.NDGRAD_BENCH_RESULTS) {
    const rows = results.map(({ extras, ...r }) => r);
    require('fs').appendFileSync(process.env.NDGRAD_BENCH_RESULTS, JSON.stringify({ run, results: rows }) + '\n');
  }
  return results;
}

function printCase(c, peers, med, msgs, opts) {
  const parts = [];
  const ratio = (a, b) => (a !== undefined && b !== undefined ? fmt(a / b) : '-');
  const nd = (t) => med[`ndgrad${t}`];
  const ts = opts.threads;
  const show = (k) => (med[k] !== undefined ? fmt(med[k]) : (msgs[k] ? '(' + msgs[k] + ')' : '-'));
  const hasNd = peers.some((p) => p.lib === 'ndgrad');
  const hasTorch = peers.some((p) => p.lib === 'torch');
  if (hasNd) parts.push(`ndgrad ${ts.map((t) => show(`ndgrad${t}`)).join(' / ')} ${c.unit}`);
  if (hasTorch) {
    parts.push(`torch ${ts.map((t) => show(`torch${t}`)).join(' / ')}`);
    if (hasNd) parts.push(`ratio ${ts.map((t) => ratio(nd(t), med[`torch${t}`])).join(' / ')}`);
  }
  for (const p of peers.filter((q) => q.lib === 'tfjs')) {
    const v = med[p.key];
    if (v === undefined) parts.push(`${p.label} ${show(p.key)}`);
    else parts.push(`${p.label}${c.tfjsNote ? ' ' + c.tfjsNote : ''} ${fmt(v)} (ratio ${ratio(nd(1), v)})`);
  }
  const tcols = ts.length > 1 ? `[${ts.map((t) => t + 't').join(' / ')}]` : `[${ts[0]}t]`;
  console.log(`${c.name.padEnd(22)} ${tcols}  ${parts.join(' | ')}`);
  // Failures and skips of ndgrad go on their own line so they are not lost in the row.
  for (const t of ts) if (msgs[`ndgrad${t}`] && !msgs[`ndgrad${t}`].startsWith('skipped in')) {
    console.log(`  ndgrad(${t}t): ${msgs[`ndgrad${t}`]}`);
    break;
  }
}

/** Worker side (JS): time `fn` after warm-up; returns seconds per iteration (mean over the timed loop). */
function measure(fn, { quick = false, minTime, warmTime, minIters = 3, slowLimit = 5, sync = () => {}, syncEvery = 16 } = {}) {
  // `sync` waits for queued work (ndgrad: nd.waitAll) before each clock read, as MXNet times code;
  // `syncEvery`: at most this many iterations between waits
  minTime ??= quick ? 0.15 : 0.6;
  warmTime ??= quick ? 0.05 : 0.2;
  const now = () => Number(process.hrtime.bigint()) / 1e9;
  let t0 = now();
  fn();
  sync();
  const first = now() - t0;
  if (first > slowLimit) return { perIter: first, iters: 1, seconds: first, note: 'single iteration (incl. warm-up)' };
  t0 = now();
  while (now() - t0 < warmTime) fn();
  sync();
  let iters = 0;
  t0 = now();
  let el = 0;
  // a few iterations between waits, as a training loop issues the next step while one computes
  for (let batch = 1; iters < minIters || el < minTime; batch = Math.min(2 * batch, syncEvery)) {
    for (let i = 0; i < batch; i++) fn();
    iters += batch;
    sync();
    el = now() - t0;
  }
  return { perIter: el / iters, iters, seconds: el + first };
}

/** Worker side: the request loop (one JSON line in, one out). `handlers[workload](params)` may be async. */
function serve(handlers) {
  const rl = readline.createInterface({ input: process.stdin });
  const queue = [];
  let busy = false;
  const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
  async function pump() {
    if (busy) return;
    busy = true;
    while (queue.length) {
      const req = queue.shift();
      try {
        const h = handlers[req.workload];
        if (!h) out({ ok: false, skipped: `workload ${req.workload} not implemented` });
        else out(await h(req.params || {}));
      } catch (e) {
        out({ ok: false, error: String((e && e.message) || e).split('\n')[0].slice(0, 300) });
      }
    }
    busy = false;
  }
  rl.on('line', (l) => { if (l.trim()) { queue.push(JSON.parse(l)); pump(); } });
  rl.on('close', () => { const wait = () => (busy || queue.length ? setTimeout(wait, 10) : process.exit(0)); wait(); });
}

module.exports = { parseArgs, runCases, measure, serve, fmt, median, cpuModel, openblasCoretype, PEERS_DIR, BENCH };
