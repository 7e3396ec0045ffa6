// gluon.data samplers (MXNet 1.9 gluon/data/sampler.py): the order of samples (SequentialSampler,
// RandomSampler) and their grouping into batches (BatchSampler, with lastBatch keep / discard / rollover).
// DataLoader builds these from batchSize / shuffle / lastBatch, or takes the user's.
import { NDArrayError } from '../../errors';
import { describeValue } from '../../args';
import { random } from '../../creation';

export type LastBatch = 'keep' | 'discard' | 'rollover';

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

function count(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0) throw new NDArrayError(`${what}: length must be a non-negative integer, got ${describeValue(n)}`, 'BAD_ARGUMENT');
  return n;
}

/** Yields sample indices; `length` is how many. */
export abstract class Sampler implements Iterable<number> {
  abstract get length(): number;
  abstract [Symbol.iterator](): Iterator<number>;
}

/** start, start + 1, ..., start + length - 1. */
export class SequentialSampler extends Sampler {
  /** @internal */ private readonly n: number;
  /** @internal */ private readonly start: number;
  constructor(length: number, start = 0) {
    super();
    this.n = count(length, 'SequentialSampler');
    if (!Number.isInteger(start)) throw new NDArrayError(`SequentialSampler: start must be an integer, got ${describeValue(start)}`, 'BAD_ARGUMENT');
    this.start = start;
  }
  get length(): number {
    return this.n;
  }
  *[Symbol.iterator](): Iterator<number> {
    for (let i = 0; i < this.n; i++) yield this.start + i;
  }
}

/**
 * 0 .. length - 1 in a new random order each pass. With `seed`, its own generator (the same orders on
 * every platform); without, each pass draws its seed from ndgrad's generator, so nd.random.seed fixes it.
 */
export class RandomSampler extends Sampler {
  /** @internal */ private readonly n: number;
  /** @internal */ private readonly rand: (() => number) | null;
  constructor(length: number, opts: { seed?: number } = {}) {
    super();
    this.n = count(length, 'RandomSampler');
    const seed = opts?.seed;
    if (seed !== undefined && (typeof seed !== 'number' || !Number.isFinite(seed)))
      throw new NDArrayError(`RandomSampler: seed must be a finite number, got ${describeValue(seed)}`, 'BAD_ARGUMENT');
    this.rand = seed === undefined ? null : mulberry32(seed);
  }
  get length(): number {
    return this.n;
  }
  [Symbol.iterator](): Iterator<number> {
    let rand = this.rand;
    if (rand === null) {
      const r = random.uniform(0, 4294967296, [1], { dtype: 'float64' });
      rand = mulberry32(r.item());
      r.dispose();
    }
    const idx = Array.from({ length: this.n }, (_, i) => i);
    for (let i = this.n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      const t = idx[i];
      idx[i] = idx[j];
      idx[j] = t;
    }
    return idx[Symbol.iterator]();
  }
}

/**
 * Groups a sampler's indices into lists of batchSize. The last short batch is kept, discarded, or
 * (rollover) put in front of the next pass's indices.
 */
export class BatchSampler implements Iterable<number[]> {
  readonly sampler: Iterable<number> & { length?: number };
  readonly batchSize: number;
  readonly lastBatch: LastBatch;
  /** @internal */ private carried: number[] = [];

  constructor(sampler: Iterable<number> & { length?: number }, batchSize: number, lastBatch: LastBatch = 'keep') {
    if (sampler === null || typeof sampler !== 'object' || typeof (sampler as any)[Symbol.iterator] !== 'function')
      throw new NDArrayError(`BatchSampler: expected a sampler (an iterable of indices), got ${describeValue(sampler)}`, 'BAD_ARGUMENT');
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new NDArrayError(`BatchSampler: batchSize must be a positive integer, got ${describeValue(batchSize)}`, 'BAD_ARGUMENT');
    if (lastBatch !== 'keep' && lastBatch !== 'discard' && lastBatch !== 'rollover')
      throw new NDArrayError(`BatchSampler: lastBatch must be 'keep', 'discard' or 'rollover', got ${describeValue(lastBatch)}`, 'BAD_ARGUMENT');
    this.sampler = sampler;
    this.batchSize = batchSize;
    this.lastBatch = lastBatch;
  }

  /** The number of batches of the next pass (MXNet len(batch_sampler)). */
  get length(): number {
    const n = this.sampler.length;
    if (typeof n !== 'number') throw new NDArrayError('BatchSampler: the sampler has no length', 'BAD_ARGUMENT');
    if (this.lastBatch === 'keep') return Math.ceil(n / this.batchSize);
    return Math.floor((n + (this.lastBatch === 'rollover' ? this.carried.length : 0)) / this.batchSize);
  }

  *[Symbol.iterator](): Iterator<number[]> {
    let batch = this.lastBatch === 'rollover' ? this.carried : [];
    this.carried = [];
    for (const i of this.sampler) {
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
}
