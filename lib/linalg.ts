// Matrix products: dot, batchDot (math in native/src/ops/linalg.cc, batch_dot.cc).
import { options } from './args';
import { addMethods, invoke } from './dispatch';
import { NDArray, OutOption } from './ndarray';

export interface DotOptions extends OutOption {
  transposeA?: boolean;
  transposeB?: boolean;
}

/** MXNet's dot: matrix product of the last axis of a with the first of b (1-D: inner product). */
export function dot(a: NDArray, b: NDArray, opts: DotOptions = {}): NDArray {
  opts = options(opts, 'dot') as DotOptions;
  return invoke('dot', [a, b], { transpose_a: !!opts.transposeA, transpose_b: !!opts.transposeB }, opts.out);
}

/** Batched matrix product over the last two axes (leading batch axes must match). */
export function batchDot(a: NDArray, b: NDArray, opts: DotOptions = {}): NDArray {
  opts = options(opts, 'batchDot') as DotOptions;
  return invoke('batch_dot', [a, b], { transpose_a: !!opts.transposeA, transpose_b: !!opts.transposeB }, opts.out);
}

declare module './ndarray' {
  interface NDArray {
    dot(b: NDArray, opts?: DotOptions): NDArray;
    batchDot(b: NDArray, opts?: DotOptions): NDArray;
  }
}
addMethods({ dot, batchDot });

export const linalgOps = { dot, batchDot };
