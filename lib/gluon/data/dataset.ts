// gluon.data datasets (MXNet 1.9 gluon/data/dataset.py): Dataset, SimpleDataset, ArrayDataset, and the
// lazy slice / transform / transformFirst views. A dataset that can gather a whole batch with native
// ops (`gatherBatch`) lets DataLoader skip the per-sample path.
import { NDArrayError } from '../../errors';
import { describeValue } from '../../args';
import { array } from '../../creation';
import { take } from '../../indexing';
import { NDArray } from '../../ndarray';

/** A per-sample function, or a built-in transform (which also runs on a whole batch). */
export type TransformLike = ((...args: never[]) => unknown) | { forward(x: NDArray): NDArray; batchable?: boolean };

/** A sample of an ArrayDataset: one field, or a tuple of them (an NDArray, or a number from a 1-D array). */
export type ArraySample = NDArray | number | (NDArray | number)[];

/** @internal a transform that DataLoader may run once on a stacked batch instead of per sample */
export function batchForward(t: TransformLike): ((x: NDArray) => NDArray) | null {
  if (typeof t === 'function') return null;
  return t.batchable === true ? (x) => t.forward(x) : null;
}

function callTransform(t: TransformLike, args: unknown[]): unknown {
  if (typeof t === 'function') return (t as (...a: unknown[]) => unknown)(...args);
  if (t !== null && typeof t === 'object' && typeof (t as any).forward === 'function') return (t as any).forward(...args);
  throw new NDArrayError(`transform: expected a function or a transform, got ${describeValue(t)}`, 'BAD_ARGUMENT');
}

function checkIndex(i: number, n: number, what: string): number {
  if (!Number.isInteger(i)) throw new NDArrayError(`${what}.at: index must be an integer, got ${describeValue(i)}`, 'BAD_ARGUMENT');
  if (i < -n || i >= n) throw new NDArrayError(`${what}.at: index ${i} is out of range for ${n} samples`, 'OUT_OF_RANGE');
  return i < 0 ? i + n : i;
}

/** Subclass with `get length()` and `at(i)` (MXNet's `__len__` / `__getitem__`). */
export abstract class Dataset {
  abstract get length(): number;
  abstract at(i: number): unknown;

  /** Samples [start, end) as a dataset (negative bounds count from the end, as Python slices). */
  slice(start: number, end?: number): Dataset {
    const n = this.length;
    const clamp = (v: number): number => Math.min(n, Math.max(0, v < 0 ? v + n : v));
    if (!Number.isInteger(start) || (end !== undefined && !Number.isInteger(end)))
      throw new NDArrayError(`slice: start and end must be integers, got ${describeValue(start)}, ${describeValue(end)}`, 'BAD_ARGUMENT');
    const s = clamp(start);
    return new SlicedDataset(this, s, Math.max(s, end === undefined ? n : clamp(end)));
  }

  /** A dataset whose samples are fn(...sample) (a tuple sample is spread into the arguments). */
  transform(fn: TransformLike): Dataset {
    return new TransformedDataset(this, fn, false);
  }

  /** A dataset that applies fn to the first element of each sample only (MXNet transform_first). */
  transformFirst(fn: TransformLike): Dataset {
    return new TransformedDataset(this, fn, true);
  }

  /** MXNet's take(count): the first count samples. */
  take(count: number): Dataset {
    return this.slice(0, count);
  }

  /**
   * @internal The batch of samples `indices` as arrays (one per field), gathered natively, or null when
   * this dataset can only be read per sample.
   */
  gatherBatch(_indices: Int32Array): NDArray | NDArray[] | null {
    return null;
  }
}

/** Any indexable list (or array-like) as a dataset. */
export class SimpleDataset extends Dataset {
  /** @internal */ private readonly data: ArrayLike<unknown>;
  constructor(data: ArrayLike<unknown>) {
    super();
    if (data === null || typeof data !== 'object' || typeof (data as any).length !== 'number')
      throw new NDArrayError(`SimpleDataset: expected a list, got ${describeValue(data)}`, 'BAD_ARGUMENT');
    this.data = data;
  }
  get length(): number {
    return this.data.length;
  }
  at(i: number): unknown {
    return this.data[checkIndex(i, this.data.length, 'SimpleDataset')];
  }
}

/**
 * Several arrays of the same length (first axis = samples). A 1-D array's samples are numbers (labels);
 * others' are NDArrays. Typed arrays and lists of numbers are copied into NDArrays the dataset owns
 * (freed by dispose()); NDArrays passed in are used as they are and stay the caller's.
 */
export class ArrayDataset extends Dataset {
  /** @internal */ readonly arrays: NDArray[];
  /** @internal */ private readonly owned: NDArray[] = [];
  /** @internal */ private readonly numbers: (Float64Array | Float32Array | Int32Array | Uint8Array | null)[];
  /** @internal */ private readonly n: number;

