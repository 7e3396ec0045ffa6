// gluon.Trainer on kvstore 'dist_sync' (DIST.md): 2 ranks, each with half of every global batch, end
// with the parameters of one process trained on the whole batch (to float32 rounding), bit-identical on
// both ranks; gradients fused into buckets, started from the gradient-ready hook during backward.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { mpiMissing, run, runMpi } from './dist-helpers';

const fixture = path.join(__dirname, 'fixtures', 'mpi', 'trainer.js');
const skip = mpiMissing();
if (skip) console.log(`dist-trainer: skipping: ${skip}`);
const mpiTest = skip ? test.skip : test;

interface Result {
  rank: number;
  workers: number;
  losses: number[];
  params: Record<string, number[]>;
  buckets?: number;
  hookStarts?: number;
}

let dir = '';
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ndgrad-dist-trainer-'));
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function train(mode: 'dist' | 'dist-skew' | 'single', optimizer: string, env: Record<string, string> = {}): Promise<Result[]> {
  const out = path.join(dir, `${optimizer}-${Object.values(env).join('-')}`);
  const args = [fixture, mode, '6', optimizer];
  const r = mode === 'single' ? await run(args, { ...env, NDGRAD_TEST_OUT: out }) : await runMpi(2, args, { ...env, NDGRAD_TEST_OUT: out });
  if (r.code !== 0) throw new Error(`${mode} exited with ${r.code}:\n${r.stdout}\n${r.stderr}`);
  const ranks = mode === 'single' ? [0] : [0, 1];
  return ranks.map((k) => JSON.parse(fs.readFileSync(`${out}.${mode}.${k}.json`, 'utf8')));
}

function maxDiff(a: Record<string, number[]>, b: Record<string, number[]>): number {
  let m = 0;
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const k of Object.keys(a)) a[k].forEach((v, i) => (m = Math.max(m, Math.abs(v - b[k][i]))));
  return m;
}

describe.each([
  ['sgd (momentum, wd), one bucket', 'sgd', {}],
  ['adam, many small buckets', 'adam', { NDGRAD_DIST_BUCKET_MB: '0.0005' }],
])('%s', (_, optimizer, env) => {
  mpiTest('2 ranks with half of each batch = 1 process with the whole batch; ranks bit-identical', async () => {
    const [single] = await train('single', optimizer, env);
    const [r0, r1] = await train('dist', optimizer, env);
    expect([r0.workers, r1.workers]).toEqual([2, 2]);
    expect(maxDiff(r0.params, r1.params)).toBe(0);
    expect(maxDiff(r0.params, single.params)).toBeLessThan(2e-6);
    // the per-rank losses add up to the whole batch's
    r0.losses.forEach((l, s) => expect(l + r1.losses[s]).toBeCloseTo(single.losses[s], 3));
    // the first step reduces every bucket at allreduceGrads, later ones from the hook during backward
    if (optimizer === 'adam') expect(r0.buckets).toBe(3);  // (3.weight 3.bias 2.bias) (2.weight) (0.weight 0.bias)
    expect(r0.hookStarts).toBe(5 * r0.buckets!);
  });
});

mpiTest("the first step broadcasts rank 0's parameters: ranks that start apart end bit-identical", async () => {
  const [r0, r1] = await train('dist-skew', 'sgd');
  expect(r0.losses[0]).not.toBe(r1.losses[0]);
  expect(maxDiff(r0.params, r1.params)).toBe(0);
});

mpiTest('a second backward pass before the step restarts the buckets: its gradients are the ones summed', async () => {
  const r = await runMpi(2, [path.join(__dirname, 'fixtures', 'mpi', 'two-passes.js')]);
  expect(r.code).toBe(0);
  const rows = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l).row);
  // d sum(x W^T + b) / dW row = the sum of x over the batch of 2: 2 (r + 2) on rank r in the second
  // pass, 4 + 6 = 10 summed; three steps of 0.1 from 1 (the first pass would give 6 and end at -0.8)
  expect(rows).toEqual([[-2, -2, -2, -2], [-2, -2, -2, -2]]);
});
