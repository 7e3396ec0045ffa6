// Neural-network ops: softmax, logSoftmax, softmaxCrossEntropy, Activation, LeakyReLU, Convolution,
// Pooling, BatchNorm, LayerNorm, Dropout, FullyConnected (math in native/src/ops/softmax.cc,
// activation.cc, conv.cc, pool.cc, norm.cc, nn.cc).
import { options } from './args';
import { opOptionKeys } from './binding';
import { addMethods, invoke } from './dispatch';
import { NDArrayError } from './errors';
import { NDArray, OutOption } from './ndarray';

type Tuple = number | number[];

export function softmax(x: NDArray, opts: { axis?: number } & OutOption = {}): NDArray {
  opts = options(opts, 'softmax') as typeof opts;
  return invoke('softmax', [x], { axis: opts.axis ?? -1 }, opts.out);
}
export function logSoftmax(x: NDArray, opts: { axis?: number } & OutOption = {}): NDArray {
  opts = options(opts, 'logSoftmax') as typeof opts;
  return invoke('log_softmax', [x], { axis: opts.axis ?? -1 }, opts.out);
}
/** -sum_i log softmax(x)[i, label[i]] over the batch: a 0-d array. */
export function softmaxCrossEntropy(x: NDArray, label: NDArray, opts?: OutOption): NDArray {
  return invoke('softmax_cross_entropy', [x, label], null, options(opts, 'softmaxCrossEntropy').out);
}

export type ActType = 'relu' | 'sigmoid' | 'tanh' | 'softrelu' | 'softsign';
export function Activation(x: NDArray, opts: { actType: ActType } & OutOption): NDArray {
  opts = options(opts, 'Activation') as typeof opts;
  if (!opts || typeof opts.actType !== 'string')
    throw new NDArrayError('Activation: options { actType } are required', 'BAD_ARGUMENT');
  return invoke('Activation', [x], { act_type: opts.actType }, opts.out);
}

export function LeakyReLU(x: NDArray, opts: { actType?: 'leaky' | 'elu' | 'gelu'; slope?: number } & OutOption = {}): NDArray {
  opts = options(opts, 'LeakyReLU') as typeof opts;
  return invoke('LeakyReLU', [x], { act_type: opts.actType ?? 'leaky', slope: opts.slope ?? 0.25 }, opts.out);
}

export interface ConvolutionOptions extends OutOption {
  kernel: Tuple;
  stride?: Tuple;
  pad?: Tuple;
  dilate?: Tuple;
  numFilter?: number;
  numGroup?: number;
  noBias?: boolean;
  /** @internal relu(Convolution(...)) as one op (_conv_relu: the ReLU in the output pass; Gluon's Conv2D with activation 'relu') */
  act?: 'relu' | null;
}

// The op a call with the internal `act` runs: `op`, or its fused form for 'relu' (the ReLU in its output pass).
function withAct(op: string, act: unknown, fused: string): string {
  if (act === undefined || act === null) return op;
  if (act !== 'relu') throw new NDArrayError(`${op}: act must be 'relu' or null, got ${JSON.stringify(act)}`, 'BAD_ARGUMENT');
  return fused;
}

// Convolution's option keys and the internal `act`
let convKeys: ReadonlySet<string> | undefined;

/** 1-D (NCW) or 2-D (NCHW) convolution; weight (numFilter, C / numGroup, ...kernel). */
export function Convolution(
  x: NDArray,
  weight: NDArray,
  bias?: NDArray | null | ConvolutionOptions,
  opts?: ConvolutionOptions,
): NDArray {
  if (bias !== undefined && bias !== null && !(bias instanceof NDArray)) {
    opts = bias;
    bias = undefined;
  }
  opts = options(opts, 'Convolution', (convKeys ??= new Set([...opOptionKeys('Convolution'), 'act']))) as ConvolutionOptions;
  if (!opts || opts.kernel === undefined)
    throw new NDArrayError('Convolution: options { kernel } are required', 'BAD_ARGUMENT');
  const b = bias as NDArray | null | undefined;
  const noBias = opts.noBias ?? !b;
  if (noBias && b) throw new NDArrayError('Convolution: noBias is true but a bias array was given', 'BAD_ARGUMENT');
  if (!noBias && !b) throw new NDArrayError('Convolution: noBias is false but no bias array was given', 'BAD_ARGUMENT');
  const attrs = {
    kernel: opts.kernel,
    stride: opts.stride ?? null,
    pad: opts.pad ?? null,
    dilate: opts.dilate ?? null,
    num_filter: opts.numFilter ?? null,
    num_group: opts.numGroup ?? 1,
    no_bias: noBias,
  };
  const op = withAct('Convolution', opts.act, '_conv_relu');
  return invoke(op, noBias ? [x, weight] : [x, weight, b as NDArray], attrs, opts.out);
}

