// gluon.data.DataLoader (MXNet 1.9 gluon/data/dataloader.py): batches of a dataset in order or seeded
// shuffled order, lastBatch 'keep' | 'discard' | 'rollover'. The batches belong to the loader: the
// arrays of one batch are freed when the loop asks for the next one or leaves (break, throw, end), unless
// the user kept them (nd.keep) or copied them, so a plain epoch leaves nothing behind.
import { NDArrayError } from '../../errors';
import { describeValue, dispose, NDArray, options, tidy } from '../../ndarray';
import { array, random } from '../../creation';
import { stack } from '../../shape_ops';
import { Dataset } from './dataset';

export type LastBatch = 'keep' | 'discard' | 'rollover';

export interface DataLoaderOptions {
  batchSize: number;
  shuffle?: boolean;
  lastBatch?: LastBatch;
  /** a seed for the shuffled order (its own stream; without it, nd.random.seed decides) */
  seed?: number;
  /** turns a list of samples into a batch (MXNet batchify_fn); the default stacks arrays and numbers */
  batchify?: (samples: any[]) => any;
  /** accepted for porting: batches are gathered natively in this thread */
  numWorkers?: number;
  /** accepted for porting (one context) */
  pinMemory?: boolean;
  /** accepted for porting */
  prefetch?: number;
  /** accepted for porting */
  threadPool?: boolean;
}

const KEYS = ['batchSize', 'shuffle', 'lastBatch', 'seed', 'batchify', 'numWorkers', 'pinMemory', 'prefetch', 'threadPool'];

/** MXNet's default_batchify_fn: stacks NDArrays, turns numbers into an array, recurses into tuples. */
export function defaultBatchify(samples: any[]): any {
  const first = samples[0];
  if (first instanceof NDArray) return stack(samples, { axis: 0 });
  if (Array.isArray(first)) {
    return first.map((_, k) =>
      defaultBatchify(
        samples.map((s) => {
          if (!Array.isArray(s) || s.length !== first.length)
            throw new NDArrayError(`DataLoader: samples have different numbers of fields (${first.length} and ${describeValue(s)})`, 'SHAPE_MISMATCH');
          return s[k];
        }),
      ),
    );
  }
  if (typeof first === 'number') {
    // integer labels as int32 (MXNet keeps NumPy's integer dtype), other numbers as float32
    const values = Float64Array.from(samples, (v) => {
      if (typeof v !== 'number') throw new NDArrayError(`DataLoader: cannot batch ${describeValue(v)} with numbers`, 'BAD_ARGUMENT');
      return v;
    });
    return array(values, { dtype: values.every(Number.isInteger) ? 'int32' : 'float32' });
  }
  throw new NDArrayError(`DataLoader: the default batchify stacks NDArrays, numbers and tuples of them, got ${describeValue(first)}`, 'BAD_ARGUMENT');
}

