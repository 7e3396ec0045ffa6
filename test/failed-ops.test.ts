// What a failed call leaves behind: its `out` array unchanged, the graph intact, and the process
// alive whatever garbage reaches the binding. (Which code each misuse throws: errors.test.ts.)
import { autograd, nd, NDArray } from '../lib';
import { errorOf, expectError } from './helpers';

describe('a failed op leaves its out array unchanged', () => {
  const snapshot = (a: NDArray) => ({ shape: a.shape.slice(), dtype: a.dtype, data: Array.from(a.toTypedArray()) });

  test.each([
    ['operand shapes', (out: NDArray) => nd.add(nd.ones([2, 3]), nd.ones([3, 3]), { out })],
    ['out shape', (out: NDArray) => nd.add(nd.ones([3, 3]), nd.ones([3, 3]), { out })],
    ['broadcast shape bigger than out', (out: NDArray) => nd.add(nd.ones([2, 3]), nd.ones([4, 2, 3]), { out })],
    ['operand dtypes', (out: NDArray) => nd.add(nd.ones([2, 3]), nd.ones([2, 3], { dtype: 'int32' }), { out })],
    ['out dtype', (out: NDArray) => nd.add(nd.ones([2, 3], { dtype: 'float64' }), 1, { out })],
    ['unary out dtype', (out: NDArray) => nd.exp(nd.ones([2, 3], { dtype: 'float64' }), { out })],
    ['bad axis', (out: NDArray) => nd.sum(nd.ones([2, 3, 4]), { axis: 3, out })],
    ['reduction shape', (out: NDArray) => nd.sum(nd.ones([2, 3, 4]), { axis: 0, out })],
    ['dot shapes', (out: NDArray) => nd.dot(nd.ones([2, 4]), nd.ones([3, 3]), { out })],
    ['disposed input', (out: NDArray) => {
      const x = nd.ones([2, 3]);
      x.dispose();
      return nd.add(x, 1, { out });
    }],
    ['wrong type', (out: NDArray) => nd.add('x' as any, 1, { out })],
    ['set with a bad shape', (out: NDArray) => out.set(nd.ones([4]))],
    ['set with a bad dtype', (out: NDArray) => out.set(nd.ones([2, 3], { dtype: 'int32' }))],
    ['iadd with a broadcast result', (out: NDArray) => out.iadd(nd.ones([5, 2, 3]))],
    ['idiv with another dtype', (out: NDArray) => out.idiv(nd.ones([2, 3], { dtype: 'float64' }))],
    ['transpose into out', (out: NDArray) => nd.transpose(nd.ones([2, 3]), undefined, { out })],
  ])('%s', (_name, f) => {
    const out = nd.arange(6).reshape(2, 3);
    const before = snapshot(out);
    errorOf(() => f(out));
    expect(snapshot(out)).toEqual(before);
  });

  test('in-graph failure under record leaves out and the graph intact', () => {
    const x = nd.array([1, 2, 3]);
    x.attachGrad();
    let y!: NDArray;
    autograd.record(() => {
      y = x.mul(x);
      const before = snapshot(y);
      expectError(() => nd.add(x, 100, { out: y }), 'INPLACE_IN_GRAPH');
      expectError(() => y.imul(0), 'INPLACE_IN_GRAPH');
      expectError(() => x.set(5), 'INPLACE_IN_GRAPH');
      expect(snapshot(y)).toEqual(before);
    });
    expect(x.toArray()).toEqual([1, 2, 3]);
    y.backward();
    expect(x.grad!.toArray()).toEqual([2, 4, 6]);
  });

  test('a successful op with out writes in place and returns out', () => {
    const out = nd.zeros([2, 3]);
    const r = nd.add(nd.ones([2, 3]), 1, { out });
    expect(r).toBe(out);
    expect(out.toArray()).toEqual([[2, 2, 2], [2, 2, 2]]);
    // out may alias an input
    nd.multiply(out, out, { out });
    expect(out.toArray()).toEqual([[4, 4, 4], [4, 4, 4]]);
  });
});

