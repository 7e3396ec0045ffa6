// MXNet's autograd API over the C++ tape: scopes, variables, backward/grad, Function, getSymbol.
import { native } from './binding';
import { NDArrayError } from './errors';
import { checkList, describeValue, handleOf, optionKeys, options } from './args';
import { BACKWARD_KEYS, forPass, inPass, runBackward } from './backward';
import { invoke, wrap, wrapHandle } from './dispatch';
import { NDArray } from './ndarray';
import { ownHandle, tidy, withCreated } from './memory';

// The option keys of functions that are not ops (any other key is BAD_ARGUMENT).
const SCOPE_KEYS = optionKeys('trainMode');
const GRAD_KEYS = optionKeys('retainGraph', 'createGraph', 'trainMode');
const CHECK_KEYS = optionKeys('eps', 'rtol', 'atol');

export type GradReq = 'write' | 'add' | 'null';

export const isRecording = (): boolean => native.isRecording();
export const isTraining = (): boolean => native.isTraining();
export const setRecording = (flag: boolean): boolean => native.setRecording(flag);
export const setTraining = (flag: boolean): boolean => native.setTraining(flag);

/** A scope in its `using` form: restores both flags when disposed. */
export class StateScope implements Disposable {
  /** @internal */
  private readonly prevRec: boolean;
  /** @internal */
  private readonly prevTrain: boolean;
  /** @internal */
  private done = false;
  constructor(rec: boolean | null, train: boolean | null) {
    this.prevRec = rec === null ? native.isRecording() : native.setRecording(rec);
    this.prevTrain = train === null ? native.isTraining() : native.setTraining(train);
  }
  [Symbol.dispose](): void {
    if (this.done) return;
    this.done = true;
    native.setRecording(this.prevRec);
    native.setTraining(this.prevTrain);
  }
  dispose(): void {
    this[Symbol.dispose]();
  }
}

// Unlike MXNet (which restores a flag only if entering changed it), every scope restores both flags
// to their values at entry, on return, throw or dispose.
function scoped<T>(rec: boolean | null, train: boolean | null, fn: (() => T) | undefined, name: string): any {
  if (fn !== undefined && typeof fn !== 'function')
    throw new NDArrayError(`autograd.${name}: expected a function or an options object`, 'BAD_ARGUMENT');
  const scope = new StateScope(rec, train);
  if (fn === undefined) return scope;
  let result: T;
  try {
    result = fn();
  } finally {
    scope.dispose();
  }
  if (result && typeof (result as any).then === 'function')
    throw new NDArrayError(
      `autograd.${name}: the callback returned a Promise; recording state is per thread, not per promise, so async callbacks are not supported (use the 'using' form around synchronous code)`,
      'ASYNC_SCOPE',
    );
  return result;
}

// record and pause: (fn, opts?) or (opts?) for the `using` form; trainMode defaults to the recording flag.
function recordingScope(rec: boolean, name: 'record' | 'pause', a: any, b: { trainMode?: boolean } | undefined): any {
  const optsFirst = a !== undefined && a !== null && typeof a === 'object';
  const train = options(optsFirst ? a : b, name, SCOPE_KEYS).trainMode ?? rec;
  return scoped(rec, train, optsFirst ? undefined : a, name);
}

export function record(): StateScope;
export function record<T>(fn: () => T, opts?: { trainMode?: boolean }): T;
export function record(opts: { trainMode?: boolean }): StateScope;
export function record(a?: any, b?: { trainMode?: boolean }): any {
  return recordingScope(true, 'record', a, b);
}

export function pause(): StateScope;
export function pause<T>(fn: () => T, opts?: { trainMode?: boolean }): T;
export function pause(opts: { trainMode?: boolean }): StateScope;
export function pause(a?: any, b?: { trainMode?: boolean }): any {
  return recordingScope(false, 'pause', a, b);
}

