// Layout ops, which move or copy elements into a new arrangement: swapAxes, tile, repeat, flip,
// concat, stack, split, slice, sliceAxis (math in native/src/ops/layout.cc).
import { checkList, describeValue, MAX_DIMS, options } from './args';
import { addMethods, invoke, invokeN } from './dispatch';
import { NDArrayError } from './errors';
import { NDArray, OutOption } from './ndarray';

function arrays(xs: NDArray[], op: string): NDArray[] {
  if (!Array.isArray(xs)) throw new NDArrayError(`${op}: expects an array of NDArrays`, 'BAD_ARGUMENT');
  if (xs.length === 0) throw new NDArrayError(`${op}: needs at least one array`, 'BAD_ARGUMENT');
  return xs;
}

/** Swaps two axes (MXNet SwapAxis). */
export function swapAxes(x: NDArray, dim1: number, dim2: number, opts?: OutOption): NDArray {
  return invoke('swapaxes', [x], { dim1, dim2 }, options(opts, 'swapAxes').out);
}

/** Repeats the whole array `reps` times per axis (NumPy tile rank rules). */
export function tile(x: NDArray, reps: number | number[], opts?: OutOption): NDArray {
  return invoke('tile', [x], { reps }, options(opts, 'tile').out);
}

/** Repeats each element `repeats` times along axis (flattened when axis is omitted). */
export function repeat(x: NDArray, repeats: number, opts: { axis?: number | null } & OutOption = {}): NDArray {
  opts = options(opts, 'repeat') as typeof opts;
  const attrs: Record<string, unknown> = { repeats };
  if (opts.axis !== undefined && opts.axis !== null) attrs.axis = opts.axis;
  return invoke('repeat', [x], attrs, opts.out);
}

/** Reverses the order of elements along axis (one or several). */
export function flip(x: NDArray, axis: number | number[], opts?: OutOption): NDArray {
  return invoke('flip', [x], { axis }, options(opts, 'flip').out);
}

/** Joins arrays along dim (default 1, as MXNet). */
export function concat(xs: NDArray[], opts: { dim?: number } & OutOption = {}): NDArray {
  opts = options(opts, 'concat') as typeof opts;
  return invoke('concat', arrays(xs, 'concat'), { dim: opts.dim ?? 1 }, opts.out);
}

/** Joins arrays of one shape along a new axis (default 0). */
export function stack(xs: NDArray[], opts: { axis?: number } & OutOption = {}): NDArray {
  opts = options(opts, 'stack') as typeof opts;
  return invoke('stack', arrays(xs, 'stack'), { axis: opts.axis ?? 0 }, opts.out);
}

/** A slice bound: an index, or null/undefined for the whole axis. */
export type SliceIndex = number | null | undefined;

function sliceList(v: SliceIndex[], what: string): { vals: number[]; none: number[] } {
  if (!Array.isArray(v)) throw new NDArrayError(`slice: ${what} must be an array of numbers or nulls`, 'BAD_ARGUMENT');
  checkList(v, 'slice', what, MAX_DIMS);
  const vals: number[] = [];
  const none: number[] = [];
  for (let i = 0; i < v.length; i++) {
    const e = v[i];
    if (e === null || e === undefined) {
      vals.push(0);
      none.push(1);
    } else if (typeof e === 'number' && Number.isInteger(e)) {
      vals.push(e);
      none.push(0);
    } else throw new NDArrayError(`slice: ${what} entries must be integers or null, got ${describeValue(e)}`, 'BAD_ARGUMENT');
  }
  return { vals, none };
}

/**
 * x[begin_i:end_i:step_i] per axis (MXNet slice): lists may be shorter than ndim, `null` means the
 * whole axis, negative indices count from the end, out-of-range bounds clamp (Python semantics).
 */
export function slice(x: NDArray, begin: SliceIndex[], end: SliceIndex[], step?: SliceIndex[] | null, opts?: OutOption): NDArray {
  const out = options(opts, 'slice').out;
  const b = sliceList(begin, 'begin');
  const e = sliceList(end, 'end');
  const attrs: Record<string, unknown> = { begin: b.vals, end: e.vals, begin_none: b.none, end_none: e.none };
  if (step !== undefined && step !== null) {
    const s = sliceList(step, 'step');
    attrs.step = s.vals.map((v, i) => (s.none[i] ? 1 : v));
  }
  return invoke('slice', [x], attrs, out);
}

/** x[begin:end] along axis (end null = to the end); bounds out of range are OUT_OF_RANGE, as MXNet. */
export function sliceAxis(x: NDArray, axis: number, begin: number, end: number | null, opts?: OutOption): NDArray {
  return invoke('slice_axis', [x], { axis, begin, end: end ?? null }, options(opts, 'sliceAxis').out);
}

export interface SplitOptions {
  numOutputs: number;
  axis?: number;
  squeezeAxis?: boolean;
}

/** Splits x into numOutputs equal parts along axis (MXNet's split / SliceChannel). Always a list. */
export function split(x: NDArray, opts: SplitOptions): NDArray[] {
  opts = options(opts, 'split') as SplitOptions;
  if (!opts || typeof opts.numOutputs !== 'number')
    throw new NDArrayError('split: options { numOutputs } are required', 'BAD_ARGUMENT');
  // `out` goes to native code, which refuses it for an op with several outputs
  const out = (opts as OutOption).out;
  const r = invokeN('split', [x], { num_outputs: opts.numOutputs, axis: opts.axis ?? 1, squeeze_axis: !!opts.squeezeAxis }, out);
  return Array.isArray(r) ? r : [r];
}

declare module './ndarray' {
  interface NDArray {
    swapAxes(dim1: number, dim2: number, opts?: OutOption): NDArray;
    tile(reps: number | number[], opts?: OutOption): NDArray;
    repeat(repeats: number, opts?: { axis?: number | null } & OutOption): NDArray;
    flip(axis: number | number[], opts?: OutOption): NDArray;
    slice(begin: SliceIndex[], end: SliceIndex[], step?: SliceIndex[] | null, opts?: OutOption): NDArray;
    sliceAxis(axis: number, begin: number, end: number | null, opts?: OutOption): NDArray;
    /** MXNet's NDArray.split: always a list. */
    split(opts: SplitOptions): NDArray[];
  }
}
addMethods({ swapAxes, tile, repeat, flip, slice, sliceAxis, split });

export const layoutOps = { swapAxes, tile, repeat, flip, concat, stack, split, slice, sliceAxis };
