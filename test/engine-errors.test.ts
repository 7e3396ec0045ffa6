// Errors found while computing (ENGINE.md): an index out of range in take, pick, oneHot or Embedding
// is kept with what the op writes (threaded engine) or thrown at the call (naive engine); it travels
// downstream, every read of an affected array throws it, waitAll and ready throw each pending error
// once, and an `out=` target keeps its values. Tests read inside their assertions, so they hold in
// both engines; a few rules belong to one engine only and say so.
import { gluon, nd, NDArray } from '../lib';
import { errorOf, expectOutKept, threadedEngine } from './helpers';

// Keeps the threaded engine busy, so the next calls are queued instead of run at the call.
function busy(): void {
  nd.tidy(() => nd.dot(nd.ones([384, 384]), nd.ones([384, 384])));
}

const x = () => nd.array([[1, 2], [3, 4], [5, 6]]);
const FAILING: [string, (big: number) => NDArray][] = [
  ['take', (i) => nd.take(x(), nd.array([0, i]))],
  ['pick', (i) => nd.pick(x(), nd.array([0, i, 1]))],
  ['one_hot', (i) => nd.oneHot(nd.array([1, i]), 3)],
  ['Embedding', (i) => nd.Embedding(nd.array([i, 0]), x(), { inputDim: 3, outputDim: 2 })],
];

// Issues a call that fails while computing: in the threaded engine it returns its result, which
// carries the error; in the naive engine it throws OUT_OF_RANGE at the call (then: null).
function failing(make: () => NDArray): NDArray | null {
  if (threadedEngine()) return make();
  expect(errorOf(make).code).toBe('OUT_OF_RANGE');
  return null;
}

beforeEach(() => {
  // each test starts with nothing pending (an earlier failure must not leak into its waits)
  for (let i = 0; i < 100; i++) {
    try {
      nd.waitAll();
      return;
    } catch {
      // an error left pending by a failed assertion: drop it
    }
  }
});

describe.each([
  ['run at the call (idle engine)', false],
  ['queued', true],
])('an index out of range, %s', (_mode, queued) => {
  test.each(FAILING)('%s: reading the result throws OUT_OF_RANGE naming the op', (op, make) => {
    nd.tidy(() => {
      if (queued) busy();
      const e = errorOf(() => make(7).toArray());
      expect(e.code).toBe('OUT_OF_RANGE');
      expect(e.message).toContain(`${op}: index 7`);
      // the same op with indices in range computes
      expect(make(1).toArray()).toBeDefined();
    });
  });

  test('an op on a failed result fails with the same error; a later unaffected array reads fine', () => {
    nd.tidy(() => {
      if (queued) busy();
      const bad = failing(() => nd.take(x(), nd.array([9])));
      const ok = x().mul(10);
      if (bad === null) return expect(ok.toArray()).toEqual([[10, 20], [30, 40], [50, 60]]);
      const down = bad.add(1).sum().reshape([1]);
      const mixed = nd.concat([down, ok.reshape([6])], { dim: 0 });
      const first = errorOf(() => bad.toArray());
      for (const a of [down, mixed]) {
        const e = errorOf(() => a.toTypedArray());
        expect([e.code, e.message]).toEqual([first.code, first.message]);
      }
      expect(ok.toArray()).toEqual([[10, 20], [30, 40], [50, 60]]);
    });
  });

  test('every read and wait of an affected array throws, each time (toArray, item, waitToRead, data, ready)', async () => {
    if (queued) busy();
    const bad = failing(() => nd.oneHot(nd.array([5]), 3));
    if (bad === null) return;
    const sum = bad.sum();
    for (const read of [() => bad.toArray(), () => sum.item(), () => bad.waitToRead(), () => bad.toString()])
      expect(errorOf(read).code).toBe('OUT_OF_RANGE');
    await expect(bad.data()).rejects.toMatchObject({ code: 'OUT_OF_RANGE' });
    await expect(sum.array()).rejects.toMatchObject({ code: 'OUT_OF_RANGE' });
    await expect(nd.ready(sum)).rejects.toMatchObject({ code: 'OUT_OF_RANGE' });
    nd.dispose([bad, sum]);
  });
});

