// Optimizers (MXNet 1.9's mxnet.optimizer; AdamW as MXNet 2's): each keeps the hyper-parameters,
// the per-weight update counts and the learning-rate schedule, and updates all the weights of a step
// with ONE fused native op (update_ops.ts) over every weight, gradient and state.
import { NDArrayError } from '../errors';
import { optionKeys, options } from '../args';
import { keep } from '../memory';
import { NDArray } from '../ndarray';
import { zeros } from '../creation';
import { invoke } from '../dispatch';
import { LRScheduler } from './lr_scheduler';
import * as u from './update_ops';

/** Options every optimizer takes (MXNet's, camelCase). */
export interface OptimizerOptions {
  /** default 0.01 (0.001 for Adam, AdamW and RMSProp); taken from lrScheduler when only it is given */
  learningRate?: number;
  wd?: number;
  /** gradients are clipped to [-clipGradient, clipGradient] (after rescaling); null/0: no clipping */
  clipGradient?: number | null;
  /** gradients are multiplied by this first (the Trainer sets it to 1 / batchSize) */
  rescaleGrad?: number;
  lrScheduler?: LRScheduler | null;
  /**
   * bfloat16 weights are updated through float32 master copies (MXNet's multi_precision): the
   * update runs on the master copy with the gradient widened to float32, then the weight gets the
   * master copy rounded to bfloat16. float32 and float64 weights update in their own precision.
   */
  multiPrecision?: boolean;
  beginNumUpdate?: number;
}

/** What an optimizer reads of a parameter: its learning-rate and weight-decay multipliers. */
export interface ParamMults {
  lrMult: number;
  wdMult: number;
}

const BASE_KEYS = ['learningRate', 'wd', 'clipGradient', 'rescaleGrad', 'lrScheduler', 'multiPrecision', 'beginNumUpdate'];
// the most weights one native call takes (the binding's bound on a list-valued option)
const MAX_WEIGHTS_PER_CALL = 1 << 15;

export abstract class Optimizer {
  rescaleGrad: number;
  wd: number;
  clipGradient: number | null;
  lrScheduler: LRScheduler | null;
  readonly multiPrecision: boolean;
  /** the most updates any weight has had (the schedule's clock) */
  numUpdate: number;
  readonly beginNumUpdate: number;
  /** updates per weight index */
  indexUpdateCount = new Map<number, number>();
  /** per-index multipliers (the Trainer's parameters); an index without one has 1 and 1 */
  paramDict = new Map<number, ParamMults>();
  /** @internal */
  private lr: number;
  /** @internal the validated options, for the subclasses' own */
  protected readonly opts: Record<string, any>;

  protected constructor(
    readonly name: string,
    opts: object | null | undefined,
    extraKeys: string[],
    defaultLr = 0.01,
  ) {
    const o = options(opts, name, optionKeys(...BASE_KEYS, ...extraKeys)) as OptimizerOptions;
    this.opts = o as Record<string, any>;
    this.rescaleGrad = o.rescaleGrad ?? 1;
    this.wd = o.wd ?? 0;
    this.clipGradient = o.clipGradient ?? null;
    this.lrScheduler = o.lrScheduler ?? null;
    this.multiPrecision = o.multiPrecision ?? false;
    this.beginNumUpdate = o.beginNumUpdate ?? 0;
    this.numUpdate = this.beginNumUpdate;
    if (this.lrScheduler !== null && !(this.lrScheduler instanceof LRScheduler))
      throw new NDArrayError(`${name}: lrScheduler must be an lrScheduler.* instance`, 'BAD_ARGUMENT');
    // MXNet: an explicit learningRate overrides the schedule's base rate
    if (this.lrScheduler && o.learningRate !== undefined) this.lrScheduler.baseLr = o.learningRate;
    this.lr = o.learningRate ?? (this.lrScheduler ? this.lrScheduler.baseLr : defaultLr);
    for (const [k, v] of Object.entries(o))
      if (typeof v === 'number' && !Number.isFinite(v) && k !== 'clipGradient')
        throw new NDArrayError(`${name}: ${k} must be a finite number, got ${v}`, 'BAD_ARGUMENT');
  }

