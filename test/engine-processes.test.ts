// The engine across threads and processes: workers terminated (or exiting) with work queued, and
// processes that end, exit or throw with work queued, neither crash nor hang (fixtures/engine-child.js);
// seeded training gives bit-identical parameters under both engines (fixtures/engine-train.js).
// Children run under the engine this file runs under, except where a test names one.
import * as path from 'path';
import { Exit, runNode } from './helpers';

const run = async (script: string, args: string[], env: Record<string, string> = {}, flags: string[] = []): Promise<Exit> => {
  const e = await runNode([...flags, path.join(__dirname, 'fixtures', script), ...args], env);
  return { ...e, stdout: e.stdout.trim() };
};

const threaded = process.env.NDGRAD_ENGINE !== 'naive';

describe('ending with work queued', () => {
  test('a script that ends with work queued exits 0 once it has run', async () => {
    const e = await run('engine-child.js', ['end']);
    expect({ code: e.code, signal: e.signal }).toEqual({ code: 0, signal: null });
    // the threaded engine had work queued at the end (naive: none, it ran at the calls)
    const queued = Number(e.stdout.replace('queued ', ''));
    if (threaded) expect(queued).toBeGreaterThan(0);
    else expect(queued).toBe(0);
  });

  test('process.exit(3) with work queued exits with code 3, no crash', async () => {
    const e = await run('engine-child.js', ['exit']);
    expect({ code: e.code, signal: e.signal, stderr: e.stderr }).toEqual({ code: 3, signal: null, stderr: '' });
  });

  test('an uncaught exception with work queued exits with code 1 and the error, no crash', async () => {
    const e = await run('engine-child.js', ['throw']);
    expect({ code: e.code, signal: e.signal }).toEqual({ code: 1, signal: null });
    expect(e.stderr).toContain('thrown with work queued');
  });

  test('a pending data() keeps the process alive until it settles', async () => {
    const e = await run('engine-child.js', ['ready']);
    expect({ code: e.code, signal: e.signal, stdout: e.stdout }).toEqual({ code: 0, signal: null, stdout: 'settled true' });
  });

  test('workers terminated with work queued, and workers calling process.exit with work queued, leave the process working', async () => {
    const e = await run('engine-child.js', ['workers']);
    expect({ code: e.code, signal: e.signal, stderr: e.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    const [, queued, value] = e.stdout.split(' ');
    const counts = JSON.parse(queued) as number[];
    expect(counts).toHaveLength(4);
    // each worker had work queued when it was ended (threaded engine)
    for (const n of counts) threaded ? expect(n).toBeGreaterThan(0) : expect(n).toBe(0);
    expect(value).toBe('3');
  }, 120000);
});

test('the GC backstop frees forgotten arrays whose work was queued, and the work still runs right (a fresh process)', async () => {
  const e = await run('engine-child.js', ['gc'], {}, ['--expose-gc']);
  expect({ code: e.code, stderr: e.stderr }).toEqual({ code: 0, stderr: '' });
  const r = JSON.parse(e.stdout);
  expect(r.made).toBe(40);
  expect(r.left).toBe(1); // only `kept`
  expect(r.value).toBe(256);
  expect([r.end.numArrays, r.end.numBytes]).toEqual([0, 0]);
});

test('seeded training (MLP and CNN with BatchNorm and Dropout; SGD with momentum and Adam) gives bit-identical parameters under both engines', async () => {
  const [t, n] = await Promise.all([
    run('engine-train.js', [], { NDGRAD_ENGINE: 'threaded' }),
    run('engine-train.js', [], { NDGRAD_ENGINE: 'naive' }),
  ]);
  for (const e of [t, n]) expect({ code: e.code, stderr: e.stderr }).toEqual({ code: 0, stderr: '' });
  const threadedRun = JSON.parse(t.stdout);
  const naiveRun = JSON.parse(n.stdout);
  expect([threadedRun.engine, naiveRun.engine]).toEqual(['threaded', 'naive']);
  for (const k of ['mlpSgd', 'mlpAdam', 'cnnSgd', 'cnnAdam']) {
    expect(threadedRun[k]).toEqual(naiveRun[k]);
    // the runs trained: every parameter (running statistics included) is there, and the losses moved
    expect(Object.keys(threadedRun[k].digest).filter((p) => /running_(mean|var)/.test(p))).toHaveLength(2);
    expect(new Set(threadedRun[k].losses).size).toBe(4);
  }
  // and the optimizers differ, so equal digests mean equal parameters, not an unused path
  expect(threadedRun.mlpSgd.digest).not.toEqual(threadedRun.mlpAdam.digest);
}, 120000);
