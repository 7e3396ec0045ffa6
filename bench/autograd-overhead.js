'use strict';
// Autograd overhead on tiny arrays (4 float32), where the math is negligible and the cost is the
// tape: µs per recorded op (forward under record, including the op itself), the same op unrecorded
// for reference, and µs of backward per recorded op. Goals: <= 1.0 µs each
// (PyTorch 1.13 on this machine: 2.9 µs recorded, 3.5 µs backward).
// node bench/autograd-overhead.js [--quick]   (needs ../dist: npx tsc -p tsconfig.build.json)
const { nd, autograd } = require('../dist');

const quick = process.argv.includes('--quick');
const CHAIN = 1000; // recorded ops per graph
const REPS = quick ? 20 : 100;
const ROUNDS = quick ? 3 : 7;

const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];
const now = () => Number(process.hrtime.bigint()) / 1e3; // µs

function chain(kind, x, y0) {
  let y = y0;
  if (kind === 'unary sin') for (let i = 0; i < CHAIN; i++) y = nd.sin(y);
  else if (kind === 'binary mul') for (let i = 0; i < CHAIN; i++) y = y.mul(x);
  else for (let i = 0; i < CHAIN; i++) y = y.mul(0.999);
  return y;
}

function measure(kind) {
  const x = nd.array([0.5, 0.25, 0.125, 1]);
  x.attachGrad();
  const rec = [];
  const plain = [];
  const bwd = [];
  for (let r = 0; r < ROUNDS; r++) {
    let tRec = 0;
    let tPlain = 0;
    let tBwd = 0;
    for (let k = 0; k < REPS; k++) {
      nd.tidy(() => {
        const c = x.detach();
        let t0 = now();
        chain(kind, x, c);
        tPlain += now() - t0;
      });
      nd.tidy(() => {
        autograd.setRecording(true);
        let t0 = now();
        const y = chain(kind, x, x);
        tRec += now() - t0;
        autograd.setRecording(false);
        t0 = now();
        y.backward();
        tBwd += now() - t0;
      });
    }
    const n = REPS * CHAIN;
    rec.push(tRec / n);
    plain.push(tPlain / n);
    bwd.push(tBwd / n);
  }
  x.dispose();
  return { recorded: median(rec), unrecorded: median(plain), backward: median(bwd) };
}

// warm-up (allocator cache, JIT)
for (const kind of ['unary sin', 'binary mul', 'scalar mul']) measure(kind);

console.log(`autograd overhead (float32[4], ${CHAIN}-op chains, median of ${ROUNDS} rounds; µs per op, lower is better)`);
console.log('op           recorded  unrecorded  backward   (goal <= 1.0; PyTorch 1.13: 2.9 recorded, 3.5 backward)');
const results = {};
for (const kind of ['unary sin', 'binary mul', 'scalar mul']) {
  const m = measure(kind);
  results[kind] = m;
  console.log(`${kind.padEnd(12)} ${m.recorded.toFixed(3).padStart(8)}  ${m.unrecorded.toFixed(3).padStart(10)}  ${m.backward.toFixed(3).padStart(8)}`);
}
if (process.argv.includes('--json')) console.log(JSON.stringify({ bench: 'autograd-overhead', results }));
