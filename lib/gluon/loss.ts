// gluon.loss: each loss is a block whose forward(pred, label, sampleWeight?) returns one value per
// sample (the mean over the non-batch axes), times weight and sampleWeight, as MXNet. Labels are
// reshaped to the prediction's shape where MXNet does (never broadcast). Stable forms throughout.
import { NDArrayError } from '../errors';
import { NDArray } from '../ndarray';
import * as ops from '../ops';
import { logSoftmax } from '../nn';
import { pick } from '../indexing';
import { HybridBlock } from './block';
import { checkKeys } from './parameter';

const o = ops.ops;

export interface LossOptions {
  weight?: number | null;
  batchAxis?: number;
}

export class Loss extends HybridBlock {
  readonly weight: number | null;
  readonly batchAxis: number;
  /** defaults: the subclass's own options and their default values (set on the instance) */
  constructor(opts: LossOptions, defaults: Record<string, unknown> = {}) {
    checkKeys(opts, new Set(['weight', 'batchAxis', ...Object.keys(defaults)]), new.target.name);
    super();
    this.weight = opts.weight ?? null;
    this.batchAxis = opts.batchAxis ?? 0;
    for (const [k, v] of Object.entries(defaults)) (this as Record<string, unknown>)[k] = (opts as Record<string, unknown>)[k] ?? v;
  }
  /** The elementwise loss (before weighting and the per-sample mean). */
  protected compute(_pred: NDArray, _label: NDArray): NDArray {
    throw new NDArrayError(`${this.constructor.name}: a Loss must define compute(pred, label)`, 'BAD_ARGUMENT');
  }
  /** The factor weight is applied with (L2Loss halves it). */
  protected scale(): number | null {
    return this.weight;
  }
  forward(pred: NDArray, label: NDArray, sampleWeight?: NDArray | null): NDArray {
    if (!(pred instanceof NDArray) || !(label instanceof NDArray))
      throw new NDArrayError(`${this.constructor.name}: pred and label must be NDArrays`, 'BAD_ARGUMENT');
    let loss = this.compute(pred, label);
    if (sampleWeight !== undefined && sampleWeight !== null) loss = o.multiply(loss, sampleWeight);
    const w = this.scale();
    if (w !== null && w !== 1) loss = o.multiply(loss, w);
    const nd = loss.shape.length;
    const axes = [...Array(nd).keys()].filter((a) => a !== (this.batchAxis + nd) % nd);
    return axes.length ? o.mean(loss, { axis: axes }) : loss;
  }
}

/** MXNet's reshape_like: the label takes the prediction's shape (same size, never broadcast). */
function like(label: NDArray, pred: NDArray, who: string): NDArray {
  if (label.size !== pred.size)
    throw new NDArrayError(`${who}: label of shape [${label.shape}] cannot take the prediction's shape [${pred.shape}]`, 'SHAPE_MISMATCH');
  return label.shape.length === pred.shape.length && label.shape.every((d, i) => d === pred.shape[i]) ? label : label.reshape(pred.shape);
}

/** ½ · (label − pred)² (weight halved, as MXNet). */
export class L2Loss extends Loss {
  constructor(opts: LossOptions = {}) {
    super(opts);
  }
  protected scale(): number {
    return (this.weight ?? 1) / 2;
  }
  protected compute(pred: NDArray, label: NDArray): NDArray {
    return o.square(o.subtract(like(label, pred, 'L2Loss'), pred));
  }
}
/** |label − pred|. */
export class L1Loss extends Loss {
  constructor(opts: LossOptions = {}) {
    super(opts);
  }
  protected compute(pred: NDArray, label: NDArray): NDArray {
    return o.abs(o.subtract(like(label, pred, 'L1Loss'), pred));
  }
}

