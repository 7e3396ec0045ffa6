// Creating arrays: nd.array from nested lists and typed arrays, full/zeros/ones/arange/eye, random.
import { native } from './binding';
import { NDArrayError } from './errors';
import { describeValue, handleOf, MAX_DIMS, optionKeys, options } from './args';
import { invoke, wrap } from './dispatch';
import { ContextLike, withoutCtx } from './context';
import { take } from './indexing';
import { tidy } from './memory';
import { DType, DTYPE_CODE, NDArray, OutOption } from './ndarray';
import { argsort } from './sort';

const ARRAY_KEYS = optionKeys('dtype');

/** `keys`: the native op whose schema lists the options (creation ops), or nd.array's */
function dtypeOf(opts: { dtype?: DType } | null | undefined, def: DType = 'float32', op = 'array', keys: string | ReadonlySet<string> = ARRAY_KEYS): DType {
  const d = options(opts, op, keys).dtype ?? def;
  if (typeof d !== 'string' || !Object.prototype.hasOwnProperty.call(DTYPE_CODE, d))
    throw new NDArrayError(`${op}: unknown dtype ${typeof d === 'string' ? `'${d}'` : describeValue(d)} (float32, float64, int32, uint8, bfloat16)`, 'BAD_ARGUMENT');
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

export function array(data: ArrayData, opts?: { dtype?: DType; ctx?: ContextLike }): NDArray {
  opts = withoutCtx(opts, 'array') ?? undefined;
  if (data instanceof NDArray) return data.astype(dtypeOf(opts, data.dtype));
  if (ArrayBuffer.isView(data)) return fromTypedArray(data, opts);
  return fromList(data, opts);
}

export interface CreationOptions extends OutOption {
  dtype?: DType;
  /** MXNet's device argument: only cpu(0), the one context (a GPU context is BAD_ARGUMENT) */
  ctx?: ContextLike;
}
function fullAs(op: string, shape: number[] | number, value: number, opts?: CreationOptions): NDArray {
  opts = withoutCtx(opts, op) ?? undefined;
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
  opts = withoutCtx(opts, 'arange') ?? undefined;
  if (stop === undefined) {
    stop = start;
    start = 0;
  }
  return invoke('arange', [], { start, stop, step, dtype: dtypeOf(opts, 'float32', 'arange', 'arange') }, opts?.out);
}
export function eye(n: number, m = 0, k = 0, opts?: CreationOptions): NDArray {
  opts = withoutCtx(opts, 'eye') ?? undefined;
  return invoke('eye', [], { N: n, M: m, k, dtype: dtypeOf(opts, 'float32', 'eye', 'eye') }, opts?.out);
}

/** The options of the random draws (those of the other creation functions). */
export type RandomOptions = CreationOptions;
/** MXNet's keyword form of random.uniform: `{ low, high, shape }` besides the options. */
export interface UniformKeywords extends RandomOptions {
  low?: number;
  high?: number;
  shape?: number[] | number;
}
/** MXNet's keyword form of random.normal: `{ loc, scale, shape }` besides the options. */
export interface NormalKeywords extends RandomOptions {
  loc?: number;
  scale?: number;
  shape?: number[] | number;
}
/** random.randint's keyword form: `{ low, high, shape }` besides the options. */
export type RandintKeywords = UniformKeywords;

const UNIFORM_KEYS = optionKeys('low', 'high', 'shape', 'dtype', 'ctx', 'out');
const NORMAL_KEYS = optionKeys('loc', 'scale', 'shape', 'dtype', 'ctx', 'out');
const isKeywords = (a: unknown): a is object => typeof a === 'object' && a !== null && !Array.isArray(a);

// One random draw of either op: `a, b` are (low, high) or (loc, scale).
function draw(op: 'uniform' | 'normal', a: number, b: number, shape: number[] | number, opts: RandomOptions | undefined): NDArray {
  const name = `random.${op}`, native = `random_${op}`;
  opts = withoutCtx(opts, name) ?? undefined;
  const dtype = dtypeOf(opts, 'float32', name, native);
  const ab = op === 'uniform' ? { low: a, high: b } : { loc: a, scale: b };
  return invoke(native, [], { ...ab, shape: checkShape(shape, name), dtype }, opts?.out);
}

// randint's values: floor of a float64 uniform draw in [low, high), kept below high (rounding).
function randint(low: number | RandintKeywords, high?: number, shape: number[] | number = [1], opts?: RandomOptions): NDArray {
  if (isKeywords(low)) {
    const k = options(low, 'random.randint', UNIFORM_KEYS);
    return randint(k.low ?? 0, k.high, k.shape ?? [1], { dtype: k.dtype, ctx: k.ctx, out: k.out });
  }
  opts = withoutCtx(opts, 'random.randint') ?? undefined;
  const dtype = dtypeOf(opts, 'int32', 'random.randint', optionKeys('dtype', 'out'));
  if (!Number.isSafeInteger(low) || !Number.isSafeInteger(high) || high! <= low)
    throw new NDArrayError(`random.randint: low and high must be integers with low < high, got ${describeValue(low)} and ${describeValue(high)}`, 'BAD_ARGUMENT');
  return tidy(() => {
    const u = random.uniform(low, high, shape, { dtype: 'float64' });
    return u.floor().minimum(high! - 1).astype(dtype, opts?.out ? { out: opts.out } : undefined);
  });
}

// shuffle's permutation: the argsort of one uniform key per row (ties, which need two equal doubles,
// keep their order), so nd.random.seed makes it reproducible.
function shuffle(x: NDArray, opts?: OutOption): NDArray {
  const out = options(opts, 'random.shuffle', optionKeys('out')).out;
  handleOf(x, 'random.shuffle');
  if (x.shape.length === 0) throw new NDArrayError('random.shuffle: cannot shuffle a 0-d array', 'BAD_ARGUMENT');
  return tidy(() => {
    const perm = argsort(random.uniform(0, 1, [x.shape[0]], { dtype: 'float64' }), { dtype: 'int32' });
    return take(x, perm, { axis: 0, out });
  });
}

export const random = {
  /** `uniform(low, high, shape, opts)` or MXNet's keyword form `uniform({ low, high, shape, dtype, ctx, out })`. */
  uniform(low: number | UniformKeywords = 0, high = 1, shape: number[] | number = [1], opts?: RandomOptions): NDArray {
    if (!isKeywords(low)) return draw('uniform', low, high, shape, opts);
    const k = options(low, 'random.uniform', UNIFORM_KEYS);
    return draw('uniform', k.low ?? 0, k.high ?? 1, k.shape ?? [1], { dtype: k.dtype, ctx: k.ctx, out: k.out });
  },
  /** `normal(loc, scale, shape, opts)` or MXNet's keyword form `normal({ loc, scale, shape, dtype, ctx, out })`. */
  normal(loc: number | NormalKeywords = 0, scale = 1, shape: number[] | number = [1], opts?: RandomOptions): NDArray {
    if (!isKeywords(loc)) return draw('normal', loc, scale, shape, opts);
    const k = options(loc, 'random.normal', NORMAL_KEYS);
    return draw('normal', k.loc ?? 0, k.scale ?? 1, k.shape ?? [1], { dtype: k.dtype, ctx: k.ctx, out: k.out });
  },
  /** MXNet's randint: integers uniform in [low, high), int32 unless dtype says otherwise. */
  randint,
  /** MXNet's shuffle: a copy of x with its rows (first axis) in a random order (differentiable, as take). */
  shuffle,
  seed(n: number): void {
    if (typeof n !== 'number' || !Number.isFinite(n))
      throw new NDArrayError(`random.seed: the seed must be a finite number, got ${describeValue(n)}`, 'BAD_ARGUMENT');
    native.seed(n);
  },
};