/** @internal mulberry32: a small seeded generator, so a seed gives the same order on every platform */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class DataLoader implements Iterable<any>, AsyncIterable<any> {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly lastBatch: LastBatch;
  private readonly batchify: ((samples: any[]) => any) | null;
  private readonly rand: (() => number) | null;
  private carried: number[] = []; // rollover: the short last batch, started again next epoch

  constructor(dataset: Dataset, opts: DataLoaderOptions) {
    if (!(dataset instanceof Dataset))
      throw new NDArrayError(`DataLoader: expected a gluon.data.Dataset, got ${describeValue(dataset)}`, 'BAD_ARGUMENT');
    const o = options(opts, 'DataLoader', new Set(KEYS)) as DataLoaderOptions;
    if (!Number.isInteger(o.batchSize) || o.batchSize < 1)
      throw new NDArrayError(`DataLoader: batchSize must be a positive integer, got ${describeValue(o.batchSize)}`, 'BAD_ARGUMENT');
    const last = o.lastBatch ?? 'keep';
    if (last !== 'keep' && last !== 'discard' && last !== 'rollover')
      throw new NDArrayError(`DataLoader: lastBatch must be 'keep', 'discard' or 'rollover', got ${describeValue(last)}`, 'BAD_ARGUMENT');
    if (o.batchify !== undefined && typeof o.batchify !== 'function')
      throw new NDArrayError(`DataLoader: batchify must be a function, got ${describeValue(o.batchify)}`, 'BAD_ARGUMENT');
    if (o.seed !== undefined && (typeof o.seed !== 'number' || !Number.isFinite(o.seed)))
      throw new NDArrayError(`DataLoader: seed must be a finite number, got ${describeValue(o.seed)}`, 'BAD_ARGUMENT');
    this.dataset = dataset;
    this.batchSize = o.batchSize;
    this.shuffle = !!o.shuffle;
    this.lastBatch = last;
    this.batchify = o.batchify ?? null;
    this.rand = o.seed === undefined ? null : mulberry32(o.seed);
  }

  /** The number of batches in the next epoch (MXNet len(loader)). */
  get length(): number {
    const n = this.dataset.length + (this.lastBatch === 'rollover' ? this.carried.length : 0);
    return this.lastBatch === 'keep' ? Math.ceil(n / this.batchSize) : Math.floor(n / this.batchSize);
  }

  private order(): number[] {
    const n = this.dataset.length;
    const idx = Array.from({ length: n }, (_, i) => i);
    if (!this.shuffle) return idx;
    let rand = this.rand;
    if (rand === null) {
      // one draw from ndgrad's generator per epoch, so nd.random.seed makes the order reproducible
      const r = random.uniform(0, 4294967296, [1], { dtype: 'float64' });
      rand = mulberry32(r.item());
      r.dispose();
    }
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      const t = idx[i];
      idx[i] = idx[j];
      idx[j] = t;
    }
    return idx;
  }

  // The epoch's batches as index lists (MXNet BatchSampler).
  private *batches(): Generator<number[]> {
    let batch = this.lastBatch === 'rollover' ? this.carried : [];
    this.carried = [];
    for (const i of this.order()) {
      batch.push(i);
      if (batch.length === this.batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length === 0) return;
    if (this.lastBatch === 'keep') yield batch;
    else if (this.lastBatch === 'rollover') this.carried = batch;
  }

  private load(indices: number[]): any {
    if (this.batchify === null) {
      const gathered = this.dataset.gatherBatch(Int32Array.from(indices));
      if (gathered !== null) return gathered;
    }
    const batchify = this.batchify ?? defaultBatchify;
    // the samples' own arrays are freed once stacked (arrays the dataset stores are not made here)
    return tidy(() => batchify(indices.map((i) => this.dataset.at(i))));
  }

  [Symbol.iterator](): Iterator<any> {
    const plan = this.batches();
    let current: any = null;
    const release = (): void => {
      if (current === null) return;
      const c = current;
      current = null;
      dispose(unkept(c));
    };
    return {
      next: (): IteratorResult<any> => {
        release();
        const r = plan.next();
        if (r.done) return { done: true, value: undefined };
        current = this.load(r.value);
        return { done: false, value: current };
      },
      return: (): IteratorResult<any> => {
        release();
        plan.return(undefined);
        return { done: true, value: undefined };
      },
    };
  }

  [Symbol.asyncIterator](): AsyncIterator<any> {
    const it = this[Symbol.iterator]();
    return {
      // yields to the event loop between batches, so timers and I/O run during an epoch
      next: async () => {
        await new Promise<void>((resolve) => setImmediate(resolve));
        return it.next();
      },
      return: async () => it.return!(),
    };
  }
}

// The arrays of a batch that nd.keep did not exempt.
function unkept(batch: any): NDArray[] {
  const out: NDArray[] = [];
  const walk = (v: any): void => {
    if (v instanceof NDArray) {
      if (!v._kept) out.push(v);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(batch);
  return out;
}
