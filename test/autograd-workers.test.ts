// Autograd state is per JS thread: every worker_thread has its own recording/training flags and its
// own tape, and graphs recorded concurrently in several threads do not interfere.
import * as path from 'path';
import { Worker } from 'worker_threads';
import { autograd, nd } from '../lib';

// The worker loads lib/*.ts through a small transpile-on-require hook (no dependency on dist/).
const WORKER_SRC = `
const { parentPort, workerData } = require('worker_threads');
const fs = require('fs');
const ts = require('typescript');
require.extensions['.ts'] = (m, filename) => {
  const out = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    fileName: filename,
  }).outputText;
  m._compile(out, filename);
};
const { nd, autograd } = require(workerData.lib);
const report = { initial: [autograd.isRecording(), autograd.isTraining()] };
// leave this thread recording and training: the main thread must not see it
autograd.setRecording(true);
autograd.setTraining(true);
const k = workerData.k;
const x = nd.array([1, 2, 3]);
x.attachGrad();
const grads = [];
for (let i = 0; i < workerData.iters; i++) {
  nd.tidy(() => {
    // recorded under this thread's own flag (set above), no scope needed
    const y = x.mul(x).mul(k).add(nd.sin(x)).sum();
    const [g1] = autograd.grad(y, x, null, { createGraph: true });
    const g2 = g1.sum();
    g2.backward();
    if (i === workerData.iters - 1) grads.push(Array.from(g1.toTypedArray()), Array.from(x.grad.toTypedArray()));
  });
}
// a Dropout in this thread sees this thread's training flag
report.dropoutActive = nd.Dropout(nd.ones([100]), { p: 0.5 }).min().item() === 0;
autograd.setTraining(false);
report.dropoutInactive = nd.Dropout(nd.ones([100]), { p: 0.5 }).min().item() === 1;
report.final = [autograd.isRecording(), autograd.isTraining()];
report.grads = grads;
parentPort.postMessage(report);
`;

function runWorker(k: number, iters: number): Promise<any> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER_SRC, { eval: true, workerData: { k, iters, lib: path.join(__dirname, '../lib/index.ts') } });
    let msg: any;
    w.on('message', (m) => (msg = m));
    w.on('error', reject);
    w.on('exit', (code) => (code === 0 && msg ? resolve(msg) : reject(new Error(`worker exited with ${code}`))));
  });
}

test('workers have independent flags and tapes', async () => {
  const x = nd.array([1, 2, 3]);
  x.attachGrad();
  // the main thread records a graph and keeps it open while the workers record and differentiate theirs
  autograd.setRecording(true);
  autograd.setTraining(false);
  const y = x.mul(x).mul(10).sum();
  const reports = await Promise.all([runWorker(2, 40), runWorker(3, 40)]);
  expect(autograd.isRecording()).toBe(true);
  expect(autograd.isTraining()).toBe(false);
  const z = y.add(x.sum()); // still recorded on this thread's tape
  autograd.setRecording(false);
  z.backward();
  expect(Array.from(x.grad!.toTypedArray())).toEqual([21, 41, 61]);

  for (const [i, k] of [2, 3].entries()) {
    const r = reports[i];
    expect(r.initial).toEqual([false, false]); // nothing inherited from the main thread
    expect(r.final).toEqual([true, false]);
    expect(r.dropoutActive).toBe(true);
    expect(r.dropoutInactive).toBe(true);
    const [g1, g2] = r.grads;
    [1, 2, 3].forEach((v, j) => {
      expect(g1[j]).toBeCloseTo(2 * k * v + Math.cos(v), 5);
      expect(g2[j]).toBeCloseTo(2 * k - Math.sin(v), 5);
    });
  }
  x.dispose();
}, 60000);