export function trainMode(): StateScope;
export function trainMode<T>(fn: () => T): T;
export function trainMode(fn?: any): any {
  return scoped(null, true, fn, 'trainMode');
}

export function predictMode(): StateScope;
export function predictMode<T>(fn: () => T): T;
export function predictMode(fn?: any): any {
  return scoped(null, false, fn, 'predictMode');
}

function list<T>(x: T | T[] | null | undefined): T[] {
  if (x === null || x === undefined) return [];
  return Array.isArray(x) ? checkList(x, 'autograd', 'a list of arrays') : [x];
}

function handle(x: unknown, what: string): number {
  return handleOf(x, what);
}

export function markVariables(variables: NDArray | NDArray[], gradients: NDArray | NDArray[], gradReqs: GradReq | GradReq[] = 'write'): void {
  const vs = list(variables);
  const gs = list(gradients);
  if (Array.isArray(variables) !== Array.isArray(gradients))
    throw new NDArrayError('markVariables: variables and gradients must both be NDArrays or both be lists', 'BAD_ARGUMENT');
  const reqs = Array.isArray(gradReqs) ? gradReqs : vs.map(() => gradReqs);
  if (vs.length !== gs.length || reqs.length !== vs.length)
    throw new NDArrayError(
      `markVariables: ${vs.length} variables, ${gs.length} gradients and ${reqs.length} gradReqs must have the same length`,
      'BAD_ARGUMENT',
    );
  native.markVariables(
    vs.map((v) => handle(v, 'markVariables')),
    gs.map((g) => handle(g, 'markVariables')),
    reqs,
  );
  vs.forEach((v, i) => {
    if (v._grad && v._ownsGrad && v._grad !== gs[i]) v._grad.dispose();
    v._grad = gs[i];
    v._ownsGrad = false;
    gs[i]._kept = true;
  });
}

/**
 * @internal For data-parallel training: `fn` runs once per backward() pass, as soon as `x.grad` holds
 * that pass's final gradient (every contribution summed and written per its gradReq), while backward
 * goes on with the rest of the graph, so reducing it can start early. Variables fire in the order
 * their gradients complete (reverse topological order). Not called when `x` gets no gradient in a
 * pass, nor by grad() (which writes no `.grad`). It stays through attachGrad again; `null` removes it.
 * An exception thrown by `fn` stops the pass and propagates from backward().
 */
export function onGradReady(x: NDArray, fn: ((x: NDArray) => void) | null): void {
  if (fn !== null && typeof fn !== 'function')
    throw new NDArrayError(`onGradReady: expected a function or null, got ${describeValue(fn)}`, 'BAD_ARGUMENT');
  const h = handle(x, 'onGradReady');  // first: x may be anything (WeakRef throws a TypeError)
  // Held weakly: the hook lives in native memory, where a reference to x would keep a forgotten x
  // from its GC backstop.
  const ref = new WeakRef(x);
  native.setGradReadyHook(
    h,
    fn === null
      ? null
      : () => {
          const a = ref.deref();
          if (a) fn(a);
        },
  );
}

export function backward(
  heads: NDArray | NDArray[],
  headGrads?: NDArray | (NDArray | null)[] | null,
  opts: { retainGraph?: boolean; trainMode?: boolean } = {},
): void {
  opts = options(opts, 'backward', BACKWARD_KEYS) as typeof opts;
  const hs = list(heads);
  const hg = list(headGrads as any) as (NDArray | null)[];
  if (hg.length && hg.length !== hs.length)
    throw new NDArrayError(`backward: heads and headGrads must be lists of the same length: ${hs.length} vs. ${hg.length}`, 'BAD_ARGUMENT');
  runBackward(hs, hg, opts.retainGraph ?? false, opts.trainMode ?? true);
}

