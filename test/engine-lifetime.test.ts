// Lifetime and memory under the engine (ENGINE.md, "Memory and lifetime"): handles go at once while
// queued work keeps what it needs; nd.memory() is exact after waitAll; tidy frees arrays whose work is
// still queued; a loop that never reads stays within the queue's bound, which
// NDGRAD_ENGINE_QUEUE sets (the GC backstop is checked in a fresh process: engine-processes.test.ts).
// The file passes under NDGRAD_ENGINE=naive too.
import { execFileSync } from 'child_process';
import * as path from 'path';
import * as v8 from 'v8';
import * as vm from 'vm';
import { nd, NDArray } from '../lib';
import { liveMemory } from './helpers';

const MiB = 1 << 20;

test('disposing the inputs of a queued dot at once gives the same result as computing with them alive', () => {
  const a = nd.random.uniform(-1, 1, [768, 768]);
  const b = nd.random.uniform(-1, 1, [768, 768]);
  const expected = nd.dot(a, b).toTypedArray();
  const c = nd.dot(a, b);
  const d = c.mul(2);
  nd.dispose([a, b]);
  expect(a.isDisposed && b.isDisposed).toBe(true);
  c.dispose(); // d's queued work still reads c
  const got = d.toTypedArray();
  for (let i = 0; i < got.length; i += 997) expect(got[i]).toBe(2 * expected[i]);
  d.dispose();
});

test('nd.memory() is exact after waitAll: queued work holds its inputs until it has run, then they are freed', () => {
  nd.waitAll();
  const start = liveMemory();
  const a = nd.ones([1024, 1024]);
  const c = nd.dot(a, a);
  a.dispose();
  expect(nd.memory().numArrays).toBe(start.numArrays + 1); // the handle count moves at once
  c.dispose();
  nd.waitAll();
  expect(liveMemory()).toEqual(start);
});

test('tidy frees arrays whose work is still queued, and its result is right', () => {
  nd.waitAll();
  const start = liveMemory();
  const r = nd.tidy(() => {
    let x = nd.ones([512, 512]);
    for (let i = 0; i < 5; i++) x = nd.dot(x, nd.full([512, 512], 1 / 512)).add(1);
    return x.sum();
  });
  expect(nd.memory().numArrays).toBe(start.numArrays + 1);
  expect(r.item()).toBeCloseTo(512 * 512 * 6, -1);
  r.dispose();
  nd.waitAll();
  expect(liveMemory()).toEqual(start);
});

describe('backpressure', () => {
  test('20000 queued adds of 1 MiB arrays that are never read stay within the queue bound', () => {
    nd.waitAll();
    const bound = nd._native.engineQueue();
    const a = nd.ones([MiB / 4]);
    const b = nd.ones([MiB / 4]);
    const start = nd.memory().numBytes;
    let maxTasks = 0, maxBytes = 0, maxLive = 0;
    for (let i = 0; i < 20000; i++) {
      nd.add(a, b).dispose();
      if (i % 16 === 0) {
        const q = nd._native.engineQueue();
        maxTasks = Math.max(maxTasks, q.tasks);
        maxBytes = Math.max(maxBytes, q.bytes);
        maxLive = Math.max(maxLive, nd.memory().numBytes - start);
      }
    }
    expect(maxTasks).toBeLessThanOrEqual(bound.maxTasks);
    // a call waits while the queue is over the bound, so it may pass it by one output
    expect(maxBytes).toBeLessThanOrEqual(bound.maxBytes + MiB);
    expect(maxLive).toBeLessThanOrEqual(bound.maxBytes + MiB);
    nd.waitAll();
    expect(nd.memory().numBytes).toBe(start);
    nd.dispose([a, b]);
  });

  // A child process with the variable set (the bound is read once, when the module loads).
  const loader = path.join(__dirname, 'fixtures', 'load-lib.js');
  const child = (queue: string, script: string): string =>
    execFileSync(
      process.execPath,
      ['-e', `let nd; try { ({ nd } = require(${JSON.stringify(loader)})); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); process.exit(0); } ${script}`],
      { env: { ...process.env, NDGRAD_ENGINE_QUEUE: queue }, encoding: 'utf8' },
    ).trim();

  test('NDGRAD_ENGINE_QUEUE=<ops>,<bytes> sets the bound, and a loop that never reads stays under it', () => {
    const script = `
      const a = nd.ones([65536]), b = nd.ones([65536]); // 256 KiB each
      let tasks = 0, bytes = 0;
      for (let i = 0; i < 1000; i++) {
        nd.dot(nd.ones([1, 1]), nd.ones([1, 1])).dispose();
        nd.add(a, b).dispose();
        const q = nd._native.engineQueue();
        tasks = Math.max(tasks, q.tasks); bytes = Math.max(bytes, q.bytes);
      }
      nd.waitAll();
      console.log(JSON.stringify({ bound: nd._native.engineQueue(), tasks, bytes, engine: nd.backend().engine }));`;
    const r = JSON.parse(child('8,1m', script));
    expect(r.bound).toMatchObject({ maxTasks: 8, maxBytes: MiB, tasks: 0, bytes: 0 });
    expect(r.tasks).toBeLessThanOrEqual(8);
    expect(r.bytes).toBeLessThanOrEqual(MiB + 256 * 1024);
    if (r.engine === 'threaded') expect(r.tasks).toBeGreaterThan(0); // the loop did queue work
    expect(JSON.parse(child('100', 'console.log(JSON.stringify(nd._native.engineQueue()))'))).toMatchObject({
      maxTasks: 100,
      maxBytes: 256 * MiB,
    });
    expect(JSON.parse(child('5,2g', 'console.log(JSON.stringify(nd._native.engineQueue()))')).maxBytes).toBe(2 * 1024 * MiB);
  });

  test.each(['abc', '0', '-3', '8,', '8,xyz', '8,0', '1.5'])('NDGRAD_ENGINE_QUEUE=%s fails the load with BAD_ARGUMENT naming the variable', (bad) => {
    const r = JSON.parse(child(bad, 'console.log(JSON.stringify({ loaded: true }))'));
    expect(r.code).toBe('BAD_ARGUMENT');
    expect(r.message).toContain('NDGRAD_ENGINE_QUEUE');
  });
});

test('a queued op whose only reference is dropped mid-queue still lets later reads see right values', async () => {
  const results: NDArray[] = [];
  for (let i = 0; i < 8; i++) {
    const t = nd.full([256, 256], i);
    results.push(nd.dot(t, nd.eye(256)));
    t.dispose();
  }
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
  const values = await Promise.all(results.map((r) => r.data()));
  values.forEach((v, i) => expect(v[1000]).toBe(i));
  nd.dispose(results);
});
