// Neural-network ops of the autograd issue: Dropout, FullyConnected (math in native/src/ops/nn.cc).
import { NDArrayError } from './errors';
import { invoke, NDArray, OutOption, options } from './ndarray';

export interface DropoutOptions extends OutOption {
  /** drop probability, in [0, 1); default 0.5 */
  p?: number;
  /** axes along which one mask value is shared (MXNet's variational dropout) */
  axes?: number | number[];
}

/** Inverted dropout (kept values scaled by 1/(1-p)); active only when autograd.isTraining(). */
export function Dropout(x: NDArray, opts: DropoutOptions = {}): NDArray {
  opts = options(opts, 'Dropout') as typeof opts;
  return invoke('Dropout', [x], { p: opts.p ?? 0.5, axes: opts.axes ?? null }, opts.out);
}

export interface FullyConnectedOptions extends OutOption {
  /** number of outputs; must equal weight.shape[0] (default: taken from weight) */
  numHidden?: number;
  /** no bias term (implied when bias is omitted) */
  noBias?: boolean;
  /** collapse every axis after the first into features (default true); false applies to the last axis */
  flatten?: boolean;
}

/** y = flatten(x) · weightᵀ + bias, weight of shape (numHidden, inputFeatures). */
export function FullyConnected(
  x: NDArray,
  weight: NDArray,
  bias?: NDArray | null | FullyConnectedOptions,
  opts: FullyConnectedOptions = {},
): NDArray {
  if (bias !== undefined && bias !== null && !(bias instanceof NDArray)) {
    opts = bias;
    bias = undefined;
  }
  opts = options(opts, 'FullyConnected') as typeof opts;
  const b = bias as NDArray | null | undefined;
  const noBias = opts.noBias ?? !b;
  if (noBias && b)
    throw new NDArrayError('FullyConnected: noBias is true but a bias array was given', 'BAD_ARGUMENT');
  if (!noBias && !b) throw new NDArrayError('FullyConnected: noBias is false but no bias array was given', 'BAD_ARGUMENT');
  const attrs = { num_hidden: opts.numHidden ?? null, no_bias: noBias, flatten: opts.flatten ?? true };
  return invoke('FullyConnected', noBias ? [x, weight] : [x, weight, b as NDArray], attrs, opts.out);
}
