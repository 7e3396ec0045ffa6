'use strict';
// Gluon training (issue 10): LeNet (d2l.ai 6.6) on Fashion-MNIST-shaped in-memory data, seconds per
// 60000-sample epoch (timed over n samples, scaled) for ndgrad's DataLoader + Sequential + loss +
// Trainer('sgd') against torch.nn + torch.optim.SGD + a DataLoader over tensors, same model and batch;
// and the optimizer step alone on a 10M-parameter model: ndgrad's fused Adam against
// torch.optim.Adam(foreach=True), with each library's copy bandwidth on the same sizes, same run.
// Each peer checks its loss before and after one step (or its Adam update) against float64 first.
// node bench/gluon.js [--quick] [--threads N] [--rounds R] [--peers ...]   (needs dist/: npm run build:ts)
const { parseArgs, runCases } = require('./lib/harness');

const opts = parseArgs();
const cases = [{
  name: 'Gluon LeNet epoch b=256',
  label: 'LeNet (d2l 6.6) epoch of 60000, batch 256, DataLoader+net+loss+Trainer (s)',
  workload: 'gluonLenet',
  params: { batch: 256, n: opts.quick ? 1024 : 12800 },
  unit: 's',
  noTfjs: 'no Gluon/torch.nn equivalent in the tfjs worker',
}, {
  name: 'Adam step 10M',
  label: `Adam step, ${opts.quick ? '1e6 (--quick)' : '1e7'} float32 parameters in 54 arrays (ms)`,
  workload: 'adamStep',
  params: { total: opts.quick ? 1e6 : 1e7 },
  unit: 'ms',
  noTfjs: 'no optimizer in the tfjs worker',
  after(extras, peers) {
    for (const p of peers) {
      const xs = extras[p.key];
      if (!xs || !xs.length) continue;
      const e = xs[xs.length - 1];
      console.log(`  ${p.label}: Adam moves ${e.adamGBs.toFixed(2)} GB/s, copy ${e.copyGBs.toFixed(2)} GB/s (ratio ${(e.copyGBs / e.adamGBs).toFixed(2)})`);
    }
  },
}];
runCases('Gluon training and optimizer step (float32, lower is better)', cases, opts).catch((e) => { console.error(e); process.exit(1); });
