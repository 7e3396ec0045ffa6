// gluon.nn basic layers: Dense, Dropout, BatchNorm, LayerNorm, Embedding, Flatten, activations,
// Lambda. Each is a HybridBlock over the native ops (FullyConnected, BatchNorm, ...).
import { NDArrayError } from '../errors';
import type { nd as ND } from '../index';
import { DType, NDArray } from '../ndarray';
import { Initializer } from './initializer';
import { HybridBlock, BlockOptions, nextName } from './block';
import { checkKeys, Parameter } from './parameter';

type F = typeof ND;
type Init = Initializer | string | null;
type ActName = 'relu' | 'sigmoid' | 'tanh' | 'softrelu' | 'softsign';

/** @internal a layer's options, misspelled keys rejected */
export function layerOpts<T extends object>(o: T | undefined, keys: string[], who: string): T {
  const opts = (o ?? {}) as T;
  checkKeys(opts, new Set([...keys, 'prefix', 'params']), who);
  return opts;
}
/** @internal MXNet 1.x's layer.weight etc.: getters (on the prototype, so not discovered twice) for the block's own parameters, null when absent */
export function exposeParams(cls: { prototype: HybridBlock }, props: Record<string, string>): void {
  for (const [prop, name] of Object.entries(props))
    Object.defineProperty(cls.prototype, prop, {
      get(this: HybridBlock) {
        return this._param(name);
      },
      configurable: true,
    });
}
/** @internal the optional activation a Dense or Conv layer applies */
export function activate(F: F, x: NDArray, act: ActName | null | undefined): NDArray {
  return act ? F.Activation(x, { actType: act }) : x;
}

export interface DenseOptions extends BlockOptions {
  activation?: ActName | null;
  useBias?: boolean;
  flatten?: boolean;
  inUnits?: number;
  weightInitializer?: Init;
  biasInitializer?: Init;
  dtype?: DType;
}
/** y = activation(x · weightᵀ + bias); weight (units, inUnits), inUnits inferred at the first forward. */
export class Dense extends HybridBlock {
  readonly units: number;
  readonly act: ActName | null;
  readonly flatten: boolean;
  constructor(units: number, o?: DenseOptions) {
    const opts = layerOpts(o, ['activation', 'useBias', 'flatten', 'inUnits', 'weightInitializer', 'biasInitializer', 'dtype'], 'Dense');
    super(opts);
    if (!Number.isInteger(units) || units <= 0) throw new NDArrayError(`Dense: units must be a positive integer, got ${units}`, 'BAD_ARGUMENT');
    this.units = units;
    this.act = opts.activation ?? null;
    this.flatten = opts.flatten ?? true;
    const dtype = opts.dtype ?? 'float32';
    this.params.get('weight', { shape: [units, opts.inUnits ?? 0], init: opts.weightInitializer, dtype });
    if (opts.useBias ?? true) this.params.get('bias', { shape: [units], init: opts.biasInitializer ?? 'zeros', dtype });
  }
  /** MXNet 1.x's layer.weight / layer.bias (null without a bias) */
  declare readonly weight: Parameter;
  declare readonly bias: Parameter | null;
  inferShape(x: NDArray): void {
    const inUnits = this.flatten ? x.shape.slice(1).reduce((a, b) => a * b, 1) : x.shape[x.shape.length - 1];
    this.params.get('weight').shape = [this.units, inUnits];
  }
  hybridForward(F: F, x: NDArray, p: { weight: NDArray; bias?: NDArray }): NDArray {
    // a ReLU goes into the product's pass (one op, _fc_relu); other activations follow it
    const relu = this.act === 'relu';
    const o = { flatten: this.flatten, act: relu ? ('relu' as const) : null };
    const y = p.bias ? F.FullyConnected(x, p.weight, p.bias, o) : F.FullyConnected(x, p.weight, { ...o, noBias: true });
    return this.act && !relu ? activate(F, y, this.act) : y;
  }
}

/** Inverted dropout, active only while autograd.isTraining(). */
export class Dropout extends HybridBlock {
  constructor(readonly rate: number, readonly o: { axes?: number | number[] } & BlockOptions = {}) {
    super(layerOpts(o, ['axes'], 'Dropout'));
  }
  hybridForward(F: F, x: NDArray): NDArray {
    return F.Dropout(x, { p: this.rate, axes: this.o.axes });
  }
}

