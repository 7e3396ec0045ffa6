// gluon.metric (MXNet 1.9 metric.py): Accuracy, TopKAccuracy, CrossEntropy, MSE, MAE, RMSE, F1, Loss and
// CompositeEvalMetric, with MXNet's definitions (MSE/MAE/RMSE and macro F1 average per update call, as
// 1.9 does). Argmax runs natively; the counting reads the values once, in float64.
import { NDArrayError } from '../errors';
import { describeValue } from '../args';
import { tidy } from '../memory';
import { NDArray } from '../ndarray';
import { ops } from '../ops';

type Arrays = NDArray | NDArray[];

// MXNet check_label_shapes(labels, preds, wrap=True): lists of equal length.
function pairs(labels: Arrays, preds: Arrays, name: string): [NDArray, NDArray][] {
  const ls = labels instanceof NDArray ? [labels] : labels;
  const ps = preds instanceof NDArray ? [preds] : preds;
  if (!Array.isArray(ls) || !Array.isArray(ps))
    throw new NDArrayError(`${name}.update: expected NDArrays or lists of NDArrays, got ${describeValue(labels)} and ${describeValue(preds)}`, 'BAD_ARGUMENT');
  if (ls.length !== ps.length)
    throw new NDArrayError(`${name}.update: ${ls.length} labels for ${ps.length} predictions`, 'SHAPE_MISMATCH');
  return ls.map((l, i) => {
    for (const x of [l, ps[i]])
      if (!(x instanceof NDArray)) throw new NDArrayError(`${name}.update: expected an NDArray, got ${describeValue(x)}`, 'BAD_ARGUMENT');
    return [l, ps[i]];
  });
}

function values(x: NDArray): ArrayLike<number> {
  return x.toTypedArray();
}

// The predicted classes: pred itself when it is already shaped like the label, else its argmax.
function predictedClasses(label: NDArray, pred: NDArray, axis: number): ArrayLike<number> {
  const same = pred.ndim === label.ndim && pred.shape.every((d, k) => d === label.shape[k]);
  return same ? values(pred) : tidy(() => values(ops.argmax(pred, { axis })));
}

function sameCount(name: string, a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new NDArrayError(`${name}.update: ${a.length} labels for ${b.length} predictions`, 'SHAPE_MISMATCH');
}

/** Base of every metric: `update`, `get()` -> [name, value] (NaN before any update), `reset()`. */
export abstract class EvalMetric {
  readonly name: string;
  protected sumMetric = 0;
  protected numInst = 0;
  constructor(name: string) {
    this.name = name;
  }
  abstract update(labels: Arrays, preds: Arrays): void;
  get(): [string, number] | [string[], number[]] {
    return [this.name, this.numInst === 0 ? NaN : this.sumMetric / this.numInst];
  }
  /** [[name, value], ...] (MXNet get_name_value) */
  getNameValue(): [string, number][] {
    const [n, v] = this.get();
    return Array.isArray(n) ? n.map((k, i) => [k, (v as number[])[i]]) : [[n, v as number]];
  }
  reset(): void {
    this.sumMetric = 0;
    this.numInst = 0;
  }
}

/** The fraction of predictions equal to the label; pred's argmax along `axis` when shapes differ. */
export class Accuracy extends EvalMetric {
  readonly axis: number;
  constructor(opts: { axis?: number; name?: string } = {}) {
    super(opts.name ?? 'accuracy');
    this.axis = opts.axis ?? 1;
  }
  update(labels: Arrays, preds: Arrays): void {
    for (const [label, pred] of pairs(labels, preds, 'Accuracy')) {
      const p = predictedClasses(label, pred, this.axis);
      const l = values(label);
      sameCount('Accuracy', l, p);
      let correct = 0;
      for (let i = 0; i < l.length; i++) if (Math.trunc(l[i]) === Math.trunc(p[i])) correct++;
      this.sumMetric += correct;
      this.numInst += l.length;
    }
  }
}

/**
 * Whether the label is among the k highest-scored classes of each [N, classes] prediction. A class tied
 * with the label's score does not push the label out (MXNet's argpartition leaves ties in any order).
 */
