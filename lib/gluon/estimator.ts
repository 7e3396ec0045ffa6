// gluon.Estimator (MXNet 1.9 gluon.contrib.estimator): the training loop of a net, a loss, metrics and
// a Trainer, with per-epoch results, a progress bar on a terminal (one plain line per epoch otherwise),
// callbacks that can stop training, and a yield to the event loop between batches. Each step runs in
// nd.tidy, so fit leaves behind only what the net and the trainer own; its loss and metrics are read
// once the step has computed (nd.ready), so the event loop stays free meanwhile.
import { NDArrayError } from '../errors';
import { describeValue, options } from '../args';
import { tidy } from '../memory';
import { NDArray } from '../ndarray';
import { record } from '../autograd';
import { ready } from '../engine';
import { Block } from './block';
import { EvalMetric } from './metric';
import { Trainer } from './trainer';
import { formatPairs, formatValue, Progress, ProgressOutput } from './progress';

export type { ProgressOutput } from './progress';

/** A batch as DataLoader yields it: [data, label] (further entries are ignored). */
export type EstimatorBatch = NDArray[];
/** Batches to train or evaluate on: a DataLoader, or any (async) iterable of [data, label]. */
export type EstimatorData = Iterable<EstimatorBatch> | AsyncIterable<EstimatorBatch>;

export interface EstimatorOptions {
  net: Block;
  /** a gluon.loss block: forward(pred, label) -> the per-sample losses */
  loss: { forward(pred: NDArray, label: NDArray): NDArray };
  /** metrics updated with (label, pred) on every training batch (the mean loss is always reported) */
  trainMetrics?: EvalMetric | EvalMetric[];
  /** metrics of the validation data (default: none besides the loss) */
  valMetrics?: EvalMetric | EvalMetric[];
  /** default: SGD with learning rate 0.001 over net.collectParams(), as MXNet */
  trainer?: Trainer;
}

/** The numbers of one finished batch (its arrays are already freed). */
export interface BatchEnd {
  epoch: number;
  /** the batch's index within the epoch, from 0 */
  batch: number;
  batchSize: number;
  /** the batch's mean loss */
  loss: number;
  /** samples trained on so far in this epoch */
  samples: number;
}

/** One epoch: its training loss and metrics, and the validation ones when valData was given. */
export interface EpochEnd {
  epoch: number;
  samples: number;
  seconds: number;
  /** 'loss' and each train metric's name -> value */
  train: Record<string, number>;
  /** 'loss' and each val metric's name -> value (absent without valData) */
  val?: Record<string, number>;
}

type Verdict = boolean | void | Promise<boolean | void>;

/** Hooks of fit; returning false (or a promise of false) from onBatchEnd or onEpochEnd stops training. */
export interface EstimatorCallbacks {
  onTrainBegin?(): void | Promise<void>;
  onEpochBegin?(epoch: number): void | Promise<void>;
  onBatchEnd?(info: BatchEnd): Verdict;
  onEpochEnd?(info: EpochEnd): Verdict;
  onTrainEnd?(history: EpochEnd[]): void | Promise<void>;
}

export interface FitOptions {
  valData?: EstimatorData | null;
  /** default 1 */
  epochs?: number;
  callbacks?: EstimatorCallbacks | EstimatorCallbacks[];
  /** where progress goes (default process.stdout; null: nowhere) */
  output?: ProgressOutput | null;
}

const ESTIMATOR_KEYS = new Set(['net', 'loss', 'trainMetrics', 'valMetrics', 'trainer']);
const FIT_KEYS = new Set(['valData', 'epochs', 'callbacks', 'output']);
const CALLBACKS = ['onTrainBegin', 'onEpochBegin', 'onBatchEnd', 'onEpochEnd', 'onTrainEnd'] as const;

function metricList(v: EvalMetric | EvalMetric[] | undefined, what: string): EvalMetric[] {
  const list = v === undefined ? [] : Array.isArray(v) ? v : [v];
  for (const m of list)
    if (!(m instanceof EvalMetric)) throw new NDArrayError(`Estimator: ${what} must hold gluon.metric metrics, got ${describeValue(m)}`, 'BAD_ARGUMENT');
  return list;
}

function iterable(data: unknown, what: string): EstimatorData {
  const d = data as Record<symbol, unknown> | null;
  if (d === null || typeof d !== 'object' || (typeof d[Symbol.iterator] !== 'function' && typeof d[Symbol.asyncIterator] !== 'function'))
    throw new NDArrayError(`Estimator.${what}: expected a DataLoader or an iterable of [data, label] batches, got ${describeValue(data)}`, 'BAD_ARGUMENT');
  return data as EstimatorData;
}