export interface BatchNormOptions extends BlockOptions {
  axis?: number;
  momentum?: number;
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
  useGlobalStats?: boolean;
  inChannels?: number;
  betaInitializer?: Init;
  gammaInitializer?: Init;
  runningMeanInitializer?: Init;
  runningVarianceInitializer?: Init;
}
/**
 * Batch normalisation over `axis`: batch statistics while autograd.isTraining() (the running ones
 * updated with momentum and the biased batch variance, as MXNet), the running ones otherwise.
 */
export class BatchNorm extends HybridBlock {
  readonly axis: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly scale: boolean;
  readonly useGlobalStats: boolean;
  constructor(o?: BatchNormOptions) {
    const opts = layerOpts(o, ['axis', 'momentum', 'epsilon', 'center', 'scale', 'useGlobalStats', 'inChannels',
      'betaInitializer', 'gammaInitializer', 'runningMeanInitializer', 'runningVarianceInitializer'], 'BatchNorm');
    super(opts);
    this.axis = opts.axis ?? 1;
    this.momentum = opts.momentum ?? 0.9;
    this.epsilon = opts.epsilon ?? 1e-5;
    this.scale = opts.scale ?? true;
    this.useGlobalStats = opts.useGlobalStats ?? false;
    const c = opts.inChannels ?? 0;
    this.params.get('gamma', { shape: [c], init: opts.gammaInitializer ?? 'ones', gradReq: this.scale ? 'write' : 'null' });
    this.params.get('beta', { shape: [c], init: opts.betaInitializer ?? 'zeros', gradReq: opts.center ?? true ? 'write' : 'null' });
    this.params.get('running_mean', { shape: [c], init: opts.runningMeanInitializer ?? 'zeros', gradReq: 'null' });
    this.params.get('running_var', { shape: [c], init: opts.runningVarianceInitializer ?? 'ones', gradReq: 'null' });
  }
  declare readonly gamma: Parameter;
  declare readonly beta: Parameter;
  declare readonly runningMean: Parameter;
  declare readonly runningVar: Parameter;
  inferShape(x: NDArray): void {
    const c = x.shape[this.axis < 0 ? x.shape.length + this.axis : this.axis];
    for (const n of ['gamma', 'beta', 'running_mean', 'running_var']) this.params.get(n).shape = [c];
  }
  /** The statistics and their scale stay float32 for bfloat16 data (MXNet does so for float16). */
  cast(dtype: DType): this {
    return super.cast(dtype === 'bfloat16' ? 'float32' : dtype);
  }
  hybridForward(F: F, x: NDArray, p: Record<string, NDArray>): NDArray {
    return F.BatchNorm(x, p.gamma, p.beta, p.running_mean, p.running_var, {
      eps: this.epsilon, momentum: this.momentum, fixGamma: !this.scale, useGlobalStats: this.useGlobalStats, axis: this.axis,
    });
  }
}

/** Layer normalisation over `axis` with gamma and beta of that axis's length. */
export class LayerNorm extends HybridBlock {
  readonly axis: number;
  readonly epsilon: number;
  constructor(o?: { axis?: number; epsilon?: number; center?: boolean; scale?: boolean; inChannels?: number; betaInitializer?: Init; gammaInitializer?: Init } & BlockOptions) {
    const opts = layerOpts(o, ['axis', 'epsilon', 'center', 'scale', 'inChannels', 'betaInitializer', 'gammaInitializer'], 'LayerNorm');
    super(opts);
    this.axis = opts.axis ?? -1;
    this.epsilon = opts.epsilon ?? 1e-5;
    const c = opts.inChannels ?? 0;
    this.params.get('gamma', { shape: [c], init: opts.gammaInitializer ?? 'ones', gradReq: opts.scale ?? true ? 'write' : 'null' });
    this.params.get('beta', { shape: [c], init: opts.betaInitializer ?? 'zeros', gradReq: opts.center ?? true ? 'write' : 'null' });
  }
  declare readonly gamma: Parameter;
  declare readonly beta: Parameter;
  inferShape(x: NDArray): void {
    const c = x.shape[this.axis < 0 ? x.shape.length + this.axis : this.axis];
    this.params.get('gamma').shape = [c];
    this.params.get('beta').shape = [c];
  }
  hybridForward(F: F, x: NDArray, p: Record<string, NDArray>): NDArray {
    return F.LayerNorm(x, p.gamma, p.beta, { axis: this.axis, eps: this.epsilon });
  }
}

