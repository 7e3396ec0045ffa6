// Creating arrays: nd.array from nested lists and typed arrays, full/zeros/ones/arange/eye, random.
import { native } from './binding';
import { NDArrayError } from './errors';
import { describeValue, handleOf, MAX_DIMS, optionKeys, options } from './args';
import { invoke, wrap } from './dispatch';
import { DType, DTYPE_CODE, NDArray, OutOption } from './ndarray';

const ARRAY_KEYS = optionKeys('dtype');

/** `keys`: the native op whose schema lists the options (creation ops), or nd.array's */
function dtypeOf(opts: { dtype?: DType } | null | undefined, def: DType = 'float32', op = 'array', keys: string | ReadonlySet<string> = ARRAY_KEYS): DType {
  const d = options(opts, op, keys).dtype ?? def;
  if (typeof d !== 'string' || !Object.prototype.hasOwnProperty.call(DTYPE_CODE, d))
    throw new NDArrayError(`${op}: unknown dtype ${typeof d === 'string' ? `'${d}'` : describeValue(d)} (float32, float64, int32, uint8)`, 'BAD_ARGUMENT');
  return d;
}

// A copy of the validated entries: a list that changes when read again (a Proxy, a getter) cannot
// pass one value here and another to native code. Long lists are refused before they are walked.
function checkShape(shape: number[] | number, op: string): number[] {
  const s = typeof shape === 'number' ? [shape] : shape;
  const ok = Array.isArray(s) && s.length <= MAX_DIMS;
  const out: number[] = [];
  for (let i = 0; ok && i < s.length; i++) {
    const d = s[i];
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) break;
    out.push(d);
  }
  if (!ok || out.length !== s.length)
    throw new NDArrayError(
      `${op}: shape must be a list of at most ${MAX_DIMS} non-negative integers, got ${
        !Array.isArray(s) ? describeValue(shape) : !ok ? `a list of ${s.length} entries` : `[${Array.from(s, (d) => (typeof d === 'number' ? d : describeValue(d))).join(', ')}]`
      }`,
      'BAD_ARGUMENT',
    );
  return out;
}

// Typed arrays by their internal kind: %TypedArray%.prototype[Symbol.toStringTag] reads the kind
// the engine knows, so subclasses and arrays from other realms (vm contexts) are recognised, and a
// user's own Symbol.toStringTag cannot lie.
const typedArrayKind = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag)!
  .get as (this: ArrayBufferView) => string | undefined;
const TYPED_DTYPE: Record<string, DType> = {
  Float32Array: 'float32',
  Float64Array: 'float64',
  Int32Array: 'int32',
  Uint8Array: 'uint8',
  Uint8ClampedArray: 'uint8',
};

