// Joining and splitting: concat, stack, split (math in native/src/ops/join.cc).
import { options } from './args';
import { addMethods, invoke, invokeN } from './dispatch';
import { NDArrayError } from './errors';
import { NDArray, OutOption } from './ndarray';

function arrays(xs: NDArray[], op: string): NDArray[] {
  if (!Array.isArray(xs)) throw new NDArrayError(`${op}: expects an array of NDArrays`, 'BAD_ARGUMENT');
  if (xs.length === 0) throw new NDArrayError(`${op}: needs at least one array`, 'BAD_ARGUMENT');
  return xs;
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
    /** MXNet's NDArray.split: always a list. */
    split(opts: SplitOptions): NDArray[];
  }
}
addMethods({ split });

export const joinOps = { concat, stack, split };