describe('misuse never crashes the process', () => {
  test('the raw binding rejects garbage with errors, not crashes', () => {
    const n = nd._native as any;
    const calls: (() => unknown)[] = [
      () => n.opN(9999, [], null, -1),
      () => n.opN(),
      () => n.opN('x', 'y', 'z', 'w'),
      () => n.op1(0, 'x'),
      () => n.op2(0, -5, 2 ** 30),
      () => n.opScalar(0, {}, 'a', 1),
      () => n.fromTyped({}, [1], 0),
      () => n.fromTyped(new Float32Array(2), [5], 0),
      () => n.fromTyped(new Float32Array(2), [2], 9),
      () => n.fromTyped(new Float32Array(2), 'ab', 0),
      () => n.toTyped('x'),
      () => n.toTyped(2 ** 31 - 1),
      () => n.item(-1),
      () => n.release('x'),
      () => n.releaseList([1, 2], 2),
      () => n.releaseList(new Int32Array(1), 5),
      () => n.meta(123456),
      () => n.seed('a'),
      () => n.markVariables(1, 2, 3),
      () => n.backward(1, 2, 3, 4),
      () => n.grad(),
      () => n.customRecord(1, 2, 3),
      () => n.freshGrad('a'),
      () => n.detach(-1),
      () => n.dropGrad(77777),
      () => n.symbol(-1, 'zz'),
    ];
    for (const c of calls) expect(c).toThrow();
    // still alive and computing
    expect(nd.add(nd.ones([2]), 1).toArray()).toEqual([2, 2]);
  });

  test('a list argument claiming 2 ** 32 - 1 entries is BAD_ARGUMENT, refused before it is walked', () => {
    const huge = <T>(first: T): T[] => {
      const l = [first];
      l.length = 2 ** 32 - 1; // sparse: walking it would take minutes
      return l;
    };
    const x = nd.ones([2, 3]);
    x.attachGrad();
    const y = autograd.record(() => x.sum());
    expectError(() => nd.zeros(huge(1)), 'BAD_ARGUMENT', 'full', '4294967295 entries');
    expectError(() => nd.random.uniform(0, 1, huge(1)), 'BAD_ARGUMENT', 'random.uniform');
    expectError(() => x.reshape(huge(6)), 'BAD_ARGUMENT', 'reshape', "'shape'");
    expectError(() => nd.slice(x, huge(0), [1]), 'BAD_ARGUMENT', 'slice', 'begin');
    expectError(() => nd.concat(huge(x)), 'BAD_ARGUMENT', 'concat');
    expectError(() => autograd.backward(huge(y)), 'BAD_ARGUMENT', 'autograd');
    expectError(() => autograd.markVariables(huge(x), huge(x.grad!)), 'BAD_ARGUMENT', 'autograd');
    // a Proxy claiming that length reads as the same
    const lying = new Proxy([1], { get: (t, k) => (k === 'length' ? 2 ** 32 - 1 : Reflect.get(t, k)) });
    expectError(() => nd.ones(lying), 'BAD_ARGUMENT', 'full');
  });

  test('slice bounds of a type JSON cannot print (BigInt) are BAD_ARGUMENT', () => {
    expectError(() => nd.slice(nd.ones([3]), [1n as any], [2]), 'BAD_ARGUMENT', 'slice', 'bigint');
  });

  test('what user code throws inside an ndgrad call (a getter, Function.backward) reaches the caller unchanged', () => {
    const x = nd.ones([2]);
    x.attachGrad();
    for (const thrown of [new RangeError('mine'), 'a string', 42, undefined]) {
      class Fails extends autograd.Function {
        forward(a: NDArray): NDArray {
          return a.mul(2);
        }
        backward(): NDArray {
          throw thrown;
        }
      }
      const y = autograd.record(() => new Fails().apply(x).sum());
      let caught: unknown = 'nothing';
      try {
        y.backward();
      } catch (e) {
        caught = e;
      }
      expect(caught).toBe(thrown);
      const shape = [2];
      Object.defineProperty(shape, 0, {
        get() {
          throw thrown;
        },
      });
      caught = 'nothing';
      try {
        x.reshape(shape); // read by native code
      } catch (e) {
        caught = e;
      }
      expect(caught).toBe(thrown);
    }
  });

  test('a release of a stale handle does not free a newer array', () => {
    const a = nd.ones([2]);
    const h = a._h;
    a.dispose();
    const b = nd.full([2], 5);
    nd._native.release(h); // stale: the slot may have been reused by b
    expect(b.toArray()).toEqual([5, 5]);
  });
});
