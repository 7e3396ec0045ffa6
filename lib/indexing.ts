// Indexing ops, which read elements at integer indices: take, pick, oneHot, Embedding (math in
// native/src/ops/index.cc; an index out of range is OUT_OF_RANGE).
import { options } from './args';
import { addMethods, invoke } from './dispatch';
import { DType, NDArray, OutOption } from './ndarray';

/** Gathers x's entries at `indices` along axis (negative indices count from the end; others OUT_OF_RANGE). */
export function take(x: NDArray, indices: NDArray, opts: { axis?: number; mode?: 'raise' } & OutOption = {}): NDArray {
  opts = options(opts, 'take') as typeof opts;
  return invoke('take', [x, indices], { axis: opts.axis ?? 0, mode: opts.mode ?? 'raise' }, opts.out);
}

/** y[i] = x[i, index[i]] along axis (default -1). */
export function pick(x: NDArray, index: NDArray, opts: { axis?: number; keepdims?: boolean } & OutOption = {}): NDArray {
  opts = options(opts, 'pick') as typeof opts;
  return invoke('pick', [x, index], { axis: opts.axis ?? -1, keepdims: !!opts.keepdims }, opts.out);
}

/** One-hot rows of length depth (no gradient). */
export function oneHot(
  indices: NDArray,
  depth: number,
  opts: { onValue?: number; offValue?: number; dtype?: DType } & OutOption = {},
): NDArray {
  opts = options(opts, 'oneHot') as typeof opts;
  return invoke(
    'one_hot',
    [indices],
    { depth, on_value: opts.onValue ?? 1, off_value: opts.offValue ?? 0, dtype: opts.dtype ?? 'float32' },
    opts.out,
  );
}

/** weight rows at integer indices; an index outside [0, inputDim) is OUT_OF_RANGE. */
export function Embedding(
  indices: NDArray,
  weight: NDArray,
  opts: { inputDim?: number; outputDim?: number } & OutOption = {},
): NDArray {
  opts = options(opts, 'Embedding') as typeof opts;
  return invoke(
    'Embedding',
    [indices, weight],
    { input_dim: opts.inputDim ?? null, output_dim: opts.outputDim ?? null },
    opts.out,
  );
}

declare module './ndarray' {
  interface NDArray {
    take(indices: NDArray, opts?: { axis?: number; mode?: 'raise' } & OutOption): NDArray;
    pick(index: NDArray, opts?: { axis?: number; keepdims?: boolean } & OutOption): NDArray;
    oneHot(depth: number, opts?: { onValue?: number; offValue?: number; dtype?: DType } & OutOption): NDArray;
  }
}
addMethods({ take, pick, oneHot });

export const indexingOps = { take, pick, oneHot, Embedding };