// Sync iterables are walked directly (a DataLoader frees each batch when the loop moves on) with an
// explicit yield between batches; async ones yield by themselves.
async function* batches(data: EstimatorData): AsyncGenerator<EstimatorBatch> {
  if (typeof (data as Iterable<EstimatorBatch>)[Symbol.iterator] === 'function') {
    for (const b of data as Iterable<EstimatorBatch>) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      yield b;
    }
  } else {
    for await (const b of data as AsyncIterable<EstimatorBatch>) yield b;
  }
}

function dataAndLabel(batch: unknown, what: string): [NDArray, NDArray] {
  if (!Array.isArray(batch) || batch.length < 2 || !(batch[0] instanceof NDArray) || !(batch[1] instanceof NDArray))
    throw new NDArrayError(`Estimator.${what}: each batch must be [data, label] NDArrays, got ${describeValue(batch)}`, 'BAD_ARGUMENT');
  if (batch[0].ndim === 0 || batch[0].shape[0] === 0)
    throw new NDArrayError(`Estimator.${what}: a batch's data must have samples along axis 0, got shape [${batch[0].shape.join(', ')}]`, 'SHAPE_MISMATCH');
  return [batch[0], batch[1]];
}

// The loss's sum and count, read once per batch in float64.
function lossSum(l: NDArray): [number, number] {
  const v = l.toTypedArray();
  let s = 0;
  for (let i = 0; i < v.length; i++) s += Number(v[i]);
  return [s, v.length];
}

// Waits without blocking the event loop until a batch's results are computed, then reads them (in a
// tidy) and frees them; the batch's own arrays (a net may return its input) are left to their owner.
async function readWhenReady<T>(arrays: NDArray[], batch: NDArray[], read: () => T): Promise<T> {
  try {
    await ready(...arrays);
    return tidy(read);
  } finally {
    for (const a of arrays) if (!batch.includes(a)) a.dispose();
  }
}

function results(lossTotal: number, lossCount: number, metrics: EvalMetric[]): Record<string, number> {
  const out: Record<string, number> = { loss: lossCount === 0 ? NaN : lossTotal / lossCount };
  for (const m of metrics) for (const [k, v] of m.getNameValue()) out[k] = v;
  return out;
}

function defaultOutput(): ProgressOutput | null {
  return typeof process !== 'undefined' && process.stdout ? process.stdout : null;
}

/** MXNet's gluon.contrib.estimator.Estimator: `fit` trains, `evaluate` measures. */
export class Estimator {
  readonly net: Block;
  readonly loss: { forward(pred: NDArray, label: NDArray): NDArray };
  readonly trainMetrics: EvalMetric[];
  readonly valMetrics: EvalMetric[];
  readonly trainer: Trainer;

  constructor(opts: EstimatorOptions) {
    const o = options(opts, 'Estimator', ESTIMATOR_KEYS) as Partial<EstimatorOptions>;
    if (!(o.net instanceof Block)) throw new NDArrayError(`Estimator: net must be a gluon Block, got ${describeValue(o.net)}`, 'BAD_ARGUMENT');
    if (o.loss === null || typeof o.loss !== 'object' || typeof o.loss.forward !== 'function')
      throw new NDArrayError(`Estimator: loss must be a gluon.loss block, got ${describeValue(o.loss)}`, 'BAD_ARGUMENT');
    if (o.trainer !== undefined && !(o.trainer instanceof Trainer))
      throw new NDArrayError(`Estimator: trainer must be a gluon.Trainer, got ${describeValue(o.trainer)}`, 'BAD_ARGUMENT');
    this.net = o.net;
    this.loss = o.loss;
    this.trainMetrics = metricList(o.trainMetrics, 'trainMetrics');
    this.valMetrics = metricList(o.valMetrics, 'valMetrics');
    this.trainer = o.trainer ?? new Trainer(o.net.collectParams(), 'sgd', { learningRate: 0.001 });
  }

  /** @internal */ private predict(x: NDArray): NDArray {
    const pred = this.net.forward(x);
    if (!(pred instanceof NDArray)) throw new NDArrayError(`Estimator: the net must return one NDArray, got ${describeValue(pred)}`, 'BAD_ARGUMENT');
    return pred;
  }

