// KVStore (DIST.md): 'local' in this process; 'dist_sync' in children under
// `mpirun -np 2` (skipped, saying why, when mpirun or the MPI module is missing: .ci/run installs Open
// MPI and builds it); the no-MPI path forced by NDGRAD_NO_MPI=1.
import * as path from 'path';
import { kvstore, nd, NDArrayError } from '../lib';
import { mpiMissing, run, runMpi } from './dist-helpers';

const fixture = (name: string) => path.join(__dirname, 'fixtures', 'mpi', name);
const lines = (out: string) => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));

describe("kvstore 'local'", () => {
  test('push stores the value, pull reads it, pushpull and broadcast copy; misuse is an NDArrayError', () => {
    const kv = kvstore.create('local');
    expect([kv.type, kv.rank, kv.numWorkers]).toEqual(['local', 0, 1]);
    kv.init(['a', 3], [nd.array([1, 2]), nd.array([[5]], { dtype: 'int32' })]);
    kv.push('a', nd.array([4, 5]));
    const out = nd.zeros([2]);
    kv.pull('a', { out });
    expect(out.toArray()).toEqual([4, 5]);
    const v = nd.array([[9]], { dtype: 'int32' });
    const o = nd.zeros([1, 1], { dtype: 'int32' });
    kv.pushpull(3, v, { out: o });
    expect(o.toArray()).toEqual([[9]]);
    // pushpull is push then pull: the store keeps the sum (MXNet's), whether out is given or not
    const pulled = nd.zeros([1, 1], { dtype: 'int32' });
    kv.pull(3, { out: pulled });
    expect(pulled.toArray()).toEqual([[9]]);
    kv.pushpull('a', nd.array([6, 8]));
    kv.pull('a', { out });
    expect(out.toArray()).toEqual([6, 8]);
    kv.broadcast('b', nd.array([7]), { out: nd.zeros([1]) });
  });

  test.each([
    ['unknown key', (kv: kvstore.KVStore) => kv.push('x', nd.zeros([2])), 'NOT_INITIALIZED'],
    ['shape', (kv: kvstore.KVStore) => kv.pushpull('a', nd.zeros([3])), 'SHAPE_MISMATCH'],
    ['dtype', (kv: kvstore.KVStore) => kv.push('a', nd.zeros([2], { dtype: 'float64' })), 'DTYPE_MISMATCH'],
    ['init twice', (kv: kvstore.KVStore) => kv.init('a', nd.zeros([2])), 'BAD_ARGUMENT'],
    ['bad key', (kv: kvstore.KVStore) => kv.init(1.5, nd.zeros([2])), 'BAD_ARGUMENT'],
    ['keys vs values', (kv: kvstore.KVStore) => kv.init(['p', 'q'], [nd.zeros([2])]), 'BAD_ARGUMENT'],
    ['not an array', (kv: kvstore.KVStore) => kv.push('a', [1, 2] as any), 'BAD_ARGUMENT'],
    ['uint8 sum', (kv: kvstore.KVStore) => kv.pushpull('u', nd.zeros([2], { dtype: 'uint8' })), 'DTYPE_MISMATCH'],
    ['unknown option', (kv: kvstore.KVStore) => kv.pull('a', { outt: nd.zeros([2]) } as any), 'BAD_ARGUMENT'],
    ['unknown type', () => kvstore.create('dist_async' as any), 'BAD_ARGUMENT'],
  ])('%s', (_, f, code) => {
    const kv = kvstore.create('local');
    kv.init(['a', 'u'], [nd.zeros([2]), nd.zeros([2], { dtype: 'uint8' })]);
    expect(() => f(kv)).toThrow(expect.objectContaining({ name: 'NDArrayError', code }));
    kv.dispose();
  });
});

test("NDGRAD_NO_MPI=1: 'dist_sync' is NO_MPI saying what to install; 'local' works", async () => {
  const r = await run(
    ['-e', `const { kvstore, nd } = require(${JSON.stringify(fixture('../load-lib'))});
      const kv = kvstore.create('local'); kv.init(0, nd.ones([2])); kv.pushpull(0, nd.ones([2]));
      try { kvstore.create('dist_sync'); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`],
    { NDGRAD_NO_MPI: '1' },
  );
  const [e] = lines(r.stdout);
  expect(e.code).toBe('NO_MPI');
  expect(e.message).toContain('apt-get install libopenmpi-dev openmpi-bin');
  expect(e.message).toContain('npm run build:dist');
  expect(NDArrayError).toBeDefined();
});

test("'dist_sync' in a worker thread is BAD_ARGUMENT (one MPI world, driven from the main thread)", async () => {
  const lib = JSON.stringify(fixture('../load-lib'));
  const r = await run(['-e', `const { Worker } = require('worker_threads');
    new Worker(\`const { kvstore } = require(${lib});
      try { kvstore.create('dist_sync'); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }\`, { eval: true });`]);
  const [e] = lines(r.stdout);
  expect(e.code).toBe('BAD_ARGUMENT');
  expect(e.message).toContain('main thread');
});

const skip = mpiMissing();
if (skip) console.log(`dist-kvstore: skipping the MPI tests: ${skip}`);
const mpiTest = skip ? test.skip : test;

