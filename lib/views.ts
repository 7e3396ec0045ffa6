// View ops, whose result shares the input's storage: reshape, expandDims, squeeze, flatten (math in
// native/src/ops/views.cc; NDArray's own reshape and at are in ndarray.ts).
import { options } from './args';
import { addMethods, invoke } from './dispatch';
import { NDArray, OutOption } from './ndarray';

export function reshape(x: NDArray, shape: number[], opts?: OutOption): NDArray {
  return invoke('reshape', [x], { shape }, options(opts, 'reshape').out);
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

declare module './ndarray' {
  interface NDArray {
    expandDims(axis: number, opts?: OutOption): NDArray;
    squeeze(axis?: number | number[] | null, opts?: OutOption): NDArray;
    flatten(opts?: OutOption): NDArray;
  }
}
addMethods({ expandDims, squeeze, flatten });

export const viewOps = { reshape, expandDims, squeeze, flatten };
