// Shape ops, one output per input array: reshape, transpose, expandDims, squeeze, flatten,
// broadcastTo, broadcastLike, astype (math in native/src/ops/shape.cc). NDArray's own reshape, at,
// astype and copy are in ndarray.ts.
import { handleOf, options } from './args';
import { addMethods, invoke } from './dispatch';
import { DType, NDArray, OutOption } from './ndarray';

export function reshape(x: NDArray, shape: number[], opts?: OutOption): NDArray {
  return invoke('reshape', [x], { shape }, options(opts, 'reshape').out);
}
export function transpose(x: NDArray, axes?: number[] | null, opts?: OutOption): NDArray {
  return invoke('transpose', [x], { axes: axes ?? null }, options(opts, 'transpose').out);
}
export function expandDims(x: NDArray, axis: number, opts?: OutOption): NDArray {
  return invoke('expand_dims', [x], { axis }, options(opts, 'expandDims').out);
}
export function squeeze(x: NDArray, axis?: number | number[] | null, opts?: OutOption): NDArray {
  return invoke('squeeze', [x], { axis: axis ?? null }, options(opts, 'squeeze').out);
}
export function flatten(x: NDArray, opts?: OutOption): NDArray {
  return invoke('flatten', [x], null, options(opts, 'flatten').out);
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
export function astype(x: NDArray, dtype: DType, opts?: OutOption): NDArray {
  return invoke('astype', [x], { dtype }, options(opts, 'astype').out);
}

declare module './ndarray' {
  interface NDArray {
    transpose(axes?: number[] | null, opts?: OutOption): NDArray;
    /** transpose() with the axes reversed */
    readonly T: NDArray;
    expandDims(axis: number, opts?: OutOption): NDArray;
    squeeze(axis?: number | number[] | null, opts?: OutOption): NDArray;
    flatten(opts?: OutOption): NDArray;
    broadcastTo(shape: number[], opts?: OutOption): NDArray;
    broadcastLike(y: NDArray, opts?: OutOption): NDArray;
  }
}
addMethods({ transpose, expandDims, squeeze, flatten, broadcastTo, broadcastLike });
Object.defineProperty(NDArray.prototype, 'T', {
  get(this: NDArray) {
    return transpose(this);
  },
});

export const shapeOps = { reshape, transpose, expandDims, squeeze, flatten, broadcastTo, broadcastLike, astype };