export class TopKAccuracy extends EvalMetric {
  readonly topK: number;
  constructor(topK = 1, opts: { name?: string } = {}) {
    if (!Number.isInteger(topK) || topK <= 1)
      throw new NDArrayError(`TopKAccuracy: topK must be an integer above 1 (use Accuracy for 1), got ${describeValue(topK)}`, 'BAD_ARGUMENT');
    super(`${opts.name ?? 'top_k_accuracy'}_${topK}`);
    this.topK = topK;
  }
  update(labels: Arrays, preds: Arrays): void {
    for (const [label, pred] of pairs(labels, preds, 'TopKAccuracy')) {
      if (pred.ndim !== 2)
        throw new NDArrayError(`TopKAccuracy.update: predictions must be [samples, classes], got [${pred.shape.join(', ')}]`, 'SHAPE_MISMATCH');
      const [n, c] = pred.shape;
      const l = values(label);
      if (l.length !== n) throw new NDArrayError(`TopKAccuracy.update: ${l.length} labels for ${n} predictions`, 'SHAPE_MISMATCH');
      const p = values(pred);
      for (let i = 0; i < n; i++) {
        const k = Math.trunc(l[i]);
        if (k < 0 || k >= c) continue; // a label no class has is never predicted
        const score = p[i * c + k];
        let above = 0;
        for (let j = 0; j < c; j++) if (p[i * c + j] > score) above++;
        if (above < this.topK) this.sumMetric++;
      }
      this.numInst += n;
    }
  }
}

/** Mean of -log(p[label] + eps) over samples (pred: probabilities [N, classes]; MXNet eps 1e-12). */
export class CrossEntropy extends EvalMetric {
  readonly eps: number;
  constructor(opts: { eps?: number; name?: string } = {}) {
    super(opts.name ?? 'cross-entropy');
    this.eps = opts.eps ?? 1e-12;
  }
  update(labels: Arrays, preds: Arrays): void {
    for (const [label, pred] of pairs(labels, preds, this.constructor.name)) {
      const l = values(label);
      const n = l.length;
      if (pred.ndim < 1 || pred.shape[0] !== n)
        throw new NDArrayError(`${this.constructor.name}.update: ${n} labels for predictions of shape [${pred.shape.join(', ')}]`, 'SHAPE_MISMATCH');
      const c = pred.size / Math.max(n, 1);
      const p = values(pred);
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const k = Math.trunc(l[i]);
        if (k < 0 || k >= c) throw new NDArrayError(`${this.constructor.name}.update: label ${l[i]} is out of range for ${c} classes`, 'OUT_OF_RANGE');
        sum += -Math.log(p[i * c + k] + this.eps);
      }
      this.sumMetric += sum;
      this.numInst += n;
    }
  }
}

// label - pred with a 1-D label or pred taken as a column [N, 1] (NumPy broadcasting, as MXNet 1.9).
function differences(label: NDArray, pred: NDArray, name: string): ArrayLike<number> {
  return tidy(() => {
    const col = (x: NDArray): NDArray => (x.ndim === 1 ? x.reshape([x.shape[0], 1]) : x).astype('float64');
    try {
      return values(ops.subtract(col(label), col(pred)));
    } catch (e) {
      if (e instanceof NDArrayError && e.code === 'SHAPE_MISMATCH')
        throw new NDArrayError(`${name}.update: labels [${label.shape.join(', ')}] and predictions [${pred.shape.join(', ')}] do not broadcast`, 'SHAPE_MISMATCH');
      throw e;
    }
  });
}

// MSE, MAE and RMSE: one per-update mean of f(label - pred), averaged over updates (MXNet 1.9).
abstract class RegressionMetric extends EvalMetric {
  protected abstract batchValue(d: ArrayLike<number>): number;
  update(labels: Arrays, preds: Arrays): void {
    for (const [label, pred] of pairs(labels, preds, this.constructor.name)) {
      this.sumMetric += this.batchValue(differences(label, pred, this.constructor.name));
      this.numInst += 1;
    }
  }
}

function meanOf(d: ArrayLike<number>, f: (v: number) => number): number {
  let s = 0;
  for (let i = 0; i < d.length; i++) s += f(d[i]);
  return s / d.length;
}

