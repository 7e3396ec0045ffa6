// gluon.data: Dataset subclasses, ArrayDataset, SimpleDataset, slice/transform/transformFirst, and
// DataLoader (order, seeded shuffle, lastBatch modes, batchify, for await, batches freed by the loader).
import { gluon, nd, NDArray } from '../lib';
import { codeOf, liveArrays, settledLiveMemory } from './helpers';

const { ArrayDataset, SimpleDataset, DataLoader, Dataset } = gluon.data;

// x[i] = [i, i + 0.5] so every batch tells which samples it holds; y[i] = i % 3.
function small(n = 10) {
  const x = nd.array(Float32Array.from({ length: 2 * n }, (_, k) => (k % 2 ? Math.floor(k / 2) + 0.5 : k / 2))).reshape([n, 2]);
  const y = Int32Array.from({ length: n }, (_, i) => i % 3);
  return { x, y, ds: new ArrayDataset(x, y) };
}

function ids(batch: NDArray): number[] {
  return (batch.toArray() as number[][]).map((r) => r[0]);
}

function epoch(loader: Iterable<NDArray[]>): number[][] {
  const out: number[][] = [];
  for (const [x] of loader) out.push(ids(x));
  return out;
}

describe('datasets', () => {
  test('ArrayDataset: length, at(i) tuples with labels as numbers, negative index, errors', () => {
    const { x, ds } = small();
    expect(ds.length).toBe(10);
    const [xi, yi] = ds.at(4) as [NDArray, number];
    expect(xi).toBeInstanceOf(NDArray);
    expect(xi.toArray()).toEqual([4, 4.5]);
    expect(yi).toBe(1);
    expect((ds.at(-1) as [NDArray, number])[1]).toBe(0);
    expect(codeOf(() => ds.at(10))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => ds.at(1.5))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => new ArrayDataset(x, new Int32Array(3)))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => new ArrayDataset())).toBe('BAD_ARGUMENT');
    expect(codeOf(() => new ArrayDataset('abc' as any))).toBe('BAD_ARGUMENT');
    xi.dispose();
    x.dispose();
    ds.dispose();
  });

  test('ArrayDataset of one array returns the sample itself (MXNet); lists of numbers work', () => {
    const ds = new ArrayDataset([3, 1, 4]);
    expect(ds.at(2)).toBe(4);
    ds.dispose();
  });

  test('ArrayDataset frees only the arrays it made', () => {
    const n0 = liveArrays();
    const x = nd.zeros([4, 2]);
    const ds = new ArrayDataset(x, new Float32Array(4));
    expect(liveArrays()).toBe(n0 + 2);
    ds.dispose();
    expect(liveArrays()).toBe(n0 + 1);
    expect(x.isDisposed).toBe(false);
    x.dispose();
  });

  test('SimpleDataset, slice, take, transform, transformFirst', () => {
    const s = new SimpleDataset([10, 11, 12, 13, 14]);
    expect(s.length).toBe(5);
    expect(s.at(3)).toBe(13);
    const sl = s.slice(1, -1);
    expect(sl.length).toBe(3);
    expect([sl.at(0), sl.at(2)]).toEqual([11, 13]);
    expect(s.slice(3, 1).length).toBe(0);
    expect(s.take(2).length).toBe(2);
    expect(codeOf(() => sl.at(3))).toBe('OUT_OF_RANGE');
    expect(s.transform((v: number) => v * 2).at(1)).toBe(22);
    const pairs = new SimpleDataset([[1, 'a'], [2, 'b']] as any[]);
    expect(pairs.transform((a: number, b: string) => b + a).at(1)).toBe('b2');
    expect(pairs.transformFirst((a: number) => -a).at(0)).toEqual([-1, 'a']);
    expect(codeOf(() => s.transform(42 as any))).toBe('BAD_ARGUMENT');
  });

  test('a user Dataset subclass works with DataLoader (default batchify stacks arrays and numbers)', () => {
    class Squares extends Dataset {
      get length() {
        return 5;
      }
      at(i: number) {
        return [nd.full([2], i), i * i, i + 0.25];
      }
    }
    const n0 = liveArrays();
    const loader = new DataLoader(new Squares(), { batchSize: 2 });
    const seen: any[] = [];
    for (const [x, sq, f] of loader) seen.push([x.toArray(), sq.dtype, sq.toArray(), f.dtype, f.toArray()]);
    expect(seen).toEqual([
      [[[0, 0], [1, 1]], 'int32', [0, 1], 'float32', [0.25, 1.25]],
      [[[2, 2], [3, 3]], 'int32', [4, 9], 'float32', [2.25, 3.25]],
      [[[4, 4]], 'int32', [16], 'float32', [4.25]],
    ]);
    expect(liveArrays()).toBe(n0);
  });

  test('a dataset that stores NDArrays keeps them: only the stacked batches are freed', () => {
    const stored = [nd.full([2], 1), nd.full([2], 2), nd.full([2], 3)];
    const n0 = liveArrays();
    const out: number[][][] = [];
    for (const b of new DataLoader<NDArray>(new SimpleDataset(stored), { batchSize: 2 })) out.push(b.toArray() as number[][]);
    expect(out).toEqual([[[1, 1], [2, 2]], [[3, 3]]]);
    expect(stored.every((a) => !a.isDisposed)).toBe(true);
    expect(liveArrays()).toBe(n0);
    nd.dispose(stored);
  });
});

