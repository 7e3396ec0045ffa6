// Helpers shared by the test suites.
import { spawn } from 'child_process';
import * as v8 from 'v8';
import * as vm from 'vm';
import { autograd, nd, NDArray, NDArrayError } from '../lib';

/**
 * The NDArrayError that fn throws (fails the test if it throws anything else, or nothing). It is an
 * Error named 'NDArrayError' with a string code.
 */
export function errorOf(fn: () => unknown): NDArrayError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(NDArrayError);
    expect(e).toBeInstanceOf(Error);
    const err = e as NDArrayError;
    expect(err.name).toBe('NDArrayError');
    expect(typeof err.code).toBe('string');
    return err;
  }
  throw new Error('expected an NDArrayError, nothing was thrown');
}

/** The code of the NDArrayError that fn throws, or undefined when it does not throw. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(NDArrayError);
    return (e as NDArrayError).code;
  }
  return undefined;
}

/** Asserts that fn throws `code` with a message that mentions each of `parts`. */
export function expectError(fn: () => unknown, code: string, ...parts: string[]): NDArrayError {
  const e = errorOf(fn);
  expect(e.code).toBe(code);
  for (const p of parts) expect(e.message).toContain(p);
  return e;
}

/** "CODE: message" of the NDArrayError that fn throws. */
export function code(fn: () => unknown): string {
  const e = errorOf(fn);
  return `${e.code}: ${e.message}`;
}

/** autograd.checkGradient (float64 central differences) with the worst error below `tol`. */
export function check(fn: (...xs: NDArray[]) => NDArray | NDArray[], inputs: NDArray[], tol = 1e-5): void {
  expect(autograd.checkGradient(fn, inputs, { eps: 1e-6 }).maxError).toBeLessThan(tol);
}

/**
 * Second order, checked numerically: with f(x) = sum(w * L(x)^3), checkGradient differentiates the
 * createGraph gradient x -> (df/dx) * v, so the recorded backward of L is itself differentiated.
 */
export function checkSecondOrder(L: (x: NDArray) => NDArray, x: NDArray): void {
  const outShape = nd.tidy(() => L(x).shape);
  const w = nd.random.uniform(-1, 1, outShape).astype('float64');
  const v = nd.random.uniform(-1, 1, x.shape).astype('float64');
  // checkGradient throws past atol 1e-6 + rtol 1e-4 per element (values can be large, e.g. degrees³)
  autograd.checkGradient(
    (a) =>
      autograd.record(() => {
        const y = L(a);
        const [g] = autograd.grad(y.mul(y).mul(y).mul(w).sum(), a, null, { createGraph: true });
        return g.mul(v);
      }),
    [x],
    { eps: 1e-6 },
  );
}

/**
 * Live native arrays and bytes (nd.memory()), for exact leak checks. Read both before and after a
 * synchronous block: the counts are process-wide, but the GC backstop (a FinalizationRegistry)
 * runs only between tasks, so other files' garbage cannot move them in between.
 */
export function liveMemory(): { numArrays: number; numBytes: number } {
  const m = nd.memory();
  return { numArrays: m.numArrays, numBytes: m.numBytes };
}

/**
 * liveMemory() once the arrays that earlier test files forgot are freed. A test that awaits lets the
 * GC backstop's finalizers run in the middle of it, which would free such arrays between its two
 * counts; so an async leak check takes its first count here: collect garbage (V8's gc, exposed at run
 * time) and let the finalizers run until the count is steady.
 */
export async function settledLiveMemory(): Promise<{ numArrays: number; numBytes: number }> {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  // at least three rounds (a finalizer may run a few turns after its collection), then until steady
  for (let i = 0, last = -1, steady = 0; i < 30 && steady < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 0));
    const n = nd.memory().numArrays;
    steady = n === last ? steady + 1 : 0;
    last = n;
  }
  return liveMemory();
}

/** This environment's live native arrays and the process's live native bytes (nd.memory()). */
export const liveArrays = (): number => nd.memory().numArrays;
/**
 * Live native bytes once the engine has run everything queued (ENGINE.md: exact after waitAll). A
 * pending error waitAll throws belongs to whatever issued it (maybe another file in this worker), not
 * to the count: it is not this helper's to report.
 */
export const liveBytes = (): number => {
  try {
    nd.waitAll();
  } catch (e) {
    if (!(e instanceof NDArrayError)) throw e;
  }
  return nd.memory().numBytes;
};

/** True when the threaded engine runs (NDGRAD_ENGINE unset or 'threaded'). */
export const threadedEngine = (): boolean => nd.backend().engine === 'threaded';

/**
 * After a call that failed while computing into `out` (ENGINE.md, errors found while computing): the
 * naive engine threw at the call and `out` keeps its values (`kept` checks them); the threaded engine
 * keeps the error with `out`, so reading it throws that error's code.
 */
export function expectOutKept(out: NDArray, code: string, kept: () => void): void {
  if (threadedEngine()) expect(codeOf(() => out.toTypedArray())).toBe(code);
  else kept();
}

/** An array's elements as a plain list. */
export const arr = (a: NDArray): number[] => Array.from(a.toTypedArray());

/** Registers, for every test of the calling file: recording and training off, random seed 7. */
export function freshAutogradState(): void {
  beforeEach(() => {
    autograd.setRecording(false);
    autograd.setTraining(false);
    nd.random.seed(7);
  });
}

/** An IDX file (MNIST's format): big-endian magic, the dimensions, then the bytes. */
export function idx(magic: number, dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, k) => head.writeUInt32BE(d, 4 + 4 * k));
  return Buffer.concat([head, Buffer.from(data)]);
}

/** How a child process ended, with what it printed. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node ...args` with `env` added to this process's environment; resolves when it has ended. */
export function runNode(args: string[], env: Record<string, string> = {}): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/**
 * The kernel tables this CPU runs, for tests that compare results under each: selecting one with
 * `nd._native.selectIsa(isa)` lasts until the test ends (the best table is selected again after it).
 */
export function isasRestoredAfterEach(): string[] {
  const original = nd.backend().isa;
  afterEach(() => {
    nd._native.selectIsa(original);
  });
  return nd._native.availableIsas();
}

/** The elements' bits, widened to float64 (exact from every float dtype): equal buffers are equal bits. */
export const float64Bits = (a: NDArray): Buffer => Buffer.from(nd.tidy(() => a.astype('float64').toTypedArray() as Float64Array).buffer);