/** Rows of weight (inputDim, outputDim) at integer indices. */
export class Embedding extends HybridBlock {
  constructor(readonly inputDim: number, readonly outputDim: number, o?: { dtype?: DType; weightInitializer?: Init } & BlockOptions) {
    const opts = layerOpts(o, ['dtype', 'weightInitializer'], 'Embedding');
    super(opts);
    this.params.get('weight', { shape: [inputDim, outputDim], init: opts.weightInitializer, dtype: opts.dtype ?? 'float32' });
  }
  declare readonly weight: Parameter;
  hybridForward(F: F, x: NDArray, p: { weight: NDArray }): NDArray {
    return F.Embedding(x, p.weight, { inputDim: this.inputDim, outputDim: this.outputDim });
  }
}

/** (N, ...) -> (N, rest). */
export class Flatten extends HybridBlock {
  hybridForward(_F: F, x: NDArray): NDArray {
    return x.reshape([x.shape[0], -1]);
  }
}

const ACTS: ActName[] = ['relu', 'sigmoid', 'tanh', 'softrelu', 'softsign'];
export class Activation extends HybridBlock {
  constructor(readonly activation: ActName, o?: BlockOptions) {
    // MXNet names an Activation after its function (relu0)
    super({ prefix: nextName(String(activation)), ...layerOpts(o, [], 'Activation') });
    if (!ACTS.includes(activation)) throw new NDArrayError(`Activation: unknown activation '${activation}' (${ACTS.join(', ')})`, 'BAD_ARGUMENT');
  }
  hybridForward(F: F, x: NDArray): NDArray {
    return F.Activation(x, { actType: this.activation });
  }
}
export class LeakyReLU extends HybridBlock {
  constructor(readonly alpha: number, o?: BlockOptions) {
    super(layerOpts(o, [], 'LeakyReLU'));
  }
  hybridForward(F: F, x: NDArray): NDArray {
    return F.LeakyReLU(x, { actType: 'leaky', slope: this.alpha });
  }
}
export class ELU extends HybridBlock {
  constructor(readonly alpha = 1, o?: BlockOptions) {
    super(layerOpts(o, [], 'ELU'));
  }
  hybridForward(F: F, x: NDArray): NDArray {
    return F.LeakyReLU(x, { actType: 'elu', slope: this.alpha });
  }
}
export class GELU extends HybridBlock {
  hybridForward(F: F, x: NDArray): NDArray {
    return F.LeakyReLU(x, { actType: 'gelu' });
  }
}
/** x · sigmoid(beta · x). */
export class Swish extends HybridBlock {
  constructor(readonly beta = 1, o?: BlockOptions) {
    super(layerOpts(o, [], 'Swish'));
  }
  hybridForward(F: F, x: NDArray): NDArray {
    return F.multiply(x, F.sigmoid(this.beta === 1 ? x : F.multiply(x, this.beta)));
  }
}

/** Wraps a function (or the name of an nd function) as a block. */
export class Lambda extends HybridBlock {
  /** @internal */
  private readonly fn: (...xs: NDArray[]) => NDArray;
  constructor(fn: string | ((...xs: NDArray[]) => NDArray), o?: BlockOptions) {
    super(layerOpts(o, [], 'Lambda'));
    if (typeof fn === 'string') {
      const name = fn;
      // resolved when called: the nd namespace is complete by then
      this.fn = (...xs: NDArray[]) => {
        const f = (require('../index').nd as Record<string, unknown>)[name];
        if (typeof f !== 'function') throw new NDArrayError(`Lambda: nd has no function '${name}'`, 'BAD_ARGUMENT');
        return f(...xs);
      };
    } else if (typeof fn === 'function') this.fn = fn;
    else throw new NDArrayError('Lambda: expected a function or the name of an nd function', 'BAD_ARGUMENT');
  }
  forward(...xs: NDArray[]): NDArray {
    return this.fn(...xs);
  }
}

const WEIGHT_BIAS = { weight: 'weight', bias: 'bias' };
const GAMMA_BETA = { gamma: 'gamma', beta: 'beta' };
exposeParams(Dense, WEIGHT_BIAS);
exposeParams(BatchNorm, { ...GAMMA_BETA, runningMean: 'running_mean', runningVar: 'running_var' });
exposeParams(LayerNorm, GAMMA_BETA);
exposeParams(Embedding, WEIGHT_BIAS);

export { Parameter };
