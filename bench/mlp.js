'use strict';
// MLP 784-512-512-10, batch 128, relu, summed softmax cross-entropy, SGD step (ms per step; lower is
// better). ndgrad: FullyConnected under autograd.record, backward, then w -= lr * grad in one fused
// in-place pass per parameter (nd.multiSgdUpdate with one weight, wd 0); torch: nn.Linear +
// F.cross_entropy(reduction='sum') + the same update as p.sub_(p.grad, alpha=lr) under no_grad;
// TF.js: optimizer.minimize.
// Also prints ndgrad's allocator counters (nd.memory()) after the warm-up step and after the timed steps:
// systemAllocs must not grow in steady state.
// node bench/mlp.js [--quick] [--threads N] [--rounds R] [--peers ...]
const { parseArgs, runCases } = require('./lib/harness');

const opts = parseArgs();
const mem = (m) => `numArrays ${m.numArrays}, numBytes ${m.numBytes}, cachedBytes ${m.cachedBytes}, systemAllocs ${m.systemAllocs}, cacheHits ${m.cacheHits}`;
const cases = [{
  name: 'MLP step b=128',
  label: 'MLP 784-512-512-10, batch 128, SGD step (ms)',
  workload: 'mlp',
  params: { batch: 128, steps: 10 },
  unit: 'ms',
  slow: ['tfjs-cpu'], // about a second a step
  after(extras, peers) {
    for (const p of peers.filter((q) => q.lib === 'ndgrad')) {
      const xs = extras[p.key];
      if (!xs || !xs.length) continue;
      // The first round ran in a fresh worker: its warm-up step was the process's first step.
      const first = xs[0];
      const last = xs[xs.length - 1];
      const steps = xs.reduce((n, e) => n + e.steps, 0) + xs.length - 1; // + the other rounds' first steps
      const grew = last.afterSteps.systemAllocs - first.afterWarm.systemAllocs;
      console.log(`  ${p.label} loss via ${first.loss}; nd.memory() after the first step: ${mem(first.afterWarm)}`);
      console.log(`  ${p.label} after ${String(steps).padStart(4)} more steps:            ${mem(last.afterSteps)}`);
      console.log(`  ${p.label} steady state: ${grew === 0 ? 'no system allocations (systemAllocs unchanged)' : `systemAllocs grew by ${grew}`}`);
    }
  },
}];
runCases('MLP training step (float32, ms/step, lower is better)', cases, opts).catch((e) => { console.error(e); process.exit(1); });
