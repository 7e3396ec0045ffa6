// Learning-rate schedules (MXNet 1.9's mxnet.lr_scheduler): a scheduler maps the number of updates
// done so far (the most any weight has had) to a learning rate, with an optional warm-up.
import { NDArrayError } from '../errors';
import { optionKeys, options } from '../args';

export interface WarmupOptions {
  /** the learning rate after warm-up (default 0.01; an optimizer's learningRate overrides it) */
  baseLr?: number;
  /** updates of warm-up before the schedule starts (default 0) */
  warmupSteps?: number;
  /** the learning rate warm-up starts from (default 0) */
  warmupBeginLr?: number;
  /** 'linear' (rises to baseLr in equal steps) or 'constant' (stays at warmupBeginLr) */
  warmupMode?: 'linear' | 'constant';
}

const bad = (name: string, msg: string) => new NDArrayError(`${name}: ${msg}`, 'BAD_ARGUMENT');
const WARMUP_KEYS = ['baseLr', 'warmupSteps', 'warmupBeginLr', 'warmupMode'];

/** The base class: `scheduler.at(numUpdate)` is the learning rate (MXNet's `__call__`). */
export abstract class LRScheduler {
  baseLr: number;
  readonly warmupSteps: number;
  readonly warmupBeginLr: number;
  readonly warmupFinalLr: number;
  readonly warmupMode: 'linear' | 'constant';

  protected constructor(name: string, o: WarmupOptions) {
    this.baseLr = o.baseLr ?? 0.01;
    this.warmupSteps = o.warmupSteps ?? 0;
    this.warmupFinalLr = this.baseLr;
    this.warmupBeginLr = o.warmupBeginLr ?? 0;
    this.warmupMode = o.warmupMode ?? 'linear';
    if (!Number.isInteger(this.warmupSteps) || this.warmupSteps < 0)
      throw bad(name, `warmupSteps must be an integer >= 0, got ${this.warmupSteps}`);
    if (this.warmupBeginLr > this.warmupFinalLr) throw bad(name, 'baseLr has to be higher than warmupBeginLr');
    if (this.warmupMode !== 'linear' && this.warmupMode !== 'constant')
      throw bad(name, `warmupMode must be 'linear' or 'constant', got '${String(this.warmupMode)}'`);
  }

  protected warmupLr(numUpdate: number): number {
    if (this.warmupMode === 'constant') return this.warmupBeginLr;
    return this.warmupBeginLr + ((this.warmupFinalLr - this.warmupBeginLr) * numUpdate) / this.warmupSteps;
  }

  /** The learning rate after `numUpdate` updates. */
  abstract at(numUpdate: number): number;
}

/** baseLr * factor ** floor(numUpdate / step), never below stopFactorLr. */
export class FactorScheduler extends LRScheduler {
  readonly step: number;
  readonly factor: number;
  readonly stopFactorLr: number;
  /** @internal */
  private count = 0;
  constructor(step: number, opts: { factor?: number; stopFactorLr?: number } & WarmupOptions = {}) {
    const o = options(opts, 'FactorScheduler', optionKeys('factor', 'stopFactorLr', ...WARMUP_KEYS));
    super('FactorScheduler', o);
    if (!(step >= 1)) throw bad('FactorScheduler', `step must be at least 1, got ${step}`);
    this.step = step;
    this.factor = o.factor ?? 1;
    if (this.factor > 1) throw bad('FactorScheduler', `factor must be no more than 1, got ${this.factor}`);
    this.stopFactorLr = o.stopFactorLr ?? 1e-8;
  }
  at(numUpdate: number): number {
    if (numUpdate < this.warmupSteps) return this.warmupLr(numUpdate);
    while (numUpdate > this.count + this.step) {
      this.count += this.step;
      this.baseLr = Math.max(this.baseLr * this.factor, this.stopFactorLr);
    }
    return this.baseLr;
  }
}

/** baseLr * factor ** k after the k-th of the increasing update counts `step`. */
export class MultiFactorScheduler extends LRScheduler {
  readonly step: number[];
  readonly factor: number;
  /** @internal */
  private next = 0;
  constructor(step: number[], opts: { factor?: number } & WarmupOptions = {}) {
    const o = options(opts, 'MultiFactorScheduler', optionKeys('factor', ...WARMUP_KEYS));
    super('MultiFactorScheduler', o);
    if (!Array.isArray(step) || step.length < 1) throw bad('MultiFactorScheduler', 'step must be a non-empty list');
    step.forEach((s, i) => {
      if (!(s >= 1) || (i > 0 && s <= step[i - 1]))
        throw bad('MultiFactorScheduler', 'step must be an increasing list of integers >= 1');
    });
    this.step = [...step];
    this.factor = o.factor ?? 1;
    if (this.factor > 1) throw bad('MultiFactorScheduler', `factor must be no more than 1, got ${this.factor}`);
  }
  at(numUpdate: number): number {
    if (numUpdate < this.warmupSteps) return this.warmupLr(numUpdate);
    while (this.next < this.step.length && numUpdate > this.step[this.next]) {
      this.next++;
      this.baseLr *= this.factor;
    }
    return this.baseLr;
  }
}

/** Poly and cosine decay: baseLr to finalLr over the maxUpdate - warmupSteps updates after warm-up. */
abstract class DecayScheduler extends LRScheduler {
  readonly maxUpdate: number;
  readonly finalLr: number;
  /** @internal */
  private readonly baseLrOrig: number;
  protected constructor(name: string, maxUpdate: number, o: { finalLr?: number } & WarmupOptions) {
    super(name, o);
    if (!Number.isInteger(maxUpdate) || maxUpdate < 1) throw bad(name, `maxUpdate must be an integer >= 1, got ${maxUpdate}`);
    this.maxUpdate = maxUpdate;
    this.finalLr = o.finalLr ?? 0;
    this.baseLrOrig = this.baseLr;
  }
  /** the fraction of the way from baseLr to finalLr at progress t in [0, 1] */
  protected abstract decay(t: number): number;
  at(numUpdate: number): number {
    if (numUpdate < this.warmupSteps) return this.warmupLr(numUpdate);
    if (numUpdate <= this.maxUpdate) {
      const t = (numUpdate - this.warmupSteps) / (this.maxUpdate - this.warmupSteps);
      this.baseLr = this.finalLr + (this.baseLrOrig - this.finalLr) * this.decay(t);
    }
    return this.baseLr;
  }
}

/** finalLr + (baseLr - finalLr) * (1 - t) ** pwr. */
export class PolyScheduler extends DecayScheduler {
  readonly pwr: number;
  constructor(maxUpdate: number, opts: { pwr?: number; finalLr?: number } & WarmupOptions = {}) {
    const o = options(opts, 'PolyScheduler', optionKeys('pwr', 'finalLr', ...WARMUP_KEYS));
    super('PolyScheduler', maxUpdate, o);
    this.pwr = o.pwr ?? 2;
  }
  protected decay(t: number): number {
    return Math.pow(1 - t, this.pwr);
  }
}

/** finalLr + (baseLr - finalLr) * (1 + cos(pi * t)) / 2. */
export class CosineScheduler extends DecayScheduler {
  constructor(maxUpdate: number, opts: { finalLr?: number } & WarmupOptions = {}) {
    super('CosineScheduler', maxUpdate, options(opts, 'CosineScheduler', optionKeys('finalLr', ...WARMUP_KEYS)));
  }
  protected decay(t: number): number {
    return (1 + Math.cos(Math.PI * t)) / 2;
  }
}
