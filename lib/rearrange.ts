// Rearranging ops, which copy elements into a new order or shape: transpose, swapAxes, broadcastTo,
// broadcastLike, tile, repeat, flip, astype (math in native/src/ops/rearrange.cc).
import { handleOf, options } from './args';
import { addMethods, invoke } from './dispatch';
import { DType, NDArray, OutOption } from './ndarray';

export function transpose(x: NDArray, axes?: number[] | null, opts?: OutOption): NDArray {
  return invoke('transpose', [x], { axes: axes ?? null }, options(opts, 'transpose').out);
}
/** Swaps two axes (MXNet SwapAxis). */
export function swapAxes(x: NDArray, dim1: number, dim2: number, opts?: OutOption): NDArray {
  return invoke('swapaxes', [x], { dim1, dim2 }, options(opts, 'swapAxes').out);
}

export function broadcastTo(x: NDArray, shape: number[], opts?: OutOption): NDArray {
  return invoke('broadcast_to', [x], { shape }, options(opts, 'broadcastTo').out);
}
export function broadcastLike(x: NDArray, y: NDArray, opts?: OutOption): NDArray {
  const o = options(opts, 'broadcastLike', 'broadcast_to');
  handleOf(y, 'broadcastLike');
  // y's shape is literal: a zero-size axis is not MXNet's "keep this axis" code 0
  return invoke('broadcast_to', [x], { shape: y.shape, exact: true }, o.out);
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

export function astype(x: NDArray, dtype: DType, opts?: OutOption): NDArray {
  return invoke('astype', [x], { dtype }, options(opts, 'astype').out);
}

declare module './ndarray' {
  interface NDArray {
    transpose(axes?: number[] | null, opts?: OutOption): NDArray;
    /** transpose() with the axes reversed */
    readonly T: NDArray;
    swapAxes(dim1: number, dim2: number, opts?: OutOption): NDArray;
    broadcastTo(shape: number[], opts?: OutOption): NDArray;
    broadcastLike(y: NDArray, opts?: OutOption): NDArray;
    tile(reps: number | number[], opts?: OutOption): NDArray;
    repeat(repeats: number, opts?: { axis?: number | null } & OutOption): NDArray;
    flip(axis: number | number[], opts?: OutOption): NDArray;
  }
}
addMethods({ transpose, swapAxes, broadcastTo, broadcastLike, tile, repeat, flip });
Object.defineProperty(NDArray.prototype, 'T', {
  get(this: NDArray) {
    return transpose(this);
  },
});

export const rearrangeOps = { transpose, swapAxes, broadcastTo, broadcastLike, tile, repeat, flip, astype };