  /** The current learning rate (the schedule's at numUpdate when there is one). */
  get learningRate(): number {
    return this.lrScheduler ? this.lrScheduler.at(this.numUpdate) : this.lr;
  }
  setLearningRate(lr: number): void {
    if (this.lrScheduler)
      throw new NDArrayError(`${this.name}: the learning rate is set by its lrScheduler; change the scheduler instead`, 'BAD_ARGUMENT');
    if (typeof lr !== 'number' || !Number.isFinite(lr))
      throw new NDArrayError(`${this.name}: learning rate must be a finite number, got ${String(lr)}`, 'BAD_ARGUMENT');
    this.lr = lr;
  }

  /** How many state arrays a weight needs (each shaped and typed like it). */
  abstract get numStates(): number;
  /**
   * Zero states for one weight, kept out of any tidy scope (the Trainer owns them). With
   * multiPrecision a bfloat16 weight's are float32, after its float32 master copy.
   */
  createState(_index: number, weight: NDArray): NDArray[] {
    const master = this.masterCopy(weight);
    const s: NDArray[] = master ? [keep(weight.astype('float32'))] : [];
    for (let i = 0; i < this.numStates; i++) s.push(keep(zeros(weight.shape, { dtype: master ? 'float32' : weight.dtype })));
    return s;
  }
  /** @internal whether a weight is updated through a float32 master copy (its first state) */
  masterCopy(weight: NDArray): boolean {
    return this.multiPrecision && weight.dtype === 'bfloat16';
  }

  protected updateCount(indices: number[]): void {
    for (const i of indices) {
      const c = (this.indexUpdateCount.get(i) ?? this.beginNumUpdate) + 1;
      this.indexUpdateCount.set(i, c);
      this.numUpdate = Math.max(this.numUpdate, c);
    }
  }
  protected lrsOf(indices: number[]): number[] {
    const lr = this.learningRate;
    return indices.map((i) => lr * (this.paramDict.get(i)?.lrMult ?? 1));
  }
  protected wdsOf(indices: number[]): number[] {
    return indices.map((i) => this.wd * (this.paramDict.get(i)?.wdMult ?? 1));
  }
  /** MXNet passes clip_gradient only when it is truthy */
  protected get clip(): number {
    return this.clipGradient ? this.clipGradient : -1;
  }

  /**
   * Updates weights[i] from grads[i] and states[i] in place, one fused native call (more only past
   * 32768 weights). `indices` name the weights for the update counts and multipliers.
   */
  update(indices: number[], weights: NDArray[], grads: NDArray[], states: NDArray[][]): void {
    const n = indices.length;
    if (weights.length !== n || grads.length !== n || states.length !== n)
      throw new NDArrayError(
        `${this.name}.update: ${n} indices, ${weights.length} weights, ${grads.length} grads and ${states.length} states`,
        'BAD_ARGUMENT',
      );
    if (n === 0) return;
    const wide: NDArray[] = []; // float32 copies of bfloat16 gradients (multiPrecision)
    try {
      for (let b = 0; b < n; b += MAX_WEIGHTS_PER_CALL) {
        const e = Math.min(n, b + MAX_WEIGHTS_PER_CALL);
        const idx = indices.slice(b, e);
        const arrays: NDArray[] = [];
        for (let i = b; i < e; i++) {
          if (!this.masterCopy(weights[i])) arrays.push(weights[i], grads[i], ...states[i]);
          else wide.push(grads[i].astype('float32')), arrays.push(states[i][0], wide[wide.length - 1], ...states[i].slice(1));
        }
        this.fused(idx, arrays);
      }
      // each bfloat16 weight gets its updated master copy, rounded once
      weights.forEach((w, i) => this.masterCopy(w) && invoke('astype', [states[i][0]], { dtype: 'bfloat16' }, w));
    } finally {
      for (const g of wide) g.dispose();
    }
  }

  /** Runs the update op once over `arrays` (interleaved groups), counting the update first. */
  protected abstract fused(indices: number[], arrays: NDArray[]): void;

