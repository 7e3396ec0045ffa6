// Two worker_threads computing with ndgrad at the same time: correct results, and each thread has
// its own recording/training flags and its own tape.
import { fork } from 'child_process';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { autograd, nd } from '../lib';

interface Result {
  id: number;
  recordingInside: boolean;
  trainingInside: boolean;
  errors: string[];
  checks: number;
  ownCount: number; // nd.memory().numArrays while holding 3 (id + 1) arrays of its own
  afterDispose: number;
  live: number; // arrays still held at the end (4 with leaveLive)
  backend: { isa: string; threads: number };
}

function runWorkers(n: number, iters: number): Promise<Result[]> {
  const sab = new SharedArrayBuffer(4 * 8);
  const script = path.join(__dirname, 'fixtures', 'worker.js');
  return Promise.all(
    Array.from(
      { length: n },
      (_, id) =>
        new Promise<Result>((resolve, reject) => {
          const w = new Worker(script, { workerData: { id, nWorkers: n, iters, sab } });
          let result: Result | undefined;
          w.on('message', (m) => (result = m));
          w.on('error', reject);
          w.on('exit', (code) => (code === 0 && result ? resolve(result) : reject(new Error(`worker ${id} exited with ${code}`))));
        }),
    ),
  );
}

test('two workers compute at the same time with correct results and separate autograd state', async () => {
  const results = await runWorkers(2, 150);
  results.sort((a, b) => a.id - b.id);
  for (const r of results) {
    expect(r.errors).toEqual([]);
    expect(r.checks).toBe(150 * 3);
    expect(r.backend).toEqual(nd.backend());
  }
  // worker 0 turned recording and training on; worker 1 and the main thread did not see it
  expect(results[0].recordingInside).toBe(true);
  expect(results[0].trainingInside).toBe(true);
  expect(results[1].recordingInside).toBe(false);
  expect(results[1].trainingInside).toBe(false);
  expect(autograd.isRecording()).toBe(false);
  expect(autograd.isTraining()).toBe(false);
}, 60000);

test("nd.memory().numArrays counts only the calling thread's environment", async () => {
  const before = nd.memory().numArrays;
  const results = await runWorkers(2, 5);
  results.sort((a, b) => a.id - b.id);
  // both held their arrays at the same time (a barrier): a shared count would read 9 in both
  expect(results.map((r) => [r.ownCount, r.afterDispose, r.live])).toEqual([
    [3, 0, 0],
    [6, 0, 0],
  ]);
  expect(nd.memory().numArrays).toBe(before);
}, 60000);

// nd.memory()'s bytes are process-wide and jest's process holds other files' garbage, which the GC backstop
// may free while the workers run: the exact count is taken in a fresh process (workers-leak.js).
test('an exiting worker releases every array and byte it still held (exact counts, fresh process)', async () => {
  type Mem = { numArrays: number; numBytes: number };
  const r = await new Promise<any>((resolve, reject) => {
    const child = fork(path.join(__dirname, 'fixtures', 'workers-leak.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let msg: any;
    child.on('message', (m) => (msg = m));
    child.on('error', reject);
    child.on('exit', (code) => (msg ? resolve(msg) : reject(new Error(`workers-leak.js exited with ${code}`))));
  });
  expect(r.error).toBeUndefined();
  for (const w of r.results) expect(w.errors).toEqual([]);
  expect(r.codes).toEqual([0, 0]);
  const { before, during, after } = r as { before: Mem; during: Mem; after: Mem };
  // each worker held x, x.grad, big (300000 float32) and w (96x96) when it exited; its arrays are
  // counted in its own environment, its bytes process-wide
  for (const w of r.results) expect(w.live).toBe(4);
  expect(during.numArrays).toBe(before.numArrays);
  expect(during.numBytes - before.numBytes).toBeGreaterThanOrEqual(2 * 4 * (4 + 4 + 300000 + 96 * 96));
  expect(after).toEqual(before);
}, 60000);

test('the main thread keeps computing and recording while workers run', async () => {
  const x = nd.array([1, 2, 3]);
  x.attachGrad();
  const running = runWorkers(2, 60);
  // the main thread records on its own tape meanwhile
  let ok = 0;
  for (let i = 0; i < 200; i++) {
    nd.tidy(() => {
      const y = autograd.record(() => x.mul(x).sum());
      y.backward();
      if (JSON.stringify(x.grad!.toArray()) === '[2,4,6]') ok++;
    });
  }
  const results = await running;
  expect(ok).toBe(200);
  for (const r of results) expect(r.errors).toEqual([]);
  nd.dispose([x.grad, x]);
}, 60000);