/** Mean squared error. */
export class MSE extends RegressionMetric {
  constructor(opts: { name?: string } = {}) {
    super(opts.name ?? 'mse');
  }
  protected batchValue(d: ArrayLike<number>): number {
    return meanOf(d, (v) => v * v);
  }
}

/** Mean absolute error. */
export class MAE extends RegressionMetric {
  constructor(opts: { name?: string } = {}) {
    super(opts.name ?? 'mae');
  }
  protected batchValue(d: ArrayLike<number>): number {
    return meanOf(d, Math.abs);
  }
}

/** Root mean squared error (of each update, averaged over updates, as MXNet 1.9). */
export class RMSE extends RegressionMetric {
  constructor(opts: { name?: string } = {}) {
    super(opts.name ?? 'rmse');
  }
  protected batchValue(d: ArrayLike<number>): number {
    return Math.sqrt(meanOf(d, (v) => v * v));
  }
}

/**
 * Binary F1 (class 1 positive; pred [N, 2] scores, argmax taken). 'macro' (MXNet's default) averages the
 * F1 of each update call; 'micro' is the F1 of all samples seen.
 */
export class F1 extends EvalMetric {
  readonly average: 'macro' | 'micro';
  /** @internal */ private tp = 0;
  /** @internal */ private fp = 0;
  /** @internal */ private fn = 0;
  constructor(opts: { average?: 'macro' | 'micro'; name?: string } = {}) {
    super(opts.name ?? 'f1');
    const avg = opts.average ?? 'macro';
    if (avg !== 'macro' && avg !== 'micro') throw new NDArrayError(`F1: average must be 'macro' or 'micro', got ${describeValue(avg)}`, 'BAD_ARGUMENT');
    this.average = avg;
  }
  /** @internal */ private fscore(): number {
    const precision = this.tp + this.fp > 0 ? this.tp / (this.tp + this.fp) : 0;
    const recall = this.tp + this.fn > 0 ? this.tp / (this.tp + this.fn) : 0;
    return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  }
  update(labels: Arrays, preds: Arrays): void {
    let seen = 0;
    for (const [label, pred] of pairs(labels, preds, 'F1')) {
      if (pred.ndim !== 2) throw new NDArrayError(`F1.update: predictions must be [samples, classes], got [${pred.shape.join(', ')}]`, 'SHAPE_MISMATCH');
      const p = tidy(() => values(ops.argmax(pred, { axis: 1 })));
      const l = values(label);
      sameCount('F1', l, p);
      if (new Set(Array.from(l, Math.trunc)).size > 2)
        throw new NDArrayError('F1.update: F1 supports binary classification only (the labels hold more than two values)', 'BAD_ARGUMENT');
      for (let i = 0; i < l.length; i++) {
        const predTrue = p[i] === 1;
        const labelTrue = Math.trunc(l[i]) === 1;
        if (predTrue && labelTrue) this.tp++;
        else if (predTrue) this.fp++;
        else if (labelTrue) this.fn++;
      }
      seen += l.length;
    }
    if (this.average === 'macro') {
      this.sumMetric += this.fscore();
      this.numInst += 1;
      this.tp = this.fp = this.fn = 0;
    } else {
      this.numInst += seen;
      this.sumMetric = this.fscore() * this.numInst;
    }
  }
  reset(): void {
    super.reset();
    this.tp = this.fp = this.fn = 0;
  }
}

/** The mean of the loss values given as predictions (labels are ignored). */
export class Loss extends EvalMetric {
  constructor(opts: { name?: string } = {}) {
    super(opts.name ?? 'loss');
  }
  update(_labels: Arrays | null | undefined, preds: Arrays): void {
    for (const pred of preds instanceof NDArray ? [preds] : preds) {
      if (!(pred instanceof NDArray)) throw new NDArrayError(`Loss.update: expected an NDArray, got ${describeValue(pred)}`, 'BAD_ARGUMENT');
      const v = values(pred);
      for (let i = 0; i < v.length; i++) this.sumMetric += v[i];
      this.numInst += v.length;
    }
  }
}

