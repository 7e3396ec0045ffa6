// Worker lifecycles: no way of ending a worker that uses ndgrad may take the process down. Each
// scenario runs many times in a child process (fixtures/lifecycle-child.js), whose exit this
// process checks: a native crash shows as a signal (SIGABRT, SIGSEGV) or an unexpected code.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';
import { Exit, runNode } from './helpers';

const root = path.join(__dirname, '..');
const child = path.join(__dirname, 'fixtures', 'lifecycle-child.js');
let libDir = '';

// Children load lib/ transpiled once into a temporary package that links this checkout's native
// build (loading TypeScript in every child and worker would cost about a second each).
beforeAll(() => {
  libDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ndgrad-lifecycle-'));
  fs.mkdirSync(path.join(libDir, 'lib'));
  // every .ts of lib/ and its subfolders (lib/gluon/...)
  for (const f of fs.readdirSync(path.join(root, 'lib'), { recursive: true }) as string[]) {
    if (!f.endsWith('.ts')) continue;
    const src = fs.readFileSync(path.join(root, 'lib', f), 'utf8');
    const out = ts.transpileModule(src, {
      fileName: f,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    });
    fs.mkdirSync(path.dirname(path.join(libDir, 'lib', f)), { recursive: true });
    fs.writeFileSync(path.join(libDir, 'lib', f.replace(/\.ts$/, '.js')), out.outputText);
  }
  for (const d of ['build', 'prebuilds', 'node_modules', 'scripts'])
    if (fs.existsSync(path.join(root, d))) fs.symlinkSync(path.join(root, d), path.join(libDir, d), 'dir');
  // node-gyp-build reads the package name from here (NDGRAD_PREBUILD picks the sanitizer build in CI).
  fs.copyFileSync(path.join(root, 'package.json'), path.join(libDir, 'package.json'));
});

afterAll(() => {
  if (libDir) fs.rmSync(libDir, { recursive: true, force: true });
});

const run = (...args: string[]): Promise<Exit> => runNode([child, ...args], { NDGRAD_LIB: path.join(libDir, 'lib', 'index.js') });

// The exit as one comparable value, with stderr for the failure message.
function outcome(e: Exit): { code: number | null; signal: NodeJS.Signals | null; stderr?: string } {
  return e.code === 0 || e.code === 7 ? { code: e.code, signal: e.signal } : { code: e.code, signal: e.signal, stderr: e.stderr };
}

// Runs the child in `mode` for `runs` runs of `kind`, expects a clean exit and every run done; its report.
async function cleanRuns(mode: string, kind: string, runs: number): Promise<{ runs: number; leakedBytes?: number }> {
  const e = await run(mode, kind, String(runs));
  expect(outcome(e)).toEqual({ code: 0, signal: null });
  const report = JSON.parse(e.stdout);
  expect(report.runs).toBe(runs);
  return report;
}

// Worker kinds for the main-thread exits: three different ones per process, in turn.
const KINDS = ['matmul', 'convBackward', 'customFunction', 'mixed'];
const kindTriples = () => {
  let k = 0;
  return () => `${KINDS[k++ % 4]},${KINDS[k % 4]},${KINDS[(k + 1) % 4]}`;
};

// `runs` children at most `parallel` at a time.
async function many(runs: number, parallel: number, args: () => string[]): Promise<Exit[]> {
  const results: Exit[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < runs) {
      next++;
      results.push(await run(...args()));
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return results;
}

describe('worker.terminate() while the worker is inside ndgrad leaves the process running', () => {
  test.concurrent.each([
    ['a large matrix product', 'matmul'],
    ['a convolution backward pass', 'convBackward'],
    ['a custom Function backward, with pending recorded graphs', 'customFunction'],
    ['conversions, multi-output ops and gradients', 'mixed'],
  ])('%s (20 runs)', async (_title, kind) => {
    await cleanRuns('terminate', kind, 20);
  });

  test.concurrent('at a random moment of its start, often while it loads ndgrad (20 runs)', async () => {
    await cleanRuns('terminateEarly', 'mixed', 20);
  });
});

test('process.exit() on the main thread while workers run ndgrad ops exits with its code (12 processes)', async () => {
  const kinds = kindTriples();
  const exits = await many(12, 3, () => ['exit', kinds()]);
  for (const e of exits) expect(outcome(e)).toEqual({ code: 7, signal: null });
});

test('an uncaught exception on the main thread while workers run ndgrad ops exits with code 1 (6 processes)', async () => {
  const kinds = kindTriples();
  const exits = await many(6, 3, () => ['exit', kinds(), 'throw']);
  for (const e of exits) {
    expect({ code: e.code, signal: e.signal }).toEqual({ code: 1, signal: null });
    expect(e.stderr).toContain('uncaught on purpose');
  }
});

describe('a worker reaching its resourceLimits heap limit inside ndgrad dies alone with ERR_WORKER_OUT_OF_MEMORY', () => {
  test.concurrent.each([
    ['keeping toTypedArray() copies', 'typed'],
    ['keeping split() outputs', 'split'],
  ])('%s (8 runs)', async (_title, kind) => {
    await cleanRuns('oom', kind, 8);
  });
});

describe('workers that exit with recorded graphs alive free them and leave the process running', () => {
  test.concurrent.each([
    ['at the end of their script', 'return'],
    ['by process.exit() inside the worker', 'exit'],
    ['by process.exit() inside a Function.backward', 'exitInBackward'],
    ['by worker.terminate()', 'terminate'],
  ])('%s (10 runs)', async (_title, how) => {
    expect(await cleanRuns('graphs', how, 10)).toMatchObject({ leakedBytes: 0 });
  });
});