export interface PoolingOptions extends OutOption {
  kernel?: Tuple;
  poolType?: 'max' | 'avg' | 'sum';
  stride?: Tuple;
  pad?: Tuple;
  globalPool?: boolean;
  poolingConvention?: 'valid' | 'full';
  countIncludePad?: boolean;
}
export function Pooling(x: NDArray, opts: PoolingOptions = {}): NDArray {
  opts = options(opts, 'Pooling') as typeof opts;
  return invoke(
    'Pooling',
    [x],
    {
      kernel: opts.kernel ?? null,
      pool_type: opts.poolType ?? 'max',
      stride: opts.stride ?? null,
      pad: opts.pad ?? null,
      global_pool: !!opts.globalPool,
      pooling_convention: opts.poolingConvention ?? 'valid',
      count_include_pad: opts.countIncludePad ?? true,
    },
    opts.out,
  );
}

export interface BatchNormOptions extends OutOption {
  eps?: number;
  momentum?: number;
  fixGamma?: boolean;
  useGlobalStats?: boolean;
  axis?: number;
}
/**
 * Batch normalisation. While autograd.isTraining() (and not useGlobalStats) it normalises with the
 * batch statistics and updates movingMean / movingVar in place; otherwise it uses them as constants.
 */
export function BatchNorm(
  x: NDArray,
  gamma: NDArray,
  beta: NDArray,
  movingMean: NDArray,
  movingVar: NDArray,
  opts: BatchNormOptions = {},
): NDArray {
  opts = options(opts, 'BatchNorm') as typeof opts;
  return invoke(
    'BatchNorm',
    [x, gamma, beta, movingMean, movingVar],
    {
      eps: opts.eps ?? 1e-5,
      momentum: opts.momentum ?? 0.9,
      fix_gamma: !!opts.fixGamma,
      use_global_stats: !!opts.useGlobalStats,
      axis: opts.axis ?? 1,
    },
    opts.out,
  );
}

export function LayerNorm(x: NDArray, gamma: NDArray, beta: NDArray, opts: { axis?: number; eps?: number } & OutOption = {}): NDArray {
  opts = options(opts, 'LayerNorm') as typeof opts;
  return invoke('LayerNorm', [x, gamma, beta], { axis: opts.axis ?? -1, eps: opts.eps ?? 1e-5 }, opts.out);
}

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
  /** @internal relu(FullyConnected(...)) as one op (_fc_relu: the ReLU applied to the product in cache; Gluon's Dense with activation 'relu') */
  act?: 'relu' | null;
}

// FullyConnected's option keys and the internal `act`
let fcKeys: ReadonlySet<string> | undefined;

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
  opts = options(opts, 'FullyConnected', (fcKeys ??= new Set([...opOptionKeys('FullyConnected'), 'act']))) as typeof opts;
  const b = bias as NDArray | null | undefined;
  const noBias = opts.noBias ?? !b;
  if (noBias && b)
    throw new NDArrayError('FullyConnected: noBias is true but a bias array was given', 'BAD_ARGUMENT');
  if (!noBias && !b) throw new NDArrayError('FullyConnected: noBias is false but no bias array was given', 'BAD_ARGUMENT');
  const attrs = { num_hidden: opts.numHidden ?? null, no_bias: noBias, flatten: opts.flatten ?? true };
  const op = withAct('FullyConnected', opts.act, '_fc_relu');
  return invoke(op, noBias ? [x, weight] : [x, weight, b as NDArray], attrs, opts.out);
}

declare module './ndarray' {
  interface NDArray {
    softmax(opts?: { axis?: number } & OutOption): NDArray;
    logSoftmax(opts?: { axis?: number } & OutOption): NDArray;
  }
}
addMethods({ softmax, logSoftmax });

export const nnOps = {
  softmax,
  logSoftmax,
  softmaxCrossEntropy,
  Activation,
  LeakyReLU,
  Convolution,
  Pooling,
  BatchNorm,
  LayerNorm,
  Dropout,
  FullyConnected,
};