export function grad(
  heads: NDArray | NDArray[],
  variables: NDArray | NDArray[],
  headGrads?: NDArray | (NDArray | null)[] | null,
  opts: { retainGraph?: boolean; createGraph?: boolean; trainMode?: boolean } = {},
): NDArray[] {
  opts = options(opts, 'grad', GRAD_KEYS) as typeof opts;
  const hs = list(heads);
  const vs = list(variables);
  const hg = list(headGrads as any) as (NDArray | null)[];
  if (vs.length === 0) throw new NDArrayError('grad: variables cannot be an empty list', 'BAD_ARGUMENT');
  if (hg.length && hg.length !== hs.length)
    throw new NDArrayError(`grad: heads and headGrads must be lists of the same length: ${hs.length} vs. ${hg.length}`, 'BAD_ARGUMENT');
  const createGraph = opts.createGraph ?? false;
  const retainGraph = opts.retainGraph ?? createGraph;
  const hh = hs.map((h) => handle(h, 'grad'));
  const vh = vs.map((v) => handle(v, 'grad'));
  const gh = hg.map((g) => (g ? handle(g, 'grad') : -1));
  const r = inPass(() => native.grad(hh, vh, gh, retainGraph, createGraph, opts.trainMode ?? true));
  return r.map(wrapHandle);
}

export interface GraphJSON {
  nodes: { id: number; op: string; attrs: Record<string, unknown>; inputs: number[]; shape: number[] }[];
}

export class Graph {
  /** @internal */
  private readonly json: string;
  /** @internal */
  private readonly dot: string;
  /** Made by autograd.getSymbol. */
  constructor(json: string, dot: string) {
    this.json = json;
    this.dot = dot;
  }
  toJSON(): GraphJSON {
    return JSON.parse(this.json);
  }
  toDot(): string {
    return this.dot;
  }
  /** Leaf inputs (variables and constants), as MXNet's list_arguments(). */
  listArguments(): string[] {
    return this.toJSON()
      .nodes.filter((n) => n.op === 'variable' || n.op === 'constant')
      .map((n) => `${n.op === 'variable' ? 'var' : 'null'}${n.id}`);
  }
}

export function getSymbol(x: NDArray): Graph {
  const h = handle(x, 'getSymbol');
  return new Graph(native.symbol(h, 'json'), native.symbol(h, 'dot'));
}

/**
 * A custom differentiable function (MXNet's autograd.Function). Single use.
 *
 * Ownership: the arrays given to `backward` (its output gradients, and `savedTensors` while it runs)
 * are handles ndgrad made for the pass and frees when the pass ends; the arrays `backward` returns
 * stay the caller's (ndgrad keeps its own reference to their data). What forward saved is held by
 * the recorded graph and freed with it. Keep what backward needs with saveForBackward, not on `this`:
 * the graph holds the instance, so an output stored on it is only freed by dispose or tidy, never by GC.
 */
export class Function {
  /** @internal */
  private used = false;
  /** @internal */
  private inForward = false;
  // While forward runs: our own detached handles of what it saved. While backward runs: this pass's
  // handles of the same arrays. Otherwise empty.
  /** @internal */
  private saved: NDArray[] = [];

  /** Override: computes the outputs (recording is paused while it runs). */
  forward(..._inputs: NDArray[]): NDArray | NDArray[] {
    throw new NDArrayError('Function.forward is not implemented', 'BAD_ARGUMENT');
  }
  /** Override: receives one gradient per output, returns one per input. */
  backward(..._outputGrads: NDArray[]): NDArray | (NDArray | null)[] {
    throw new NDArrayError('Function.backward is not implemented', 'BAD_ARGUMENT');
  }

  saveForBackward(...arrays: NDArray[]): void {
    // Only forward's saves reach the graph; a handle made anywhere else would have no owner.
    if (!this.inForward)
      throw new NDArrayError('saveForBackward: call it inside forward (what it saves is handed to backward)', 'BAD_ARGUMENT');
    for (const a of arrays) handle(a, 'saveForBackward'); // all checked before anything is replaced
    this.dropSaved();
    this.saved = arrays.map((a) => ownHandle(a.detach())); // our own handles: the user may dispose theirs
  }
  get savedTensors(): NDArray[] {
    return this.saved;
  }

