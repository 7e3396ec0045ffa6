// The NDArray class: a plain object holding an integer handle into the native handle table.
// Data lives in C++; JS sees it only through copies (toArray / toTypedArray / item).
import { meta, MemoryInfo, native, opId, opOptionKeys } from './binding';
import { NDArrayError } from './errors';
import { formatArray } from './format';
import { types as utilTypes } from 'util';

export type DType = 'float32' | 'float64' | 'int32' | 'uint8';
export const DTYPES: DType[] = ['float32', 'float64', 'int32', 'uint8'];
/** @internal the native dtype codes */
export const DTYPE_CODE: Record<DType, number> = { float32: 0, float64: 1, int32: 2, uint8: 3 };

export type Operand = NDArray | number;
export interface OutOption {
  out?: NDArray;
}

// ---- scopes for tidy, and the GC backstop ----

type Scope = NDArray[];
const scopes: Scope[] = [];

// Backstop for arrays nobody disposed (runs only when the event loop turns; tidy/dispose are the
// real mechanism). Handles carry a generation, so releasing an already-reused slot is a no-op.
const registry = new FinalizationRegistry<number>((h) => native.release(h));

// Registering costs ~0.2 µs, more than a tiny op, so arrays made outside any tidy scope wait in
// `pending` until the event loop turns (finalizers could not run before then anyway) and only the
// ones still alive are registered. The list is flushed early if it grows large.
let pending: NDArray[] = [];
let flushScheduled = false;
const PENDING_LIMIT = 4096;

// An array disposed after registration is unregistered, so its finalizer can never release the
// slot's next occupant (handle generations wrap after enough reuses of a slot).
function register(a: NDArray): void {
  if (a._registered) return;
  registry.register(a, a._h, a);
  a._registered = true;
}

function flushPending(): void {
  flushScheduled = false;
  const list = pending;
  pending = [];
  for (const a of list) if (a._h >= 0) register(a);
}

function track(a: NDArray): void {
  if (scopes.length > 0) {
    scopes[scopes.length - 1].push(a);
    return;
  }
  pending.push(a);
  if (pending.length >= PENDING_LIMIT) flushPending();
  else if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushPending).unref();
  }
}

export class NDArray {
  /** @internal native handle; -1 once disposed */
  _h: number;
  readonly shape: number[];
  readonly dtype: DType;
  /** @internal the gradient buffer object, while marked */
  _grad: NDArray | null = null;
  /** @internal never disposed by tidy (kept, or a variable's gradient) */
  _kept = false;

  /** @internal use nd.array / nd.zeros / ops to make arrays */
  constructor(h: number, shape: number[], dtype: DType) {
    this._h = h;
    this.shape = shape;
    this.dtype = dtype;
    track(this);
  }

  get size(): number {
    let n = 1;
    for (const d of this.shape) n *= d;
    return n;
  }
  get ndim(): number {
    return this.shape.length;
  }
  get context(): string {
    return 'cpu(0)';
  }
  get isDisposed(): boolean {
    return this._h < 0;
  }

  /** @internal the handle, or DISPOSED */
  get h(): number {
    return this.hFor('NDArray');
  }
  /** @internal the handle, or DISPOSED naming the op that needed it */
  hFor(op: string): number {
    if (this._h < 0)
      throw new NDArrayError(`${op}: NDArray ${this.shape.join('x') || '()'} ${this.dtype} was disposed`, 'DISPOSED');
    return this._h;
  }

  /** @internal true when _grad was allocated by attachGrad (then it is freed with this array) */
  _ownsGrad = false;
  /** @internal registered with the GC backstop */
  _registered = false;

