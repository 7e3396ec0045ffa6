// Slicing ops: slice, sliceAxis (math in native/src/ops/slice.cc).
import { checkList, describeValue, MAX_DIMS, options } from './args';
import { addMethods, invoke } from './dispatch';
import { NDArrayError } from './errors';
import { NDArray, OutOption } from './ndarray';

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

declare module './ndarray' {
  interface NDArray {
    slice(begin: SliceIndex[], end: SliceIndex[], step?: SliceIndex[] | null, opts?: OutOption): NDArray;
    sliceAxis(axis: number, begin: number, end: number | null, opts?: OutOption): NDArray;
  }
}
addMethods({ slice, sliceAxis });

export const sliceOps = { slice, sliceAxis };