describe('DataLoader', () => {
  test('in order; lastBatch keep / discard; length', () => {
    const { x, ds } = small();
    const keep = new DataLoader(ds, { batchSize: 4 });
    expect(keep.length).toBe(3);
    expect(epoch(keep)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    const discard = new DataLoader(ds, { batchSize: 4, lastBatch: 'discard' });
    expect(discard.length).toBe(2);
    expect(epoch(discard)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
    x.dispose();
    ds.dispose();
  });

  test('rollover starts the next epoch with the short batch (MXNet BatchSampler)', () => {
    const { x, ds } = small();
    const loader = new DataLoader(ds, { batchSize: 4, lastBatch: 'rollover' });
    expect(loader.length).toBe(2);
    expect(epoch(loader)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
    expect(loader.length).toBe(3); // 2 carried + 10
    expect(epoch(loader)).toEqual([[8, 9, 0, 1], [2, 3, 4, 5], [6, 7, 8, 9]]);
    expect(epoch(loader)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
    x.dispose();
    ds.dispose();
  });

  test('labels come batched with their samples and keep their dtype', () => {
    const { x, ds } = small();
    for (const [xb, yb] of new DataLoader(ds, { batchSize: 3, shuffle: true, seed: 5 })) {
      expect(yb.dtype).toBe('int32');
      expect(yb.toArray()).toEqual(ids(xb).map((i) => i % 3));
    }
    x.dispose();
    ds.dispose();
  });

  test('shuffle: a permutation, reproducible with seed, different per epoch; nd.random.seed without seed', () => {
    const { x, ds } = small(50);
    const a = new DataLoader(ds, { batchSize: 7, shuffle: true, seed: 42 });
    const b = new DataLoader(ds, { batchSize: 7, shuffle: true, seed: 42 });
    const a1 = epoch(a);
    expect(a1.flat().sort((p, q) => p - q)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(a1.flat()).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(epoch(b)).toEqual(a1);
    const a2 = epoch(a);
    expect(a2).not.toEqual(a1);
    expect(epoch(b)).toEqual(a2);
    expect(epoch(new DataLoader(ds, { batchSize: 7, shuffle: true, seed: 43 }))).not.toEqual(a1);
    const c = new DataLoader(ds, { batchSize: 7, shuffle: true });
    nd.random.seed(7);
    const c1 = epoch(c);
    nd.random.seed(7);
    expect(epoch(c)).toEqual(c1);
    x.dispose();
    ds.dispose();
  });

  test('options are checked; numWorkers is accepted', () => {
    const { x, ds } = small();
    expect(codeOf(() => new DataLoader(ds, { batchSize: 0 }))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => new DataLoader(ds, {} as any))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => new DataLoader(ds, { batchSize: 2, lastBatch: 'drop' as any }))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => new DataLoader(ds, { batchSize: 2, batch_size: 3 } as any))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => new DataLoader([1, 2] as any, { batchSize: 2 }))).toBe('BAD_ARGUMENT');
    expect(epoch(new DataLoader(ds, { batchSize: 5, numWorkers: 4 }))).toHaveLength(2);
    x.dispose();
    ds.dispose();
  });

  test('samplers: a given sampler or batchSampler decides the batches (MXNet); conflicting options are errors', () => {
    const { x, ds } = small(7);
    const { SequentialSampler, RandomSampler, BatchSampler } = gluon.data;
    expect([...new SequentialSampler(3, 4)]).toEqual([4, 5, 6]);
    const reversed = [6, 5, 4, 3, 2, 1, 0];
    expect(epoch(new DataLoader(ds, { batchSize: 3, sampler: reversed }))).toEqual([[6, 5, 4], [3, 2, 1], [0]]);
    const bs = new BatchSampler(new SequentialSampler(7), 3, 'rollover');
    expect(bs.length).toBe(2);
    const viaBatches = new DataLoader(ds, { batchSampler: bs });
    expect(epoch(viaBatches)).toEqual([[0, 1, 2], [3, 4, 5]]);
    expect(viaBatches.length).toBe(2); // 1 carried + 7 = 8: two batches, two left
    expect(epoch(viaBatches)).toEqual([[6, 0, 1], [2, 3, 4]]);
    expect(epoch(new DataLoader(ds, { batchSampler: [[1, 1], [0]] }))).toEqual([[1, 1], [0]]);
    const r = [...new RandomSampler(20, { seed: 3 })];
    expect(r).toEqual([...new RandomSampler(20, { seed: 3 })]);
    expect([...r].sort((a, b) => a - b)).toEqual([...new SequentialSampler(20)]);
    for (const bad of [
      { batchSampler: bs, batchSize: 2 },
      { batchSampler: bs, shuffle: true },
      { batchSize: 2, sampler: reversed, shuffle: true },
      { batchSize: 2, sampler: reversed, seed: 1 },
      { batchSampler: 5 },
    ])
      expect(codeOf(() => new DataLoader(ds, bad as any))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => new BatchSampler(reversed, 0))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => new RandomSampler(-1))).toBe('BAD_ARGUMENT');
    x.dispose();
    ds.dispose();
  });

  test('a custom batchify gets the samples', () => {
    const { x, ds } = small(5);
    const loader = new DataLoader(ds, { batchSize: 2, batchify: (s: any[]) => nd.array(s.map((p) => p[1])) });
    const out: number[][] = [];
    for (const b of loader) out.push(b.toArray() as number[]);
    expect(out).toEqual([[0, 1], [2, 0], [1]]);
    x.dispose();
    ds.dispose();
  });

  test('the batch is freed when the loop moves on, breaks or throws; nd.keep and copy() keep one', () => {
    const { x, ds } = small();
    const loader = new DataLoader(ds, { batchSize: 3 });
    const n0 = liveArrays();
    const seen: NDArray[] = [];
    for (const [xb, yb] of loader) {
      expect(liveArrays()).toBe(n0 + 2);
      seen.push(xb, yb);
    }
    expect(seen.every((a) => a.isDisposed)).toBe(true);
    expect(liveArrays()).toBe(n0);
    for (const [xb] of loader) {
      seen.push(xb);
      break;
    }
    expect(seen[seen.length - 1].isDisposed).toBe(true);
    expect(liveArrays()).toBe(n0);
    expect(() => {
      for (const _ of loader) throw new Error('boom');
    }).toThrow('boom');
    expect(liveArrays()).toBe(n0);
    let kept: NDArray | null = null;
    let copied: NDArray | null = null;
    for (const [xb, yb] of loader) {
      if (kept === null) {
        kept = nd.keep(xb);
        copied = yb.copy();
      }
    }
    expect(kept!.toArray()).toEqual([[0, 0.5], [1, 1.5], [2, 2.5]]);
    expect(copied!.toArray()).toEqual([0, 1, 2]);
    expect(liveArrays()).toBe(n0 + 2);
    kept!.dispose();
    copied!.dispose();
    x.dispose();
    ds.dispose();
  });

  test('for await: the same batches, freed the same way, yielding to the event loop', async () => {
    const { x, ds } = small();
    const loader = new DataLoader(ds, { batchSize: 4 });
    const n0 = (await settledLiveMemory()).numArrays;
    const out: number[][] = [];
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    for await (const [xb] of loader) {
      out.push(ids(xb));
      await new Promise((r) => setTimeout(r, 2));
    }
    clearInterval(timer);
    expect(out).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(ticks).toBeGreaterThan(0);
    expect(liveArrays()).toBe(n0);
    for await (const _ of loader) break;
    expect(liveArrays()).toBe(n0);
    await expect(
      (async () => {
        for await (const _ of loader) throw new Error('async boom');
      })(),
    ).rejects.toThrow('async boom');
    expect(liveArrays()).toBe(n0);
    x.dispose();
    ds.dispose();
  });

  test('ArrayDataset batches are gathered natively (no at(i)); a built-in transformFirst runs once per batch', () => {
    const img = nd.array(Uint8Array.from({ length: 6 * 2 * 2 * 3 }, (_, k) => (k * 37) % 256)).reshape([6, 2, 2, 3]);
    const base = new ArrayDataset(img, new Int32Array([5, 4, 3, 2, 1, 0]));
    const atSpy = jest.spyOn(base, 'at');
    const toTensor = new gluon.data.vision.transforms.ToTensor();
    const fwd = jest.spyOn(toTensor, 'forward');
    const batched: number[][] = [];
    for (const [xb, yb] of new DataLoader(base.transformFirst(toTensor), { batchSize: 4 })) {
      expect(xb.shape).toEqual([yb.shape[0], 3, 2, 2]);
      batched.push((xb.toArray() as number[][][][]).flat(3));
    }
    expect(atSpy).not.toHaveBeenCalled();
    expect(fwd).toHaveBeenCalledTimes(2); // once per batch
    // the same values through the per-sample path (a plain function is not batchable)
    const perSample: number[][] = [];
    for (const [xb] of new DataLoader(base.transformFirst((x: NDArray) => toTensor.forward(x)), { batchSize: 4 }))
      perSample.push((xb.toArray() as number[][][][]).flat(3));
    expect(atSpy).toHaveBeenCalledTimes(6);
    expect(perSample).toEqual(batched);
    img.dispose();
    base.dispose();
  });

  test('a slice of an ArrayDataset (and a transform of the slice) is still gathered natively, at the right offset', () => {
    const { x, y } = small(10);
    const x4 = x.reshape([10, 2, 1, 1]); // [C, H, W] samples of 2 channels, for Normalize
    const ds = new ArrayDataset(x4, y);
    const atSpy = jest.spyOn(ds, 'at');
    const sl = ds.slice(3, 8);
    const firsts: number[][] = [];
    for (const [xb] of new DataLoader(sl, { batchSize: 2 })) firsts.push((xb.reshape([-1, 2]).toArray() as number[][]).map((r) => r[0]));
    expect(firsts).toEqual([[3, 4], [5, 6], [7]]);
    const scaled = sl.transformFirst(new gluon.data.vision.transforms.Normalize([1, 0], [2, 1]));
    const got: number[][] = [];
    for (const [xb, yb] of new DataLoader(scaled.slice(1), { batchSize: 4 })) got.push(xb.reshape([-1]).toArray() as number[], yb.toArray() as number[]);
    // samples 4..7 of [i, i + 0.5]: channel 0 becomes (i - 1) / 2, channel 1 stays
    expect(got).toEqual([[1.5, 4.5, 2, 5.5, 2.5, 6.5, 3, 7.5], [1, 2, 0, 1]]);
    expect(atSpy).not.toHaveBeenCalled();
    nd.dispose([x, x4]);
    ds.dispose();
  });

  test('an epoch over Fashion-MNIST-sized data (60000x28x28 uint8) leaves nd.memory().numArrays where it started', () => {
    const images = new Uint8Array(60000 * 28 * 28);
    for (let i = 0; i < images.length; i++) images[i] = (i * 2654435761) >>> 24;
    const labels = Int32Array.from({ length: 60000 }, (_, i) => i % 10);
    const x = nd.array(images).reshape([60000, 28, 28, 1]);
    const base = new ArrayDataset(x, labels);
    const ds = base.transformFirst(new gluon.data.vision.transforms.ToTensor());
    const loader = new DataLoader(ds, { batchSize: 256, shuffle: true, seed: 1 });
    const start = nd.memory().numArrays;
    let samples = 0;
    let labelSum = 0;
    for (const [xb, yb] of loader) {
      expect(xb.dtype).toBe('float32');
      samples += xb.shape[0];
      const sum = yb.sum(); // the test's own temporary, freed here
      labelSum += sum.item();
      sum.dispose();
    }
    expect(samples).toBe(60000);
    expect(labelSum).toBe(6000 * 45);
    expect(nd.memory().numArrays).toBe(start);
    x.dispose();
    base.dispose();
  });
});