/** −log softmax(pred)[label] (sparse labels) or −Σ label · log softmax(pred) along axis. */
export class SoftmaxCrossEntropyLoss extends Loss {
  declare readonly axis: number;
  declare readonly sparseLabel: boolean;
  declare readonly fromLogits: boolean;
  constructor(opts: LossOptions & { axis?: number; sparseLabel?: boolean; fromLogits?: boolean } = {}) {
    super(opts, { axis: -1, sparseLabel: true, fromLogits: false });
  }
  protected compute(pred: NDArray, label: NDArray): NDArray {
    const logp = this.fromLogits ? pred : logSoftmax(pred, { axis: this.axis });
    if (this.sparseLabel) return o.negative(pick(logp, label, { axis: this.axis, keepdims: true }));
    return o.negative(o.sum(o.multiply(logp, like(label, logp, 'SoftmaxCrossEntropyLoss')), { axis: this.axis, keepdims: true }));
  }
}

/** Binary cross-entropy on logits (max(x,0) − x·z + softplus(−|x|)) or on probabilities. */
export class SigmoidBinaryCrossEntropyLoss extends Loss {
  declare readonly fromSigmoid: boolean;
  constructor(opts: LossOptions & { fromSigmoid?: boolean } = {}) {
    super(opts, { fromSigmoid: false });
  }
  forward(pred: NDArray, label: NDArray, sampleWeight?: NDArray | null, posWeight?: NDArray | null): NDArray {
    this.posWeight = posWeight ?? null;
    try {
      return super.forward(pred, label, sampleWeight);
    } finally {
      this.posWeight = null;
    }
  }
  /** @internal */
  private posWeight: NDArray | null = null;
  protected compute(pred: NDArray, label: NDArray): NDArray {
    const z = like(label, pred, 'SigmoidBinaryCrossEntropyLoss');
    const pw = this.posWeight;
    if (!this.fromSigmoid) {
      const tail = o.softplus(o.negative(o.abs(pred)));
      if (!pw) return o.add(o.subtract(o.relu(pred), o.multiply(pred, z)), tail);
      // (1 − z)·x + (1 + (pw − 1)·z)·(softplus(−|x|) + max(−x, 0))
      const logWeight = o.add(o.multiply(o.subtract(pw, 1), z), 1);
      return o.add(o.multiply(o.subtract(1, z), pred), o.multiply(logWeight, o.add(tail, o.relu(o.negative(pred)))));
    }
    const eps = 1e-12;
    const pos = o.multiply(o.log(o.add(pred, eps)), z);
    const neg = o.multiply(o.log(o.add(o.subtract(1, pred), eps)), o.subtract(1, z));
    return o.negative(o.add(pw ? o.multiply(pos, pw) : pos, neg));
  }
}

/** |e| − ρ/2 where |e| > ρ, else e²/(2ρ) (PyTorch's SmoothL1Loss(beta = ρ)). */
export class HuberLoss extends Loss {
  declare readonly rho: number;
  constructor(opts: LossOptions & { rho?: number } = {}) {
    super(opts, { rho: 1 });
  }
  protected compute(pred: NDArray, label: NDArray): NDArray {
    const e = o.abs(o.subtract(like(label, pred, 'HuberLoss'), pred));
    return ops.where(o.greater(e, this.rho), o.subtract(e, 0.5 * this.rho), o.multiply(o.square(e), 0.5 / this.rho));
  }
}

/** max(0, margin − pred · label), labels ±1. */
export class HingeLoss extends Loss {
  declare readonly margin: number;
  constructor(opts: LossOptions & { margin?: number } = {}) {
    super(opts, { margin: 1 });
  }
  protected compute(pred: NDArray, label: NDArray): NDArray {
    return o.relu(o.subtract(this.margin, o.multiply(pred, like(label, pred, 'HingeLoss'))));
  }
}

/** label · (log(label + 1e-12) − log p), p = pred (fromLogits: pred are log-probabilities) or softmax(pred). */
export class KLDivLoss extends Loss {
  declare readonly fromLogits: boolean;
  declare readonly axis: number;
  constructor(opts: LossOptions & { fromLogits?: boolean; axis?: number } = {}) {
    super(opts, { fromLogits: true, axis: -1 });
  }
  protected compute(pred: NDArray, label: NDArray): NDArray {
    const logp = this.fromLogits ? pred : logSoftmax(pred, { axis: this.axis });
    return o.multiply(label, o.subtract(o.log(o.add(label, 1e-12)), logp));
  }
}

export { SoftmaxCrossEntropyLoss as SoftmaxCELoss, SigmoidBinaryCrossEntropyLoss as SigmoidBCELoss };
