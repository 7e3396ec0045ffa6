// gluon.data.DataLoader (MXNet 1.9 gluon/data/dataloader.py): batches of a dataset in the order of a
// sampler (sequential, seeded shuffle, or the user's), lastBatch 'keep' | 'discard' | 'rollover'. An
// ArrayDataset's batch is gathered with one take per array. The batches belong to the loader: the
// arrays of one batch are freed when the loop asks for the next one or leaves (break, throw, end), unless
// the user kept them (nd.keep) or copied them, so a plain epoch leaves nothing behind.
import { NDArrayError } from '../../errors';
import { describeValue, options } from '../../args';
import { array } from '../../creation';
import { stack } from '../../join';
import { dispose, tidy } from '../../memory';
import { NDArray } from '../../ndarray';
import { Dataset } from './dataset';
import { BatchSampler, LastBatch, RandomSampler, SequentialSampler } from './sampler';

export interface DataLoaderOptions<B = NDArray[]> {
  /** samples per batch (required unless batchSampler is given) */
  batchSize?: number;
  shuffle?: boolean;
  lastBatch?: LastBatch;
  /** a seed for the shuffled order (its own stream; without it, nd.random.seed decides) */
  seed?: number;
  /** the order of samples (MXNet sampler; instead of shuffle) */
  sampler?: Iterable<number> & { length?: number };
  /** the batches' index lists (MXNet batch_sampler; instead of batchSize, shuffle, sampler, lastBatch) */
  batchSampler?: Iterable<number[]> & { length?: number };
  /**
   * turns a list of samples into a batch (MXNet batchify_fn); the default stacks arrays and numbers. The
   * arrays it returns belong to the loader (freed when the loop moves on), so it must return new ones.
   */
  batchify?(samples: unknown[]): B;
  /** accepted for porting: batches are gathered natively in this thread */
  numWorkers?: number;
  /** accepted for porting (one context) */
  pinMemory?: boolean;
  /** accepted for porting */
  prefetch?: number;
  /** accepted for porting */
  threadPool?: boolean;
}

const KEYS = ['batchSize', 'shuffle', 'lastBatch', 'seed', 'sampler', 'batchSampler', 'batchify', 'numWorkers', 'pinMemory', 'prefetch', 'threadPool'];

/** MXNet's default_batchify_fn: stacks NDArrays, turns numbers into an array, recurses into tuples. */
export function defaultBatchify(samples: unknown[]): Batch {
  const first = samples[0];
  if (first instanceof NDArray) return stack(samples as NDArray[], { axis: 0 }); // stack checks the rest
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

/** A default batch: an NDArray, or a tuple of batches (one per field of the samples). */
export type Batch = NDArray | Batch[];

/**
 * Iterates over batches (`for ... of` and `for await`). `B` is the type of a batch, by default a tuple
 * of NDArrays (`for (const [x, y] of loader)`); a dataset of single arrays gives single NDArrays
 * (`new DataLoader<NDArray>(...)`), a custom batchify whatever it returns.
 */
export class DataLoader<B = NDArray[]> implements Iterable<B>, AsyncIterable<B> {
  readonly dataset: Dataset;
  readonly batchSampler: Iterable<number[]> & { length?: number };
  /** @internal */ private readonly batchify: ((samples: unknown[]) => unknown) | null;

  constructor(dataset: Dataset, opts: DataLoaderOptions<B>) {
    if (!(dataset instanceof Dataset))
      throw new NDArrayError(`DataLoader: expected a gluon.data.Dataset, got ${describeValue(dataset)}`, 'BAD_ARGUMENT');
    const o = options(opts, 'DataLoader', new Set(KEYS)) as DataLoaderOptions<B>;
    if (o.batchify !== undefined && typeof o.batchify !== 'function')
      throw new NDArrayError(`DataLoader: batchify must be a function, got ${describeValue(o.batchify)}`, 'BAD_ARGUMENT');
    if (o.batchSampler !== undefined) {
      for (const k of ['batchSize', 'shuffle', 'sampler', 'lastBatch', 'seed'] as const)
        if (o[k] !== undefined)
          throw new NDArrayError(`DataLoader: batchSampler already decides the batches; '${k}' cannot be given with it`, 'BAD_ARGUMENT');
      if (o.batchSampler === null || typeof (o.batchSampler as any)[Symbol.iterator] !== 'function')
        throw new NDArrayError(`DataLoader: batchSampler must be an iterable of index lists, got ${describeValue(o.batchSampler)}`, 'BAD_ARGUMENT');
    }
    this.dataset = dataset;
    this.batchify = o.batchify ?? null;
    this.batchSampler = o.batchSampler ?? DataLoader.batches(dataset, o);
  }

  // MXNet's DataLoader: the sampler (given, or random / sequential) grouped by a BatchSampler.
  /** @internal */ private static batches(dataset: Dataset, o: DataLoaderOptions<unknown>): BatchSampler {
    if (o.batchSize === undefined) throw new NDArrayError('DataLoader: batchSize is required unless batchSampler is given', 'BAD_ARGUMENT');
    if (o.sampler !== undefined && (o.shuffle || o.seed !== undefined))
      throw new NDArrayError("DataLoader: the sampler decides the order; 'shuffle' and 'seed' cannot be given with it", 'BAD_ARGUMENT');
    const sampler = o.sampler ?? (o.shuffle ? new RandomSampler(dataset.length, { seed: o.seed }) : new SequentialSampler(dataset.length));
    return new BatchSampler(sampler, o.batchSize, o.lastBatch ?? 'keep');
  }

  /** The number of batches in the next epoch (MXNet len(loader)). */
  get length(): number {
    const n = this.batchSampler.length;
    if (typeof n !== 'number') throw new NDArrayError('DataLoader: the batchSampler has no length', 'BAD_ARGUMENT');
    return n;
  }

  /** @internal */ private load(indices: number[]): B {
    if (this.batchify === null) {
      const gathered = this.dataset.gatherBatch(Int32Array.from(indices));
      if (gathered !== null) return gathered as B;
    }
    const batchify = this.batchify ?? defaultBatchify;
    // the samples' own arrays are freed once stacked (arrays the dataset stores are not made here)
    return tidy(() => batchify(indices.map((i) => this.dataset.at(i)))) as B;
  }

  [Symbol.iterator](): Iterator<B> {
    const plan = this.batchSampler[Symbol.iterator]();
    let current: B | null = null;
    const release = (): void => {
      if (current === null) return;
      const c = current;
      current = null;
      dispose(unkept(c));
    };
    return {
      next: (): IteratorResult<B> => {
        release();
        const r = plan.next();
        if (r.done) return { done: true, value: undefined };
        current = this.load(r.value);
        return { done: false, value: current };
      },
      return: (): IteratorResult<B> => {
        release();
        plan.return?.(undefined);
        return { done: true, value: undefined };
      },
    };
  }

  [Symbol.asyncIterator](): AsyncIterator<B> {
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
function unkept(batch: unknown): NDArray[] {
  const out: NDArray[] = [];
  const walk = (v: unknown): void => {
    if (v instanceof NDArray) {
      if (!v._kept) out.push(v);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(batch);
  return out;
}