  /** The hyper-parameters and counters saveStates writes. */
  get stateInfo(): { numUpdate: number; indexUpdateCount: [number, number][] } {
    return { numUpdate: this.numUpdate, indexUpdateCount: [...this.indexUpdateCount] };
  }
  setStateInfo(info: { numUpdate: number; indexUpdateCount: [number, number][] }): void {
    this.numUpdate = info.numUpdate;
    this.indexUpdateCount = new Map(info.indexUpdateCount);
  }
}

/** SGD and NAG: a momentum state when momentum is not 0, plain SGD's update when it is 0. */
abstract class MomentumOptimizer extends Optimizer {
  readonly momentum: number;
  /** @internal the update op with momentum */
  private readonly momOp: typeof u.multiSgdMomUpdate;
  protected constructor(name: string, opts: object | null | undefined, keys: string[], momOp: typeof u.multiSgdMomUpdate) {
    super(name, opts, ['momentum', ...keys]);
    this.momOp = momOp;
    this.momentum = this.opts.momentum ?? 0;
  }
  get numStates(): number {
    return this.momentum !== 0 ? 1 : 0;
  }
  protected fused(indices: number[], arrays: NDArray[]): void {
    this.updateCount(indices);
    const o = { lrs: this.lrsOf(indices), wds: this.wdsOf(indices), rescaleGrad: this.rescaleGrad, clipGradient: this.clip };
    if (this.momentum > 0) this.momOp(arrays, { ...o, momentum: this.momentum });
    else u.multiSgdUpdate(arrays, o);
  }
}

/** SGD, with momentum when momentum > 0: mom = momentum * mom - lr * (g + wd * w); w += mom. */
export class SGD extends MomentumOptimizer {
  constructor(opts: OptimizerOptions & { momentum?: number; lazyUpdate?: boolean } = {}) {
    super('SGD', opts, ['lazyUpdate'], u.multiSgdMomUpdate);
  }
}

/** Nesterov accelerated gradient (MXNet's NAG: SGD when momentum is 0). */
export class NAG extends MomentumOptimizer {
  constructor(opts: OptimizerOptions & { momentum?: number } = {}) {
    super('NAG', opts, [], u.multiNagMomUpdate);
  }
}

type AdamOpts = OptimizerOptions & { beta1?: number; beta2?: number; epsilon?: number };

/** Adam and AdamW: mean and variance states, betas, epsilon. */
abstract class AdamBase extends Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  protected constructor(name: string, opts: object | null | undefined, keys: string[], defaultEpsilon: number) {
    super(name, opts, ['beta1', 'beta2', 'epsilon', ...keys], 0.001);
    this.beta1 = this.opts.beta1 ?? 0.9;
    this.beta2 = this.opts.beta2 ?? 0.999;
    this.epsilon = this.opts.epsilon ?? defaultEpsilon;
  }
  get numStates(): number {
    return 2;
  }
  /** Bias correction of step t folded into the learning rate, as MXNet does (epsilon is not rescaled). */
  protected corrected(lrs: number[], indices: number[]): number[] {
    return lrs.map((lr, i) => {
      const t = this.indexUpdateCount.get(indices[i])!;
      return (lr * Math.sqrt(1 - this.beta2 ** t)) / (1 - this.beta1 ** t);
    });
  }
}

/** Adam (MXNet's adam_update): wd added to the gradient, bias correction folded into lr. */
export class Adam extends AdamBase {
  constructor(opts: AdamOpts & { lazyUpdate?: boolean } = {}) {
    super('Adam', opts, ['lazyUpdate'], 1e-8);
  }
  protected fused(indices: number[], arrays: NDArray[]): void {
    this.updateCount(indices);
    u.multiAdamUpdate(arrays, {
      lrs: this.corrected(this.lrsOf(indices), indices), wds: this.wdsOf(indices), rescaleGrad: this.rescaleGrad,
      clipGradient: this.clip, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon,
    });
  }
}