// A view over a transferred (detached) ArrayBuffer reads as empty; constructing a view on its
// buffer is the one test Node 20 offers (ArrayBuffer.prototype.detached came later).
function isDetached(v: ArrayBufferView): boolean {
  if (v.byteLength !== 0) return false;
  try {
    new Uint8Array(v.buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

function fromTypedArray(data: ArrayBufferView, opts: { dtype?: DType } | undefined): NDArray {
  const kind = typedArrayKind.call(data);
  const td = kind === undefined ? undefined : TYPED_DTYPE[kind];
  if (!td)
    throw new NDArrayError(
      `array: unsupported ${kind ?? 'DataView'} (use Float32Array, Float64Array, Int32Array, Uint8Array or Uint8ClampedArray)`,
      'BAD_ARGUMENT',
    );
  const dtype = dtypeOf(opts, td);
  if (isDetached(data))
    throw new NDArrayError(`array: the ${kind}'s ArrayBuffer is detached (it was transferred); nothing to read`, 'BAD_ARGUMENT');
  // The native side reads the view directly (ArrayBuffer or SharedArrayBuffer) and converts to
  // dtype as astype does.
  return wrap(native.fromTyped(data, [(data as unknown as ArrayLike<number>).length], DTYPE_CODE[dtype]));
}

// The shape of a nested list from its first elements. At most MAX_DIMS levels are probed, so a list
// that contains itself or is nested absurdly deep costs O(MAX_DIMS), not a loop or a stack overflow.
function probeShape(data: unknown): { shape: number[]; first: unknown } {
  const shape: number[] = [];
  const seen: unknown[] = [];
  let probe = data;
  while (Array.isArray(probe)) {
    if (seen.includes(probe))
      throw new NDArrayError(`array: the nested list contains itself (at depth ${shape.length}); it has no shape`, 'BAD_ARGUMENT');
    if (shape.length === MAX_DIMS)
      throw new NDArrayError(`array: the nested list is more than ${MAX_DIMS} levels deep; at most ${MAX_DIMS} dimensions are supported`, 'BAD_ARGUMENT');
    seen.push(probe);
    const n = probe.length;
    shape.push(n);
    probe = n > 0 ? probe[0] : undefined;
  }
  return { shape, first: probe };
}

function notANumber(v: unknown, index: number[]): NDArrayError {
  const at = index.length ? ` at [${index.join(', ')}]` : '';
  return new NDArrayError(`array: expected numbers or booleans, found ${v === undefined ? 'undefined (or a hole)' : describeValue(v)}${at}`, 'BAD_ARGUMENT');
}

function fromList(data: unknown, opts: { dtype?: DType } | undefined): NDArray {
  const dtype = dtypeOf(opts);
  const { shape, first } = probeShape(data);
  let total = 1;
  for (const d of shape) total *= d;
  // Reject a wrong first element before allocating for the claimed size (new Array(2 ** 32 - 1)).
  if (total > 0 && typeof first !== 'number' && typeof first !== 'boolean') throw notANumber(first, shape.map(() => 0));
  // Allocated before the walk, as NumPy does: a list (or a Proxy) claiming more entries than memory
  // holds fails at once instead of after billions of reads.
  let values: Float64Array;
  try {
    values = new Float64Array(total);
  } catch {
    throw new NDArrayError(`array: cannot hold the ${total} values of a nested list of shape [${shape.join(', ')}]`, 'OUT_OF_MEMORY');
  }
  const last = shape.length - 1;
  const index: number[] = shape.map(() => 0);
  let k = 0;
  // Reads every list's length once and its elements by index (no iterator protocol), so a Proxy or
  // a list changed by a getter can only be reported as ragged, never loop or overrun `values`.
  const walk = (v: unknown, axis: number): void => {
    const n = shape[axis];
    if (!Array.isArray(v) || v.length !== n)
      throw new NDArrayError(
        `array: ragged nested list: expected a list of length ${n} at [${index.slice(0, axis).join(', ')}], found ${Array.isArray(v) ? `length ${v.length}` : describeValue(v)}`,
        'SHAPE_MISMATCH',
      );
    for (let i = 0; i < n; i++) {
      index[axis] = i;
      const e = v[i];
      if (axis < last) walk(e, axis + 1);
      else if (typeof e === 'number') values[k++] = e;
      else if (typeof e === 'boolean') values[k++] = e ? 1 : 0;
      else throw notANumber(e, index);
    }
  };
  if (shape.length === 0) {
    if (typeof data !== 'number' && typeof data !== 'boolean') throw notANumber(data, []);
    values[0] = Number(data);
  } else walk(data, 0); // also when empty: [[], [1]] is ragged
  return wrap(native.fromTyped(values, shape, DTYPE_CODE[dtype]));
}

/** What nd.array takes: a number, nested lists of numbers (or booleans), a typed array, an NDArray. */
export type ArrayData = number | boolean | ArrayBufferView | NDArray | readonly ArrayData[];

export function array(data: ArrayData, opts?: { dtype?: DType }): NDArray {
  if (data instanceof NDArray) return data.astype(dtypeOf(opts, data.dtype));
  if (ArrayBuffer.isView(data)) return fromTypedArray(data, opts);
  return fromList(data, opts);
}

export interface CreationOptions extends OutOption {
  dtype?: DType;
}
function fullAs(op: string, shape: number[] | number, value: number, opts?: CreationOptions): NDArray {
  const dtype = dtypeOf(opts, 'float32', op, 'full');
  return invoke('full', [], { shape: checkShape(shape, 'full'), value, dtype }, opts?.out);
}
export function full(shape: number[] | number, value: number, opts?: CreationOptions): NDArray {
  return fullAs('full', shape, value, opts);
}
export function zeros(shape: number[] | number, opts?: CreationOptions): NDArray {
  return fullAs('zeros', shape, 0, opts);
}
export function ones(shape: number[] | number, opts?: CreationOptions): NDArray {
  return fullAs('ones', shape, 1, opts);
}
export function zerosLike(x: NDArray, opts?: OutOption): NDArray {
  const out = options(opts, 'zerosLike', 'zeros_like').out;
  handleOf(x, 'zerosLike');
  return fullAs('zerosLike', x.shape, 0, { dtype: x.dtype, out });
}
export function onesLike(x: NDArray, opts?: OutOption): NDArray {
  const out = options(opts, 'onesLike', 'zeros_like').out;  // the same options as zerosLike
  handleOf(x, 'onesLike');
  return fullAs('onesLike', x.shape, 1, { dtype: x.dtype, out });
}
export function arange(start: number, stop?: number, step = 1, opts?: CreationOptions): NDArray {
  if (stop === undefined) {
    stop = start;
    start = 0;
  }
  return invoke('arange', [], { start, stop, step, dtype: dtypeOf(opts, 'float32', 'arange', 'arange') }, opts?.out);
}
export function eye(n: number, m = 0, k = 0, opts?: CreationOptions): NDArray {
  return invoke('eye', [], { N: n, M: m, k, dtype: dtypeOf(opts, 'float32', 'eye', 'eye') }, opts?.out);
}

export const random = {
  uniform(low = 0, high = 1, shape: number[] | number = [1], opts?: CreationOptions): NDArray {
    const dtype = dtypeOf(opts, 'float32', 'random.uniform', 'random_uniform');
    return invoke('random_uniform', [], { low, high, shape: checkShape(shape, 'random.uniform'), dtype }, opts?.out);
  },
  normal(loc = 0, scale = 1, shape: number[] | number = [1], opts?: CreationOptions): NDArray {
    const dtype = dtypeOf(opts, 'float32', 'random.normal', 'random_normal');
    return invoke('random_normal', [], { loc, scale, shape: checkShape(shape, 'random.normal'), dtype }, opts?.out);
  },
  seed(n: number): void {
    if (typeof n !== 'number' || !Number.isFinite(n))
      throw new NDArrayError(`random.seed: the seed must be a finite number, got ${describeValue(n)}`, 'BAD_ARGUMENT');
    native.seed(n);
  },
};