  /** Runs forward (and records the call, when recording); returns what forward returns. */
  apply(...inputs: NDArray[]): ReturnType<this['forward']> {
    if (this.used)
      throw new NDArrayError('Function: each Function instance can only be called once; create another instance', 'BAD_ARGUMENT');
    this.used = true;
    const inHandles = inputs.map((x) => handle(x, 'Function')); // before forward makes anything
    const made: NDArray[] = []; // the arrays forward creates
    const prev = native.setRecording(false);
    let out: NDArray | NDArray[];
    try {
      this.inForward = true;
      try {
        out = withCreated(made, () => this.forward(...inputs));
      } finally {
        this.inForward = false;
      }
      const outs = Array.isArray(out) ? out : [out];
      if (outs.length === 0 || outs.some((o) => !(o instanceof NDArray)))
        throw new NDArrayError('Function.forward must return an NDArray or a list of NDArrays', 'BAD_ARGUMENT');
      type Out = ReturnType<this['forward']>; // forward's own return type (an NDArray or a list)
      if (!prev) return out as Out;
      // An output becomes the recorded result in place, so only a fresh array forward made may be used
      // as is. An input, an older array (a constant, a .grad), one returned twice, or a saved handle
      // (ours, freed below) is recorded through a new view instead, and the user's array is left alone.
      const recorded = outs.map((o, i) =>
        made.lastIndexOf(o) < 0 || outs.indexOf(o) < i || this.saved.includes(o) ? o.detach() : o,
      );
      native.setRecording(prev); // restored before the call: customRecord reads it
      try {
        native.customRecord(
          inHandles,
          recorded.map((o) => handle(o, 'Function')),
          this.saved.map((a) => a.h),
          Function.backwardCallback(this, inputs.length),
        );
      } catch (e) {
        recorded.forEach((r, i) => r !== outs[i] && r.dispose()); // our views; the user's arrays stay theirs
        throw e;
      }
      return (Array.isArray(out) ? recorded : recorded[0]) as Out;
    } finally {
      native.setRecording(prev);
      this.dropSaved(); // the graph holds what it needs (nothing, when nothing was recorded)
    }
  }

  // The graph holds this callback through a strong native reference until the graph is freed. Made
  // outside apply, it closes over nothing but the instance and a count: a closure of apply's would
  // share apply's scope (its `made`, `outs`, `recorded`) and so keep the outputs' JS objects, and
  // through them the graph itself, alive for good when nobody disposes them (the GC backstop could
  // never run). For the same reason backward's data belongs in saveForBackward, not on `this`.
  /** @internal */
  private static backwardCallback(f: Function, numInputs: number) {
    return (gradHandles: number[], savedHandles: number[]): number[] => f.runBackward(gradHandles, savedHandles, numInputs);
  }

  /** @internal */
  private runBackward(gradHandles: number[], savedHandles: number[], numInputs: number): number[] {
    // Wrapped and listed before any user code runs, so the pass frees them whatever happens.
    const grads = gradHandles.map((h) => wrapHandle(h));
    const saved = savedHandles.map((h) => wrapHandle(h));
    forPass([...grads, ...saved]);
    const outer = this.saved;
    this.saved = saved;
    let r: NDArray | (NDArray | null)[];
    try {
      r = this.backward(...grads);
    } finally {
      this.saved = outer;
    }
    const list = Array.isArray(r) ? r : [r];
    if (list.length !== numInputs)
      throw new NDArrayError(`Function.backward returned ${list.length} gradients for ${numInputs} inputs`, 'BAD_CUSTOM_GRAD');
    return list.map((g) => {
      if (g === null || g === undefined) return -1;
      if (!(g instanceof NDArray)) throw new NDArrayError('Function.backward must return NDArrays', 'BAD_CUSTOM_GRAD');
      return g.hFor('Function.backward');
    });
  }