  /**
   * Trains for `epochs` epochs over `trainData` (evaluating `valData` after each), and resolves to the
   * epochs' results. Progress goes to `output` (a bar on a terminal, one line per epoch otherwise).
   */
  async fit(trainData: EstimatorData, opts: FitOptions = {}): Promise<EpochEnd[]> {
    const o = options(opts, 'Estimator.fit', FIT_KEYS) as FitOptions;
    iterable(trainData, 'fit');
    const valData = o.valData === undefined || o.valData === null ? null : iterable(o.valData, 'fit (valData)');
    const epochs = o.epochs ?? 1;
    if (!Number.isInteger(epochs) || epochs < 0)
      throw new NDArrayError(`Estimator.fit: epochs must be a non-negative integer, got ${describeValue(epochs)}`, 'BAD_ARGUMENT');
    const callbacks = o.callbacks === undefined ? [] : Array.isArray(o.callbacks) ? o.callbacks : [o.callbacks];
    for (const c of callbacks) {
      if (c === null || typeof c !== 'object')
        throw new NDArrayError(`Estimator.fit: callbacks must be objects of hooks, got ${describeValue(c)}`, 'BAD_ARGUMENT');
      for (const k of Object.keys(c))
        if (!(CALLBACKS as readonly string[]).includes(k) || typeof (c as Record<string, unknown>)[k] !== 'function')
          throw new NDArrayError(`Estimator.fit: unknown or non-function callback '${k}' (hooks: ${CALLBACKS.join(', ')})`, 'BAD_ARGUMENT');
    }
    const progress = new Progress(o.output === undefined ? defaultOutput() : o.output);
    // every hook of a kind runs; training stops if any returned false
    const call = async (hook: (typeof CALLBACKS)[number], arg?: unknown): Promise<boolean> => {
      let go = true;
      for (const c of callbacks) {
        const f = (c as Record<string, ((a: unknown) => Verdict) | undefined>)[hook];
        if (f !== undefined && (await f.call(c, arg)) === false) go = false;
      }
      return go;
    };

    const history: EpochEnd[] = [];
    await call('onTrainBegin');
    for (let epoch = 1; epoch <= epochs; epoch++) {
      await call('onEpochBegin', epoch);
      for (const m of this.trainMetrics) m.reset();
      const label = `epoch ${epoch}/${epochs}`;
      // a DataLoader knows its number of batches; a generator does not
      const length = (trainData as { length?: unknown }).length;
      const total = typeof length === 'number' ? length : null;
      const start = performance.now();
      let lossTotal = 0, lossCount = 0, samples = 0, index = 0, go = true;
      for await (const batch of batches(trainData)) {
        const [x, y] = dataAndLabel(batch, 'fit');
        const n = x.shape[0];
        const [l, pred] = tidy(() => {
          let p: NDArray | null = null;
          const loss = record(() => {
            p = this.predict(x);
            return this.loss.forward(p, y);
          });
          loss.backward();
          this.trainer.step(n);
          return [loss, p!];
        });
        const [s, c] = await readWhenReady([l, pred], [x, y], () => {
          for (const m of this.trainMetrics) m.update(y, pred);
          return lossSum(l);
        });
        lossTotal += s;
        lossCount += c;
        samples += n;
        const seconds = (performance.now() - start) / 1000;
        progress.batch(label, index + 1, total, seconds > 0 ? samples / seconds : 0, Object.entries(results(lossTotal, lossCount, this.trainMetrics)));
        go = await call('onBatchEnd', { epoch, batch: index, batchSize: n, loss: c === 0 ? NaN : s / c, samples });
        index++;
        if (!go) break;
      }
      const seconds = (performance.now() - start) / 1000;
      const end: EpochEnd = { epoch, samples, seconds, train: results(lossTotal, lossCount, this.trainMetrics) };
      if (valData !== null) end.val = await this.evaluate(valData);
      history.push(end);
      const rate = seconds > 0 ? `  ${formatValue(samples / seconds)} samples/s` : '';
      const val = end.val ? `  ${formatPairs('val ', Object.entries(end.val))}` : '';
      progress.line(`${label}  ${seconds.toFixed(1)} s${rate}  ${formatPairs('', Object.entries(end.train))}${val}`);
      if (!(await call('onEpochEnd', end)) || !go) break;
    }
    await call('onTrainEnd', history);
    return history;
  }

  /** The mean loss and the val metrics over `valData` (prediction mode, no gradients). */
  async evaluate(valData: EstimatorData): Promise<Record<string, number>> {
    iterable(valData, 'evaluate');
    for (const m of this.valMetrics) m.reset();
    let lossTotal = 0, lossCount = 0;
    for await (const batch of batches(valData)) {
      const [x, y] = dataAndLabel(batch, 'evaluate');
      const [pred, l] = tidy(() => {
        const p = this.predict(x);
        return [p, this.loss.forward(p, y)];
      });
      const [s, c] = await readWhenReady([pred, l], [x, y], () => {
        for (const m of this.valMetrics) m.update(y, pred);
        return lossSum(l);
      });
      lossTotal += s;
      lossCount += c;
    }
    return results(lossTotal, lossCount, this.valMetrics);
  }
}
