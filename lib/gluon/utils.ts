// gluon.utils: clipGlobalNorm (MXNet's gluon.utils.clip_global_norm).
import * as autograd from '../autograd';
import { NDArrayError } from '../errors';
import { checkList } from '../args';
import { tidy } from '../memory';
import { NDArray } from '../ndarray';
import { ops } from '../ops';

/**
 * Rescales `arrays` in place so that their joint 2-norm is at most `maxNorm`, and returns the norm
 * they had. A non-finite norm warns (the clipped values are then undefined), as MXNet does.
 */
export function clipGlobalNorm(arrays: NDArray[], maxNorm: number, checkIsfinite = true): number {
  checkList(arrays, 'clipGlobalNorm', 'arrays');
  if (arrays.length === 0) throw new NDArrayError('clipGlobalNorm: needs at least one array', 'BAD_ARGUMENT');
  for (const a of arrays)
    if (!(a instanceof NDArray)) throw new NDArrayError('clipGlobalNorm: arrays must be NDArrays', 'BAD_ARGUMENT');
  if (typeof maxNorm !== 'number' || !(maxNorm > 0))
    throw new NDArrayError(`clipGlobalNorm: maxNorm must be a positive number, got ${String(maxNorm)}`, 'BAD_ARGUMENT');
  // the squares are summed per array in its dtype, the arrays' sums in double
  let sumSq = 0;
  autograd.pause(() => tidy(() => {
    for (const a of arrays) sumSq += ops.sum(ops.square(a)).item();
  }));
  const total = Math.sqrt(sumSq);
  if (checkIsfinite && !Number.isFinite(total)) console.warn('clipGlobalNorm: nan or inf is detected; clipping results will be undefined');
  const scale = maxNorm / (total + 1e-8);
  if (scale < 1) autograd.pause(() => { for (const a of arrays) ops.multiply(a, scale, { out: a }); });
  return total;
}