  /** @internal */
  private dropSaved(): void {
    for (const a of this.saved) a.dispose();
    this.saved = [];
  }
}

/**
 * Compares analytic gradients of sum(fn(...inputs)) with central finite differences in float64
 * (PyTorch's gradcheck, MXNet's check_numeric_gradient). Returns the worst error; throws on failure.
 */
export function checkGradient(
  fn: (...xs: NDArray[]) => NDArray | NDArray[],
  inputs: NDArray[],
  opts: { eps?: number; rtol?: number; atol?: number } = {},
): { maxError: number } {
  opts = options(opts, 'checkGradient', CHECK_KEYS) as typeof opts;
  if (typeof fn !== 'function')
    throw new NDArrayError(`checkGradient: expected a function, got ${describeValue(fn)}`, 'BAD_ARGUMENT');
  if (!Array.isArray(inputs) || inputs.some((x) => !(x instanceof NDArray)))
    throw new NDArrayError('checkGradient: inputs must be a list of NDArrays', 'BAD_ARGUMENT');
  for (const x of inputs) handleOf(x, 'checkGradient');
  const num = (key: 'eps' | 'rtol' | 'atol', def: number): number => {
    const v = opts[key] ?? def;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (key === 'eps' && v === 0))
      throw new NDArrayError(
        `checkGradient: option '${key}' must be a finite number ${key === 'eps' ? '> 0' : '>= 0'}, got ${describeValue(v)}`,
        'BAD_ARGUMENT',
      );
    return v;
  };
  const eps = num('eps', 1e-6);
  const rtol = num('rtol', 1e-4);
  const atol = num('atol', 1e-6);
  return tidy(() => {
    const xs = inputs.map((x) => (x.dtype === 'float32' || x.dtype === 'float64' ? x.astype('float64') : x.copy()));
    const diff = xs.filter((x) => x.dtype === 'float64');
    for (const x of diff) x.attachGrad();
    const total = (ys: NDArray | NDArray[]): NDArray => {
      const l = Array.isArray(ys) ? ys : [ys];
      if (l.length === 0 || l.some((y) => !(y instanceof NDArray)))
        throw new NDArrayError('checkGradient: fn must return an NDArray or a non-empty list of NDArrays', 'BAD_ARGUMENT');
      let s = l[0].astype('float64').sum();
      for (let i = 1; i < l.length; i++) s = s.add(l[i].astype('float64').sum());
      return s;
    };
    const loss = record(() => total(fn(...xs)));
    loss.backward();
    let worst = 0;
    for (const x of diff) {
      const analytic = x.grad!.toTypedArray() as Float64Array;
      const base = x.toTypedArray() as Float64Array;
      for (let i = 0; i < base.length; i++) {
        const at = (v: number): number =>
          tidy(() => {
            const p = Float64Array.from(base);
            p[i] = v;
            x.set(invoke('reshape', [wrap(nativeFrom(p))], { shape: x.shape }));
            return pause(() => total(fn(...xs)).item());
          });
        const numeric = (at(base[i] + eps) - at(base[i] - eps)) / (2 * eps);
        x.set(invoke('reshape', [wrap(nativeFrom(base))], { shape: x.shape }));
        const err = Math.abs(analytic[i] - numeric);
        const tol = atol + rtol * Math.abs(numeric);
        worst = Math.max(worst, err);
        if (!(err <= tol))
          throw new NDArrayError(
            `checkGradient: input of shape (${x.shape.join(',')}) element ${i}: analytic ${analytic[i]} vs numeric ${numeric} (error ${err}, tolerance ${tol})`,
            'GRADIENT_MISMATCH',
          );
      }
    }
    return { maxError: worst };
  });
}

function nativeFrom(data: Float64Array): number {
  return native.fromTyped(data, [data.length], 1);
}
