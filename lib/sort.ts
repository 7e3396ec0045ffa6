// Sorting ops (MXNet's): topk, sort, argsort (math in native/src/ops/sort.cc). NaN sorts as larger
// than every number (NumPy's order), equal keys keep their input order, indices come as float32 by
// default (MXNet's `dtype`); the sorted values are differentiable, indices and masks are not.
import { options } from './args';
import { addMethods, invoke, invokeN } from './dispatch';
import { NDArrayError } from './errors';
import { DType, NDArray, OutOption } from './ndarray';

export interface SortOptions extends OutOption {
  /** default -1 */
  axis?: number;
  /** default true */
  isAscend?: boolean;
}
export interface ArgsortOptions extends SortOptions {
  /** the indices' dtype, default 'float32' (MXNet's) */
  dtype?: DType;
}
export interface TopkOptions extends OutOption {
  /** default -1 */
  axis?: number;
  /** how many entries, default 1; below 1: all of them (MXNet); above the axis size: OUT_OF_RANGE */
  k?: number;
  /** default 'indices'; 'mask': 1 at the chosen positions (x's shape and dtype); 'both': [values, indices] */
  retTyp?: 'indices' | 'value' | 'both' | 'mask';
  /** default false: the largest first */
  isAscend?: boolean;
  /** the indices' dtype, default 'float32' (MXNet's) */
  dtype?: DType;
}

/** The entries of x sorted along axis (values, differentiable). */
export function sort(x: NDArray, opts: SortOptions = {}): NDArray {
  const o = options(opts, 'sort');
  return invoke('sort', [x], { axis: o.axis ?? -1, is_ascend: o.isAscend ?? true }, o.out);
}

/** The positions that sort x along axis (not differentiable). */
export function argsort(x: NDArray, opts: ArgsortOptions = {}): NDArray {
  const o = options(opts, 'argsort');
  return invoke('argsort', [x], { axis: o.axis ?? -1, is_ascend: o.isAscend ?? true, dtype: o.dtype ?? 'float32' }, o.out);
}

/** The k largest (or smallest) entries along axis: their indices, values, both, or a mask. */
export function topk(x: NDArray, opts: TopkOptions & { retTyp: 'both' }): [NDArray, NDArray];
export function topk(x: NDArray, opts?: TopkOptions & { retTyp?: 'indices' | 'value' | 'mask' }): NDArray;
export function topk(x: NDArray, opts: TopkOptions = {}): NDArray | [NDArray, NDArray] {
  const o = options(opts, 'topk');
  if (o.retTyp === 'both' && o.out)
    throw new NDArrayError("topk: 'out' takes one array; retTyp 'both' gives two", 'BAD_ARGUMENT');
  const attrs = {
    axis: o.axis ?? -1,
    k: o.k ?? 1,
    ret_typ: o.retTyp ?? 'indices',
    is_ascend: o.isAscend ?? false,
    dtype: o.dtype ?? 'float32',
  };
  return invokeN('topk', [x], attrs, o.out) as NDArray | [NDArray, NDArray];
}

declare module './ndarray' {
  interface NDArray {
    sort(opts?: SortOptions): NDArray;
    argsort(opts?: ArgsortOptions): NDArray;
    topk(opts: TopkOptions & { retTyp: 'both' }): [NDArray, NDArray];
    topk(opts?: TopkOptions & { retTyp?: 'indices' | 'value' | 'mask' }): NDArray;
  }
}
addMethods({ sort, argsort, topk });

export const sortOps = { sort, argsort, topk };
