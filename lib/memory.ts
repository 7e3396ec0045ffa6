// Native memory: when it is freed (tidy scopes, keep, dispose, and the GC backstop for arrays nobody
// disposed) and how much is in use (nd.memory, setMemoryLimit, emptyCache). The NDArray constructor
// hands every new array to `track`; this module and ndarray.ts import each other, and neither uses
// the other's exports while loading.
import { MemoryInfo, native } from './binding';
import { describeValue } from './args';
import { NDArrayError } from './errors';
import { NDArray } from './ndarray';
import { types as utilTypes } from 'util';

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

/**
 * @internal hands `a` to the GC backstop. An array disposed after registration is unregistered
 * (`unregister`), so its finalizer can never release the slot's next occupant (handle generations
 * wrap after enough reuses of a slot).
 */
export function register(a: NDArray): void {
  if (a._registered) return;
  registry.register(a, a._h, a);
  a._registered = true;
}

/** @internal takes a disposed array off the GC backstop */
export function unregister(a: NDArray): void {
  registry.unregister(a);
  a._registered = false;
}

function flushPending(): void {
  flushScheduled = false;
  const list = pending;
  pending = [];
  for (const a of list) if (a._h >= 0) register(a);
}

/** @internal puts a new array in the innermost tidy scope, or on its way to the GC backstop */
export function track(a: NDArray): void {
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

/** @internal takes an array out of tidy's reach (ndgrad frees it itself) */
export function ownHandle(a: NDArray): NDArray {
  for (let s = scopes.length - 1; s >= 0; s--) {
    const i = scopes[s].lastIndexOf(a);
    if (i >= 0) {
      scopes[s].splice(i, 1);
      break;
    }
  }
  return a;
}

// A tidy scope's arrays are released by one native call: a call per array cost about as much as the
// op that made it. Arrays with more to undo (registered with the backstop, owning a gradient) go
// through dispose().
let freeHandles = new Int32Array(1024);
let freeCount = 0;

function disposeLater(a: NDArray): void {
  if (a._h < 0) return;
  if (a._registered || a._ownsGrad) return a.dispose();
  if (freeCount === freeHandles.length) {
    const grown = new Int32Array(freeCount * 2);
    grown.set(freeHandles);
    freeHandles = grown;
  }
  freeHandles[freeCount++] = a._h;
  a._h = -1;
}

function releaseDisposed(): void {
  if (freeCount === 0) return;
  const n = freeCount;
  freeCount = 0;
  native.releaseList(freeHandles, n);
}

function popScope(scope: Scope): void {
  const i = scopes.lastIndexOf(scope);
  if (i >= 0) scopes.length = i;
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

/** Runs fn; disposes every NDArray created inside that fn does not return (or keep). Nests. */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new NDArrayError(`tidy: expected a function, got ${describeValue(fn)}`, 'BAD_ARGUMENT');
  const scope: Scope = [];
  scopes.push(scope);
  let result: T;
  let keep: Set<NDArray> | null;
  try {
    result = fn();
    // The result is looked at while the scope is still ours: reading it can run user code (a `then`
    // getter, a Proxy trap), and whatever that throws must still free the scope (catch below).
    keep = keptBy(result);
  } catch (e) {
    popScope(scope);
    for (const a of scope) if (!a._kept) disposeLater(a);
    releaseDisposed();
    throw e;
  }
  closeScope(scope, result instanceof NDArray ? result : null, keep);
  return result;
}

// The arrays a tidy's result holds, when it is not one array or nothing (those skip building a set).
function keptBy(result: unknown): Set<NDArray> | null {
  if (result === null || (typeof result !== 'object' && typeof result !== 'function') || result instanceof NDArray) return null;
  if (typeof (result as any).then === 'function')
    throw new NDArrayError('tidy: the function returned a Promise; tidy only works with synchronous code', 'ASYNC_SCOPE');
  if (typeof result !== 'object') return null;
  const keep = new Set<NDArray>();
  collect(result, keep);
  return keep;
}

// Frees what the scope made except what is returned or kept, which passes to the enclosing scope (or
// the GC backstop). Its own function: tidy stays small enough for V8 to optimize the same way on
// every run (inlined into one big function, the tiny-op rate flipped between two levels run to run).
function closeScope(scope: Scope, single: NDArray | null, keep: Set<NDArray> | null): void {
  popScope(scope);
  // An index loop: V8 did not inline the array iterator here (a call per array).
  for (let i = 0; i < scope.length; i++) {
    const a = scope[i];
    if (a._kept || a === single || (keep !== null && keep.has(a))) {
      if (a._h >= 0) track(a);
    } else {
      const g = a._grad;
      if (g !== null && a._ownsGrad && g._h >= 0 && (g === single || (keep !== null && keep.has(g)))) {
        // a variable made here is freed, but its returned .grad outlives it like any returned array
        a._ownsGrad = false;
        g._kept = false;
        track(g);
      }
      disposeLater(a);
    }
  }
  releaseDisposed();
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
export function dispose(value: unknown): void {
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