describe('waits of the whole queue', () => {
  test('waitAll throws each pending error once, oldest first, then returns', () => {
    busy();
    const a = failing(() => nd.take(x(), nd.array([3])));
    const b = failing(() => nd.pick(x(), nd.array([0, 0, 2])));
    if (a === null || b === null) return expect(nd.waitAll()).toBeUndefined(); // naive: thrown at the calls
    expect(errorOf(() => nd.waitAll()).message).toContain('take: index 3');
    expect(errorOf(() => nd.waitAll()).message).toContain('pick');
    expect(nd.waitAll()).toBeUndefined();
    // the arrays still carry their errors
    expect(errorOf(() => a.toArray()).code).toBe('OUT_OF_RANGE');
    nd.dispose([a, b]);
  });

  test('ready() rejects with each pending error once, then resolves', async () => {
    busy();
    const a = failing(() => nd.oneHot(nd.array([4]), 3));
    const b = failing(() => nd.take(x(), nd.array([5])));
    if (a === null || b === null) return expect(nd.ready()).resolves.toBeUndefined();
    await expect(nd.ready()).rejects.toMatchObject({ code: 'OUT_OF_RANGE', message: expect.stringContaining('one_hot') });
    await expect(nd.ready()).rejects.toMatchObject({ message: expect.stringContaining('take: index 5') });
    await expect(nd.ready()).resolves.toBeUndefined();
    nd.dispose([a, b]);
  });

  test('an error already thrown by a read is not thrown again by waitAll or ready()', async () => {
    const a = failing(() => nd.take(x(), nd.array([8])));
    if (a === null) return;
    expect(errorOf(() => a.toArray()).code).toBe('OUT_OF_RANGE');
    expect(nd.waitAll()).toBeUndefined();
    await expect(nd.ready()).resolves.toBeUndefined();
    a.dispose();
  });

  test('the error of a failed result disposed unread is still thrown once by waitAll', () => {
    const a = failing(() => nd.take(x(), nd.array([8])));
    if (a === null) return;
    a.dispose();
    expect(errorOf(() => nd.waitAll()).code).toBe('OUT_OF_RANGE');
    expect(nd.waitAll()).toBeUndefined();
  });
});

describe('targets of a failed op', () => {
  test.each([
    ['run at the call', false],
    ['queued', true],
  ])('an out= target keeps its values (naive) or carries the error (threaded), and is good again after a successful write (%s)', (_m, queued) => {
    const out = nd.array([7, 7]);
    const data = nd.array([1, 2, 3]);
    if (queued) busy();
    const call = () => nd.take(data, nd.array([0, 3]), { out });
    if (threadedEngine()) call();
    else expect(errorOf(call).code).toBe('OUT_OF_RANGE');
    expectOutKept(out, 'OUT_OF_RANGE', () => expect(out.toArray()).toEqual([7, 7]));
    // an op reading the target inherits the error (threaded) or sees the kept values (naive)
    const plus = out.add(1);
    if (threadedEngine()) expect(errorOf(() => plus.toArray()).code).toBe('OUT_OF_RANGE');
    else expect(plus.toArray()).toEqual([8, 8]);
    nd.take(data, nd.array([2, 1]), { out });
    expect(out.toArray()).toEqual([3, 2]);
    expect(out.add(1).toArray()).toEqual([4, 3]);
    nd.dispose([out, data, plus]);
  });

  test('an in-place update from a failed array carries its error (threaded) and a set() makes the target good again', () => {
    const target = nd.array([1, 1, 1]);
    const bad = failing(() => nd.oneHot(nd.array([3]), 3).reshape([3]));
    if (bad === null) return target.dispose();
    target.iadd(bad);
    expect(errorOf(() => target.toArray()).code).toBe('OUT_OF_RANGE');
    target.set(nd.array([4, 5, 6]));
    expect(target.toArray()).toEqual([4, 5, 6]);
    nd.dispose([target, bad]);
  });
});

test('gluon.nn.Embedding: an index past inputDim fails at the read inside the assertion, then good indices work', () => {
  const net = new gluon.nn.Embedding(4, 3);
  net.initialize();
  nd.tidy(() => {
    busy();
    expect(errorOf(() => net.forward(nd.array([1, 4])).toArray()).message).toContain('Embedding: index 4');
    expect((net.forward(nd.array([1, 3])) as NDArray).shape).toEqual([2, 3]);
  });
  try {
    nd.waitAll();
  } catch {
    // the naive engine threw at the call, the threaded one at the read: nothing is left either way
  }
  expect(nd.waitAll()).toBeUndefined();
});

test('the failing call returns at once in the threaded engine and throws at the call in the naive one', () => {
  busy();
  const call = () => nd.take(x(), nd.array([10]));
  const r = failing(call);
  if (r === null) return;
  expect(r.shape).toEqual([1, 2]);
  expect(errorOf(() => r.toArray()).code).toBe('OUT_OF_RANGE');
  r.dispose();
});