  dispose(): void {
    if (this._h >= 0) {
      native.release(this._h);
      this._h = -1;
      if (this._registered) {
        registry.unregister(this);
        this._registered = false;
      }
      if (this._grad && this._ownsGrad) this._grad.dispose();
    }
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  toTypedArray(): Float32Array | Float64Array | Int32Array | Uint8Array {
    return native.toTyped(this.hFor('toTypedArray'));
  }
  toArray(): any {
    const flat = Array.from(this.toTypedArray() as ArrayLike<number>);
    if (this.shape.length === 0) return flat[0];
    const build = (axis: number, offset: number): any[] => {
      const n = this.shape[axis];
      let stride = 1;
      for (let i = axis + 1; i < this.shape.length; i++) stride *= this.shape[i];
      const out: any[] = [];
      for (let i = 0; i < n; i++) out.push(axis === this.shape.length - 1 ? flat[offset + i] : build(axis + 1, offset + i * stride));
      return out;
    };
    return build(0, 0);
  }
  item(): number {
    return native.item(this.hFor('item'));
  }
  toString(): string {
    if (this._h < 0) return `<NDArray ${this.shape.join('x')} @cpu(0) (disposed)>`;
    return `${formatArray(this.toTypedArray(), this.shape, this.dtype)}\n<NDArray ${this.shape.join('x')} @cpu(0)>`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  // ---- autograd ----
  /** The gradient buffer while the array is marked (attachGrad / markVariables), else null. */
  get grad(): NDArray | null {
    return this._grad;
  }
  attachGrad(gradReq: 'write' | 'add' | 'null' = 'write'): void {
    const h = this.hFor('attachGrad');
    const g: NDArray = invoke('full', [], { shape: this.shape, value: 0, dtype: this.dtype });
    g._kept = true;
    untrack(g);
    try {
      native.markVariables([h], [g.h], [gradReq]);
    } catch (e) {
      g.dispose(); // not attached: nobody else can free it
      throw e;
    }
    if (this._grad && this._grad !== g) {
      // the replaced buffer: left to the GC backstop (the caller may still hold it)
      this._grad._kept = false;
      if (this._ownsGrad && this._grad._h >= 0) register(this._grad);
    }
    this._grad = g;
    this._ownsGrad = true;
  }
  dropGrad(): void {
    native.dropGrad(this.hFor('dropGrad'));
    if (this._grad && this._ownsGrad) this._grad.dispose();
    this._grad = null;
    this._ownsGrad = false;
  }
  detach(): NDArray {
    return wrap(native.detach(this.hFor('detach')));
  }
  backward(outGrad?: NDArray | null, opts?: { retainGraph?: boolean; trainMode?: boolean } | null): void {
    const o = options(opts, 'backward', BACKWARD_KEYS);
    runBackward([this], [outGrad ?? null], o.retainGraph ?? false, o.trainMode ?? true);
  }
  /** MXNet's _fresh_grad: set by backward on every variable it wrote. */
  get freshGrad(): boolean {
    return native.freshGrad(this.hFor('freshGrad'));
  }
  set freshGrad(v: boolean) {
    native.freshGrad(this.hFor('freshGrad'), v);
  }

  // ---- shape ----
  reshape(...shape: (number | number[])[]): NDArray {
    const s = shape.length === 1 && Array.isArray(shape[0]) ? (shape[0] as number[]) : (shape as number[]);
    return invoke('reshape', [this], { shape: s });
  }
  at(i: number): NDArray {
    return invoke('at', [this], { index: i });
  }
  astype(dtype: DType, opts?: OutOption): NDArray {
    return invoke('astype', [this], { dtype }, options(opts, 'astype').out);
  }
  copy(): NDArray {
    return invoke('copy', [this]);
  }
  asType(dtype: DType, opts?: OutOption): NDArray {
    return this.astype(dtype, opts);
  }

  // ---- in place (MXNet's x[:] = v, +=, -=, *=, /=) ----
  set(value: Operand): this {
    if (typeof value === 'number') invoke('full', [], { shape: this.shape, dtype: this.dtype, value }, this);
    else invoke('broadcast_to', [value], { shape: this.shape, exact: true }, this);  // literal shape (0 = size 0)
    return this;
  }
  iadd(v: Operand): this {
    binaryOp('add', this, v, { out: this });
    return this;
  }
  isub(v: Operand): this {
    binaryOp('subtract', this, v, { out: this });
    return this;
  }
  imul(v: Operand): this {
    binaryOp('multiply', this, v, { out: this });
    return this;
  }
  idiv(v: Operand): this {
    binaryOp('divide', this, v, { out: this });
    return this;
  }
}

/** @internal autograd.backward's and NDArray.backward's option keys */
export const BACKWARD_KEYS: ReadonlySet<string> = new Set(['retainGraph', 'trainMode']);

function untrack(a: NDArray): void {
  for (let s = scopes.length - 1; s >= 0; s--) {
    const i = scopes[s].lastIndexOf(a);
    if (i >= 0) {
      scopes[s].splice(i, 1);
      return;
    }
  }
}

const DTYPE_OF = DTYPES;

/** @internal wraps a fresh native handle whose shape/dtype are in `meta` */
export function wrap(h: number): NDArray {
  const nd = meta[1];
  const shape = new Array<number>(nd);
  for (let i = 0; i < nd; i++) shape[i] = meta[2 + i];
  return new NDArray(h, shape, DTYPE_OF[meta[0]]);
}

/** @internal wraps a handle whose meta has not been written yet */
export function wrapHandle(h: number): NDArray {
  native.meta(h);
  return wrap(h);
}

/** @internal a short description of any JS value for error messages (never throws) */
export function describeValue(x: unknown): string {
  if (x instanceof NDArray) return `NDArray ${x.shape.join('x') || '()'} ${x.dtype}`;
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'number') return `the number ${x}`;
  if (typeof x === 'string') return `the string '${x.length > 20 ? x.slice(0, 20) + '…' : x}'`;
  const tag = typeof x === 'object' ? Object.prototype.toString.call(x).slice(8, -1) : '';
  return tag && tag !== 'Object' ? `a ${tag}` : typeof x;
}

/** @internal the native handle of x; BAD_ARGUMENT naming the op if x is not an NDArray */
export function handleOf(x: unknown, op: string): number {
  if (x instanceof NDArray) return x.hFor(op);
  throw new NDArrayError(`${op}: expected an NDArray, got ${describeValue(x)}`, 'BAD_ARGUMENT');
}

/** @internal the option keys of a function that is not an op (autograd.backward, nd.array) */
export function optionKeys(...keys: string[]): ReadonlySet<string> {
  return new Set(keys);
}

/**
 * @internal an options argument: undefined/null give {}; anything but a plain object is
 * BAD_ARGUMENT, and so is a key the function does not take (a misspelled option must not be
 * silently ignored). `keys`: the native op (name or alias) whose schema lists the options, by
 * default `op` itself, or the set of keys of a function that is not an op.
 */
export function options<T extends object>(
  opts: T | null | undefined,
  op: string,
  keys: string | ReadonlySet<string> = op,
): Partial<T> {
  if (opts === undefined || opts === null) return {};
  // a Map, Date, boxed number... has no enumerable keys, so its "options" would be silently ignored
  if (typeof opts !== 'object' || Array.isArray(opts) || opts instanceof NDArray || ArrayBuffer.isView(opts) ||
      Object.prototype.toString.call(opts) !== '[object Object]')
    throw new NDArrayError(`${op}: options must be an object, got ${describeValue(opts)}`, 'BAD_ARGUMENT');
  const allowed = typeof keys === 'string' ? opOptionKeys(keys) : keys;
  for (const k in opts) if (!allowed.has(k)) throw unknownOption(op, k, allowed);
  return opts;
}

/** @internal the most arrays one call takes (the native handle table's size) */
export const MAX_LIST = (1 << 22) - 1;

/**
 * @internal BAD_ARGUMENT unless xs is a list of at most `max` entries, checked before anything walks
 * it (a sparse list or a Proxy can claim 2 ** 32 - 1 entries).
 */
export function checkList<T>(xs: T[], op: string, what: string, max = MAX_LIST): T[] {
  if (!Array.isArray(xs)) throw new NDArrayError(`${op}: ${what} must be a list, got ${describeValue(xs)}`, 'BAD_ARGUMENT');
  if (xs.length > max) throw new NDArrayError(`${op}: ${what} has ${xs.length} entries; at most ${max} are accepted`, 'BAD_ARGUMENT');
  return xs;
}

function unknownOption(op: string, key: string, allowed: ReadonlySet<string>): NDArrayError {
  return new NDArrayError(native.unknownOptionMessage(op, key, [...allowed]), 'BAD_ARGUMENT');
}

/** @internal runs any op by name through the one generic entry point */
export function invoke(name: string, inputs: NDArray[], attrs: object | null = null, out?: NDArray): any {
  checkList(inputs, name, 'the list of arrays');
  const hs = inputs.map((x) => handleOf(x, name));
  if (out !== undefined && out !== null) {
    native.opN(opId(name), hs, attrs, handleOf(out, name));
    return out;
  }
  const r = native.opN(opId(name), hs, attrs, -1);
  if (typeof r === 'number') return wrap(r);
  return r.map(wrapHandle);
}

export function unaryOp(name: string, x: NDArray, opts?: OutOption): NDArray {
  if (opts !== undefined && opts !== null) opts = options(opts, name);
  if (opts && opts.out) return invoke(name, [x], null, opts.out);
  return wrap(native.op1(opId(name), handleOf(x, name)));
}

/** `user`: the name the user called (notEqual), when `name` is the native one (not_equal) */
export function binaryOp(name: string, a: Operand, b: Operand, opts?: OutOption, user = name): NDArray {
  if (opts !== undefined && opts !== null) opts = options(opts, user, name);
  const out = opts && opts.out;
  if (typeof b === 'number' && a instanceof NDArray) {
    if (out) return invoke(name, [a], { scalar: b }, out);
    return wrap(native.opScalar(opId(name), a.hFor(name), b, false));
  }
  if (typeof a === 'number' && b instanceof NDArray) {
    if (out) return invoke(name, [b], { scalar: a, reverse: true }, out);
    return wrap(native.opScalar(opId(name), b.hFor(name), a, true));
  }
  if (out) return invoke(name, [a as NDArray, b as NDArray], null, out);
  return wrap(native.op2(opId(name), handleOf(a, name), handleOf(b, name)));
}

/** The most dimensions an array can have (the native kMaxDims). */
export const MAX_DIMS = 32;

// ---- memory ----

// Dense arrays longer than this are walked by their keys, so a holey `new Array(2 ** 32 - 1)` costs
// nothing; shorter ones by index (a nested list of numbers from toArray() must stay cheap).
const DENSE_WALK_LIMIT = 1 << 24;

/**
 * Adds to `into` every NDArray reachable from `value`: array elements, Map keys and values, Set
 * values, and the own data properties of any other object (class instances and null-prototype
 * objects too). Iterative with a visited set, so cycles and any depth are fine. Object properties
 * are read through their descriptors, so no getter runs; typed arrays and functions are not entered.
 * Only a Proxy's traps or an array-index accessor can run user code (and throw) here.
 */
function collect(value: unknown, into: Set<NDArray>): void {
  const seen = new Set<object>();
  const stack: unknown[] = [];
  const push = (v: unknown): void => {
    if (v !== null && typeof v === 'object') stack.push(v);
  };
  push(value);
  while (stack.length > 0) {
    const v = stack.pop() as object;
    if (v instanceof NDArray) {
      into.add(v);
      continue;
    }
    if (seen.has(v)) continue;
    seen.add(v);
    if (ArrayBuffer.isView(v) || utilTypes.isAnyArrayBuffer(v)) continue;
    if (Array.isArray(v)) {
      const n = v.length;
      if (n <= DENSE_WALK_LIMIT) for (let i = 0; i < n; i++) push(v[i]);
      else for (const k of Object.keys(v)) push(v[k as any]);
    } else if (utilTypes.isMap(v)) {
      Map.prototype.forEach.call(v, (val: unknown, key: unknown) => {
        push(key);
        push(val);
      });
    } else if (utilTypes.isSet(v)) {
      Set.prototype.forEach.call(v, push);
    } else {
      const ds = Object.getOwnPropertyDescriptors(v);
      for (const k of Reflect.ownKeys(ds)) {
        const d = (ds as any)[k] as PropertyDescriptor;
        if ('value' in d) push(d.value);
      }
    }
  }
}

function popScope(scope: Scope): void {
  const i = scopes.lastIndexOf(scope);
  if (i >= 0) scopes.length = i;
}

/** Runs fn; disposes every NDArray created inside that fn does not return (or keep). Nests. */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new NDArrayError(`tidy: expected a function, got ${describeValue(fn)}`, 'BAD_ARGUMENT');
  const scope: Scope = [];
  scopes.push(scope);
  let result: T;
  let single: NDArray | null = null;
  let keep: Set<NDArray> | null = null;
  try {
    result = fn();
    // The result is looked at while the scope is still ours: reading it can run user code (a `then`
    // getter, a Proxy trap), and whatever that throws must still free the scope (catch below).
    if (result !== null && (typeof result === 'object' || typeof result === 'function') && typeof (result as any).then === 'function')
      throw new NDArrayError('tidy: the function returned a Promise; tidy only works with synchronous code', 'ASYNC_SCOPE');
    // The common results (one array, or nothing) skip building a set of kept arrays.
    if (result instanceof NDArray) single = result;
    else if (result !== null && typeof result === 'object') {
      keep = new Set<NDArray>();
      collect(result, keep);
    }
  } catch (e) {
    popScope(scope);
    for (const a of scope) if (!a._kept) a.dispose();
    throw e;
  }
  popScope(scope);
  for (const a of scope) {
    if (a._kept || a === single || (keep !== null && keep.has(a))) {
      if (a._h >= 0) track(a); // hand it to the enclosing scope (or the GC backstop)
    } else {
      const g = a._grad;
      if (g !== null && a._ownsGrad && g._h >= 0 && (g === single || (keep !== null && keep.has(g)))) {
        // a variable made here is freed, but its returned .grad outlives it like any returned array
        a._ownsGrad = false;
        g._kept = false;
        track(g);
      }
      a.dispose();
    }
  }
  return result;
}

