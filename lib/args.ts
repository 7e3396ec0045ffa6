// Checks of what users pass: NDArray arguments, options objects (unknown keys rejected), lists.
// Every failure is an NDArrayError BAD_ARGUMENT (or DISPOSED) naming the function.
import { opOptionKeys, native } from './binding';
import { NDArrayError } from './errors';
import { NDArray } from './ndarray';

/** The most dimensions an array can have (the native kMaxDims). */
export const MAX_DIMS = 32;

/** @internal the most arrays one call takes (the native handle table's size) */
export const MAX_LIST = (1 << 22) - 1;

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