mpiTest("'dist_sync' outside mpirun is one worker: rank 0 of 1, sums are the value", async () => {
  const r = await run([fixture('kvstore.js')]);
  const [rep] = lines(r.stdout);
  expect(r.code).toBe(0);
  expect([rep.rank, rep.n, rep.mismatches]).toEqual([0, 1, []]);
});

mpiTest('2 ranks: init broadcasts, sums of float32/float64/int32/bfloat16 and many keys, broadcast, bit-identical', async () => {
  const r = await runMpi(2, [fixture('kvstore.js')]);
  expect(r.code).toBe(0);
  const reps = lines(r.stdout).sort((a, b) => a.rank - b.rank);
  expect(reps.map((x) => [x.rank, x.n])).toEqual([[0, 2], [1, 2]]);
  for (const rep of reps) expect(rep.mismatches).toEqual([]);
  // every result but the rank's own untouched input is bit-identical on both ranks
  const same = (fp: Record<string, string>) => Object.fromEntries(Object.entries(fp).filter(([k]) => !k.endsWith('untouched')));
  expect(same(reps[1].fingerprints)).toEqual(same(reps[0].fingerprints));
  expect(Object.keys(reps[0].fingerprints).length).toBeGreaterThan(20);
  expect(reps[0].errors).toEqual({
    unknownKey: 'NOT_INITIALIZED', shape: 'SHAPE_MISMATCH', dtype: 'DTYPE_MISMATCH', uint8Sum: 'DTYPE_MISMATCH',
    twice: 'BAD_ARGUMENT', badKey: 'BAD_ARGUMENT',
  });
});

describe('failure ends the job on every rank', () => {
  mpiTest.each([
    ['throws', 'throw', 'rank 1 fails at step 5', 1],
    // mpirun's own MPI_ABORT notice is sometimes lost (its show_help fails under load): the exit code says it
    ['exits', 'exit', '', 3],
  ])('a rank that %s at step 5: MPI_Abort, non-zero, within 60 s', async (_, how, says, code) => {
    const t = Date.now();
    const r = await runMpi(2, [fixture('fail.js'), how]);
    expect(Date.now() - t).toBeLessThan(60000);
    expect(r.code).toBe(code);  // MPI_Abort's error code: the exit code of the failing rank
    expect(r.stdout + r.stderr).toContain(says);
    expect(r.stdout).toContain('rank 0 step 4');
    expect(r.stdout).not.toContain('step 19');
  });

  // A clean exit is a failure of the job only when the other ranks still need the exited one: it tells
  // them how many collectives it took part in, and one that waits in a later collective fails at once
  // (not after NDGRAD_DIST_TIMEOUT), its script's error ending the job with MPI_Abort.
  mpiTest('a rank that exits cleanly (process.exit(0)) at step 5: DIST_FAILURE on the others within seconds, non-zero', async () => {
    const t = Date.now();
    const r = await runMpi(2, [fixture('fail.js'), 'exit0']);
    expect(Date.now() - t).toBeLessThan(20000);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/rank 0 caught DIST_FAILURE: rank 1 exited \(a clean exit, after 6 collectives\) while rank 0 of 2 needs it in collective #7 \(allreduce\)/);
    expect(r.stdout).not.toContain('step 5');
  });

  mpiTest('ranks that finish at different times end cleanly: rank 0 works on alone after rank 1 has exited', async () => {
    const r = await runMpi(2, [fixture('fail.js'), 'uneven']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('rank 1 step 19');
    expect(r.stdout).toContain('rank 0 saved');
  });

  mpiTest('a rank whose peers never start MPI: DIST_FAILURE from MPI_Init_thread after NDGRAD_DIST_TIMEOUT', async () => {
    const r = await runMpi(2, [fixture('init-hang.js')], { NDGRAD_DIST_TIMEOUT: '2' });
    const [rep] = lines(r.stdout);
    expect(rep.code).toBe('DIST_FAILURE');
    expect(rep.message).toContain('MPI_Init_thread did not finish within NDGRAD_DIST_TIMEOUT=2 s');
    expect(rep.ms).toBeGreaterThanOrEqual(1900);
    expect(rep.ms).toBeLessThan(10000);
    expect(r.code).not.toBe(0);  // mpirun ends the job: rank 0 exits without MPI_Finalize
  });

  mpiTest('a rank that stops answering: DIST_FAILURE on the others after NDGRAD_DIST_TIMEOUT, then MPI_Abort', async () => {
    const t = Date.now();
    const r = await runMpi(2, [fixture('fail.js'), 'hang'], { NDGRAD_DIST_TIMEOUT: '2' });
    expect(Date.now() - t).toBeLessThan(40000);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toMatch(/rank 0 caught DIST_FAILURE: allreduce did not finish within NDGRAD_DIST_TIMEOUT=2 s/);
  });

  mpiTest('a collective failed by the timeout keeps its buffers: a peer joining late cannot write into reused memory', async () => {
    const r = await runMpi(2, [fixture('fail.js'), 'late'], { NDGRAD_DIST_TIMEOUT: '2' });
    expect(r.code).not.toBe(0);
    expect(r.stdout).toMatch(/rank 0 caught DIST_FAILURE: allreduce did not finish within NDGRAD_DIST_TIMEOUT=2 s/);
    expect(r.stdout).not.toContain('written by MPI');
  });
});