  constructor(...arrays: (NDArray | ArrayBufferView | number[])[]) {
    super();
    if (arrays.length === 0) throw new NDArrayError('ArrayDataset: needs at least one array', 'BAD_ARGUMENT');
    this.arrays = arrays.map((a, k) => {
      if (a instanceof NDArray) {
        if (a.ndim === 0) throw new NDArrayError(`ArrayDataset: array ${k} is 0-d; it has no samples`, 'SHAPE_MISMATCH');
        return a;
      }
      if (!ArrayBuffer.isView(a) && !Array.isArray(a))
        throw new NDArrayError(`ArrayDataset: array ${k} must be an NDArray, a typed array or a list, got ${describeValue(a)}`, 'BAD_ARGUMENT');
      const made = array(a as any);
      this.owned.push(made);
      return made;
    });
    this.n = this.arrays[0].shape[0];
    this.arrays.forEach((a, k) => {
      if (a.shape[0] !== this.n)
        throw new NDArrayError(
          `ArrayDataset: all arrays must have the same number of samples: array 0 has ${this.n}, array ${k} has ${a.shape[0]}`,
          'SHAPE_MISMATCH',
        );
    });
    this.numbers = this.arrays.map(() => null);
  }

  get length(): number {
    return this.n;
  }

  /** The sample i: a tuple with one entry per array (just the entry when there is one array, as MXNet). */
  at(i: number): ArraySample {
    const k = checkIndex(i, this.n, 'ArrayDataset');
    const fields = this.arrays.map((a, j) => {
      if (a.ndim > 1) return a.at(k);
      // labels as numbers: the values are read once, not through an array per sample
      let vals = this.numbers[j];
      if (vals === null) vals = this.numbers[j] = a.toTypedArray();
      return vals[k];
    });
    return fields.length === 1 ? fields[0] : fields;
  }

  /** @internal */
  gatherBatch(indices: Int32Array): NDArray | NDArray[] {
    const idx = array(indices);
    try {
      const out = this.arrays.map((a) => take(a, idx, { axis: 0 }));
      return out.length === 1 ? out[0] : out;
    } finally {
      idx.dispose();
    }
  }

  /** @internal the dataset frees all its arrays (a dataset that read them from files) */
  protected adopt(): void {
    for (const a of this.arrays) if (!this.owned.includes(a)) this.owned.push(a);
  }

  /** Frees the arrays this dataset made from typed arrays or lists (NDArrays passed in stay the caller's). */
  dispose(): void {
    for (const a of this.owned) a.dispose();
    this.numbers.fill(null);
  }
}

class SlicedDataset extends Dataset {
  constructor(private readonly base: Dataset, private readonly start: number, private readonly end: number) {
    super();
  }
  get length(): number {
    return this.end - this.start;
  }
  at(i: number): unknown {
    return this.base.at(this.start + checkIndex(i, this.length, 'Dataset.slice'));
  }
  gatherBatch(indices: Int32Array): NDArray | NDArray[] | null {
    const shifted = new Int32Array(indices.length);
    for (let i = 0; i < indices.length; i++) shifted[i] = indices[i] + this.start;
    return this.base.gatherBatch(shifted);
  }
}

class TransformedDataset extends Dataset {
  constructor(private readonly base: Dataset, private readonly fn: TransformLike, private readonly firstOnly: boolean) {
    super();
    if (typeof fn !== 'function' && (fn === null || typeof fn !== 'object' || typeof (fn as any).forward !== 'function'))
      throw new NDArrayError(`transform: expected a function or a transform, got ${describeValue(fn)}`, 'BAD_ARGUMENT');
  }
  get length(): number {
    return this.base.length;
  }
  at(i: number): unknown {
    const item = this.base.at(i);
    if (this.firstOnly) {
      if (Array.isArray(item)) return [callTransform(this.fn, [item[0]]), ...item.slice(1)];
      return callTransform(this.fn, [item]);
    }
    return callTransform(this.fn, Array.isArray(item) ? item : [item]);
  }
  // A built-in transform of the first field runs once on the gathered batch; anything else per sample.
  gatherBatch(indices: Int32Array): NDArray | NDArray[] | null {
    const run = batchForward(this.fn);
    if (run === null || !this.firstOnly) return null;
    const batch = this.base.gatherBatch(indices);
    if (batch === null) return null;
    const fields = Array.isArray(batch) ? batch : [batch];
    let first: NDArray;
    try {
      first = run(fields[0]);
    } catch (e) {
      for (const f of fields) f.dispose();
      throw e;
    }
    if (first !== fields[0]) fields[0].dispose();
    fields[0] = first;
    return Array.isArray(batch) ? fields : fields[0];
  }
}