/**
 * Exempts x from disposal by the enclosing tidy scopes: an NDArray, or every NDArray held by a
 * list, object, Map or Set (walked as tidy walks its result). Returns x.
 */
export function keep<T>(x: T): T {
  if (x instanceof NDArray) {
    x._kept = true;
    return x;
  }
  if (x === null || typeof x !== 'object')
    throw new NDArrayError(`keep: expected an NDArray or a value holding NDArrays, got ${describeValue(x)}`, 'BAD_ARGUMENT');
  const found = new Set<NDArray>();
  collect(x, found);
  for (const a of found) a._kept = true;
  return x;
}

/** Disposes every NDArray held by value (an NDArray, list, object, Map or Set; cycles are fine). */
export function dispose(value: any): void {
  const found = new Set<NDArray>();
  try {
    collect(value, found);
  } finally {
    for (const a of found) a.dispose(); // what was found before a Proxy trap threw is still freed
  }
}

export function memory(): MemoryInfo {
  return native.memory();
}

/**
 * Caps the live native bytes of the whole process (every thread and worker) at `bytes`; null
 * removes the cap. An allocation that would pass it first empties the allocator's cache, then
 * throws OUT_OF_MEMORY naming the op and the sizes. Returns the previous limit.
 */
export function setMemoryLimit(bytes: number | null): number | null {
  if (bytes !== null && (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 0))
    throw new NDArrayError(`setMemoryLimit: expected a non-negative integer number of bytes or null, got ${describeValue(bytes)}`, 'BAD_ARGUMENT');
  return native.setMemoryLimit(bytes);
}

