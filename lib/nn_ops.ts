// Neural-network ops: softmax, logSoftmax, softmaxCrossEntropy, Activation, LeakyReLU, Convolution,
// Pooling, BatchNorm, LayerNorm, Embedding (math in native/src/ops/softmax.cc, activation.cc,
// conv.cc, pool.cc, norm.cc, index.cc).
import { NDArrayError } from './errors';
import { invoke, NDArray, OutOption, options } from './ndarray';

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
}

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
  opts = options(opts, 'Convolution') as ConvolutionOptions;
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
  return invoke('Convolution', noBias ? [x, weight] : [x, weight, b as NDArray], attrs, opts.out);
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
    softmax(opts?: { axis?: number }): NDArray;
    logSoftmax(opts?: { axis?: number }): NDArray;
  }
}
const proto = NDArray.prototype as any;
proto.softmax = function (this: NDArray, opts?: { axis?: number }) {
  return softmax(this, opts);
};
proto.logSoftmax = function (this: NDArray, opts?: { axis?: number }) {
  return logSoftmax(this, opts);
};

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
  Embedding,
};