/** Several metrics updated together; get() -> [names, values]. */
export class CompositeEvalMetric extends EvalMetric {
  readonly metrics: EvalMetric[];
  constructor(metrics: EvalMetric[] = [], opts: { name?: string } = {}) {
    super(opts.name ?? 'composite');
    this.metrics = [];
    for (const m of metrics) this.add(m);
  }
  add(metric: EvalMetric): void {
    if (!(metric instanceof EvalMetric)) throw new NDArrayError(`CompositeEvalMetric.add: expected a metric, got ${describeValue(metric)}`, 'BAD_ARGUMENT');
    this.metrics.push(metric);
  }
  getMetric(i: number): EvalMetric {
    if (!Number.isInteger(i) || i < 0 || i >= this.metrics.length)
      throw new NDArrayError(`CompositeEvalMetric.getMetric: index ${describeValue(i)} is out of range for ${this.metrics.length} metrics`, 'OUT_OF_RANGE');
    return this.metrics[i];
  }
  update(labels: Arrays, preds: Arrays): void {
    for (const m of this.metrics) m.update(labels, preds);
  }
  reset(): void {
    for (const m of this.metrics) m.reset();
  }
  get(): [string[], number[]] {
    const names: string[] = [];
    const vals: number[] = [];
    for (const m of this.metrics)
      for (const [n, v] of m.getNameValue()) {
        names.push(n);
        vals.push(v);
      }
    return [names, vals];
  }
}

/**
 * A metric from a function of (label, pred) NDArrays returning the batch's value (counted as one
 * instance) or [sum, count] (MXNet CustomMetric; MXNet passes NumPy arrays, ndgrad the NDArrays).
 */
export class CustomMetric extends EvalMetric {
  /** @internal */ private readonly feval: (label: NDArray, pred: NDArray) => number | [number, number];
  constructor(feval: (label: NDArray, pred: NDArray) => number | [number, number], opts: { name?: string } = {}) {
    if (typeof feval !== 'function') throw new NDArrayError(`CustomMetric: expected a function, got ${describeValue(feval)}`, 'BAD_ARGUMENT');
    super(opts.name ?? (feval.name ? feval.name : 'custom(<anonymous>)'));
    this.feval = feval;
  }
  update(labels: Arrays, preds: Arrays): void {
    for (const [label, pred] of pairs(labels, preds, 'CustomMetric')) {
      const r = this.feval(label, pred);
      const [sum, num] = Array.isArray(r) ? r : [r, 1];
      if (typeof sum !== 'number' || typeof num !== 'number')
        throw new NDArrayError(`CustomMetric: the function must return a number or [sum, count], got ${describeValue(r)}`, 'BAD_ARGUMENT');
      this.sumMetric += sum;
      this.numInst += num;
    }
  }
}

// each class takes its own constructor arguments (create passes them through)
const BY_NAME: Record<string, new (...args: any[]) => EvalMetric> = {
  acc: Accuracy,
  accuracy: Accuracy,
  top_k_accuracy: TopKAccuracy,
  top_k_acc: TopKAccuracy,
  ce: CrossEntropy,
  'cross-entropy': CrossEntropy,
  crossentropy: CrossEntropy,
  mse: MSE,
  mae: MAE,
  rmse: RMSE,
  f1: F1,
  loss: Loss,
  composite: CompositeEvalMetric,
};

/** What metric.create takes: a name, a metric, a function, or a list of these. */
export type MetricSpec = string | EvalMetric | ((label: NDArray, pred: NDArray) => number | [number, number]) | MetricSpec[];

/**
 * MXNet metric.create: a name ('acc', 'ce', 'mse', 'top_k_accuracy', ...; `args` go to its constructor),
 * a metric, a function (CustomMetric) or a list of these (CompositeEvalMetric).
 */
export function create(metric: MetricSpec, ...args: unknown[]): EvalMetric {
  if (metric instanceof EvalMetric) return metric;
  if (typeof metric === 'function') return new CustomMetric(metric, args[0] as { name?: string } | undefined);
  if (Array.isArray(metric)) return new CompositeEvalMetric(metric.map((m) => create(m, ...args)));
  const Make = typeof metric === 'string' ? BY_NAME[metric.toLowerCase()] : undefined;
  if (Make === undefined)
    throw new NDArrayError(`metric.create: unknown metric ${describeValue(metric)} (known: ${Object.keys(BY_NAME).join(', ')})`, 'BAD_ARGUMENT');
  return new Make(...args);
}
