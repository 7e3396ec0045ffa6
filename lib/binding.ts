// Loads the native addon (bundled prebuild or local build) and describes what it exports.
import * as path from 'path';
import { NDArrayError } from './errors';

/** One entry of an op's attribute schema (declared with the op in native/src/ops). */
export interface AttrInfo {
  /** the native (MXNet) name: pool_type */
  name: string;
  /** num | int | bool | str | ints | nums */
  type: string;
  /** as written in the schema; '' when there is none */
  default: string;
  /** a user option (camelCase in TS); false: a positional argument or an internal attribute */
  option: boolean;
}

export interface OpInfo {
  name: string;
  aliases: string;
  kind: string;
  numInputs: number;
  differentiable: boolean;
  attrs: AttrInfo[];
}

/** What runs the work: the kernels' ISA, the thread pool's size, and the engine (ENGINE.md). */
export interface Backend {
  isa: string;
  threads: number;
  engine: 'threaded' | 'naive';
  /** the bfloat16 GEMM's micro-kernel: vdpbf16ps where the CPU has AVX512_BF16 and the avx512 table is in use */
  bf16Gemm: 'avx512_bf16' | 'portable';
}

export interface MemoryInfo {
  numArrays: number;
  numBytes: number;
  numBlocks: number;
  cachedBytes: number;
  systemAllocs: number;
  cacheHits: number;
  /** the process-wide cap on live native bytes, or null */
  limitBytes: number | null;
}

export interface Binding {
  init(errorClass: typeof NDArrayError, meta: Float64Array): void;
  opTable(): OpInfo[];
  fromTyped(data: ArrayBufferView, shape: number[], dtype: number): number;
  /** `bits`: a bfloat16 array's raw bits as a Uint16Array (otherwise a Float32Array of its values) */
  toTyped(h: number, bits?: boolean): Float32Array | Float64Array | Int32Array | Uint8Array | Uint16Array;
  item(h: number): number;
  meta(h: number): void;
  release(h: number): void;
  /** releases handles[0..n) */
  releaseList(handles: Int32Array, n: number): void;
  op1(op: number, a: number): number;
  op2(op: number, a: number, b: number): number;
  opScalar(op: number, a: number, s: number, reverse: boolean): number;
  opN(op: number, inputs: number[], attrs: object | null, out: number): number | number[];
  memory(): MemoryInfo;
  trimCache(): void;
  setMemoryLimit(bytes: number | null): number | null;
  errorCodes(): string[];
  unknownOptionMessage(op: string, key: string, valid: string[]): string;
  backend(): Backend;
  waitAll(): void;
  waitToRead(h: number): void;
  whenReady(fn: () => void): void;
  checkReady(handles: number[]): void;
  engineQueue(): { tasks: number; bytes: number; maxTasks: number; maxBytes: number };
  engineCall(fn: object, ctx: object, handles: number[], written: boolean[], code: string): void;
  availableIsas(): string[];
  selectIsa(name: string): boolean;
  setNumThreads(n: number): number;
  seed(n: number): void;
  setRecording(on: boolean): boolean;
  setTraining(on: boolean): boolean;
  isRecording(): boolean;
  isTraining(): boolean;
  markVariables(vars: number[], grads: number[], reqs: string[]): void;
  dropGrad(h: number): void;
  freshGrad(h: number, value?: boolean): boolean;
  inGraph(h: number): boolean;
  detach(h: number): number;
  backward(heads: number[], headGrads: number[], retainGraph: boolean, trainMode: boolean): void;
  grad(heads: number[], vars: number[], headGrads: number[], retainGraph: boolean, createGraph: boolean, trainMode: boolean): number[];
  symbol(h: number, format: 'json' | 'dot'): string;
  setGradReadyHook(h: number, fn: (() => void) | null): void;
  customRecord(
    inputs: number[],
    outputs: number[],
    saved: number[],
    backward: (gradHandles: number[], savedHandles: number[]) => number[],
  ): void;
}

/**
 * Loads the addon of the package at `root` through node-gyp-build (build/Release, then
 * prebuilds/<platform>-<arch>/ by libc tag). When none fits or it cannot be loaded (for instance a
 * prebuild for a newer glibc), the error names the platform, the shipped prebuilds and what to
 * install to compile from source.
 */
export function loadNative(root: string): Binding {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return require('node-gyp-build')(root);
  } catch (e) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { helpMessage } = require('../scripts/install-help.js');
    throw new Error(helpMessage(root, e), { cause: e });
  }
}

export const native: Binding = loadNative(path.join(__dirname, '..'));

/** Shape and dtype of the last result, written by native code (no object per call). */
export const meta = new Float64Array(2 + 64);
native.init(NDArrayError, meta);

const table = native.opTable();
const ids = new Map<string, number>();
table.forEach((op, i) => {
  ids.set(op.name, i);
  for (const a of op.aliases.split(' ')) if (a) ids.set(a, i);
});

export function opId(name: string): number {
  const id = ids.get(name);
  if (id === undefined) throw new Error(`ndgrad: the native addon has no op '${name}' (rebuild it)`);
  return id;
}

export function opTable(): OpInfo[] {
  return table.slice();
}

/** The TS spelling of a native attribute name (MXNet's names in camelCase: pool_type -> poolType). */
export function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

const optionSets = new Map<string, ReadonlySet<string>>();

/**
 * The option keys a user may pass to an op (by native name or alias): the user options of its
 * schema in camelCase, plus `out`.
 */
export function opOptionKeys(name: string): ReadonlySet<string> {
  let set = optionSets.get(name);
  if (set === undefined) {
    const op = table[opId(name)];
    set = new Set([...op.attrs.filter((a) => a.option).map((a) => camelCase(a.name)), 'out']);
    optionSets.set(name, set);
  }
  return set;
}