/** Returns the allocator's cached (freed, kept for reuse) blocks to the system. */
export function emptyCache(): void {
  native.trimCache();
}

export function backend(): { isa: string; threads: number } {
  return native.backend();
}

// ---- backward (shared with autograd.ts) ----

// One frame per running backward pass (passes nest: Function.backward may start one): the handles
// ndgrad made for it, a Function's output gradients and saved tensors, freed when that pass ends.
// Nothing else is freed: what Function.backward returns belongs to the user.
const passFrames: NDArray[][] = [];

/** @internal hands arrays to the innermost running pass, which frees them when it ends */
export function forPass(arrays: NDArray[]): void {
  if (passFrames.length === 0) {
    for (const a of arrays) a.dispose();
    throw new NDArrayError('Function.backward: called outside a backward pass', 'BAD_ARGUMENT');
  }
  passFrames[passFrames.length - 1].push(...arrays);
}

/** @internal runs one backward pass (native call) in its own frame */
export function inPass<T>(run: () => T): T {
  const frame: NDArray[] = [];
  passFrames.push(frame);
  try {
    return run();
  } finally {
    passFrames.splice(passFrames.lastIndexOf(frame), 1);
    for (const a of frame) a.dispose();
  }
}

/** @internal */
export function runBackward(heads: NDArray[], headGrads: (NDArray | null | undefined)[], retainGraph: boolean, trainMode: boolean): void {
  const hs = heads.map((h) => handleOf(h, 'backward'));
  const hg = headGrads.map((g) => (g ? handleOf(g, 'backward') : -1));
  inPass(() => native.backward(hs, hg, retainGraph, trainMode));
}

/** @internal for Function.apply: runs fn with the arrays it creates listed in `made` (they stay tracked as usual) */
export function withCreated<T>(made: NDArray[], fn: () => T): T {
  scopes.push(made);
  try {
    return fn();
  } finally {
    popScope(made);
    for (const a of made) if (a._h >= 0) track(a);
  }
}

/** @internal takes an array out of tidy's reach (ndgrad frees it itself) */
export function ownHandle(a: NDArray): NDArray {
  untrack(a);
  return a;
}