/**
 * AdamW (MXNet 2's, decoupled weight decay): w -= lr_t * (mean / (sqrt(var) + epsilon) + wd * w),
 * lr_t the bias-corrected learning rate (correctBias, default true).
 */
export class AdamW extends AdamBase {
  readonly correctBias: boolean;
  constructor(opts: AdamOpts & { correctBias?: boolean } = {}) {
    super('AdamW', opts, ['correctBias'], 1e-6);
    this.correctBias = this.opts.correctBias ?? true;
  }
  protected fused(indices: number[], arrays: NDArray[]): void {
    this.updateCount(indices);
    const lrs = this.lrsOf(indices);
    const etas = this.correctBias ? this.corrected(lrs, indices) : lrs;
    u.multiAdamWUpdate(arrays, {
      lrs: lrs.map(() => 1), etas, wds: this.wdsOf(indices), rescaleGrad: this.rescaleGrad, clipGradient: this.clip,
      beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon,
    });
  }
}

/** RMSProp: Tieleman & Hinton's, or Graves's when centered (MXNet's rmspropalex_update). */
export class RMSProp extends Optimizer {
  readonly gamma1: number;
  readonly gamma2: number;
  readonly epsilon: number;
  readonly centered: boolean;
  readonly clipWeights: number | null;
  constructor(
    opts: OptimizerOptions & { gamma1?: number; gamma2?: number; epsilon?: number; centered?: boolean; clipWeights?: number | null } = {},
  ) {
    super('RMSProp', opts, ['gamma1', 'gamma2', 'epsilon', 'centered', 'clipWeights'], 0.001);
    this.gamma1 = this.opts.gamma1 ?? 0.9;
    this.gamma2 = this.opts.gamma2 ?? 0.9;
    this.epsilon = this.opts.epsilon ?? 1e-8;
    this.centered = this.opts.centered ?? false;
    this.clipWeights = this.opts.clipWeights ?? null;
  }
  get numStates(): number {
    return this.centered ? 3 : 1;
  }
  protected fused(indices: number[], arrays: NDArray[]): void {
    this.updateCount(indices);
    const o = {
      lrs: this.lrsOf(indices), wds: this.wdsOf(indices), rescaleGrad: this.rescaleGrad, clipGradient: this.clip,
      gamma1: this.gamma1, epsilon: this.epsilon, clipWeights: this.clipWeights ? this.clipWeights : -1,
    };
    if (this.centered) u.multiRmspropAlexUpdate(arrays, { ...o, gamma2: this.gamma2 });
    else u.multiRmspropUpdate(arrays, o);
  }
}

/** AdaGrad (MXNet 1.9's dense update): history += G^2; w -= lr * (G / sqrt(history + eps) + wd * w). */
export class AdaGrad extends Optimizer {
  readonly eps: number;
  constructor(opts: OptimizerOptions & { eps?: number } = {}) {
    super('AdaGrad', opts, ['eps']);
    this.eps = this.opts.eps ?? 1e-7;
  }
  get numStates(): number {
    return 1;
  }
  protected fused(indices: number[], arrays: NDArray[]): void {
    this.updateCount(indices);
    u.multiAdagradUpdate(arrays, {
      lrs: this.lrsOf(indices), wds: this.wdsOf(indices), rescaleGrad: this.rescaleGrad,
      // MXNet's AdaGrad clips whenever clip_gradient is not None (0 included)
      clipGradient: this.clipGradient ?? -1, epsilon: this.eps,
    });
  }
}

const REGISTRY: Record<string, new (o: any) => Optimizer> = {
  sgd: SGD, nag: NAG, adam: Adam, adamw: AdamW, rmsprop: RMSProp, adagrad: AdaGrad,
};

/** An optimizer by name (case-insensitive, as MXNet's `optimizer.create`). */
export function create(name: string, opts: object = {}): Optimizer {
  const C = typeof name === 'string' ? REGISTRY[name.toLowerCase()] : undefined;
  if (!C)
    throw new NDArrayError(`optimizer.create: unknown optimizer '${String(name)}' (one of: ${Object.keys(REGISTRY).join(', ')})`, 'BAD_ARGUMENT');
  return new C(opts);
}
