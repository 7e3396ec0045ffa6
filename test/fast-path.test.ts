// The elementwise fast path (ops::invoke without infer and the call record, for arrays of one shape
// and dtype) gives what the generic path gives: the same values bit for bit, dtype and shape, errors,
// recording and engine behaviour. The generic path is reached by the same call with `out` (which the
// fast path never takes), by broadcasting, or by recording.
import { autograd, nd, NDArray } from '../lib';
import { binaryOp, unaryOp } from '../lib/dispatch';
import { errorOf, threadedEngine } from './helpers';

const table = nd._opTable();
const BINARY = table.filter((o) => o.kind === 'binary').map((o) => o.name);
const UNARY = table.filter((o) => o.kind === 'unary' && o.name !== 'zeros_like' && o.name !== 'copy').map((o) => o.name);
const DTYPES = ['float32', 'float64', 'int32', 'uint8'] as const;
// Sizes around the SIMD widths (tails), a 0-d array, empty arrays.
const SHAPES: number[][] = [[], [1], [7], [2, 3], [33], [0], [2, 0]];

function values(shape: number[], dtype: string, seed: number): NDArray {
  const n = shape.reduce((a, b) => a * b, 1);
  const int = dtype === 'int32' || dtype === 'uint8';
  const v = Array.from({ length: n }, (_, i) => {
    const t = Math.sin(seed * 13.7 + i * 2.3);
    return int ? 1 + Math.floor(Math.abs(t) * 5) : t * 3;
  });
  if (n === 0) return nd.zeros(shape, { dtype: dtype as any }); // (reshape reads a 0 as "keep this dim")
  return nd.array(v, { dtype: dtype as any }).reshape(shape);
}

/** The same elements bit for bit (NaNs of either sign compare equal, as the kernels may differ there only in payload). */
function expectSame(fast: NDArray, generic: NDArray): void {
  expect(fast.dtype).toBe(generic.dtype);
  expect(fast.shape).toEqual(generic.shape);
  const f = Array.from(fast.toTypedArray() as ArrayLike<number>), g = Array.from(generic.toTypedArray() as ArrayLike<number>);
  expect(f.map((x, i) => Object.is(x, g[i]) || (Number.isNaN(x) && Number.isNaN(g[i])))).toEqual(f.map(() => true));
}

/** The call's result (or its error) on the fast path and through `out` (the generic path). */
function bothPaths(call: (opts?: { out: NDArray }) => NDArray): [NDArray | Error, NDArray | Error] {
  let fast: NDArray | Error, generic: NDArray | Error;
  try {
    fast = call();
    fast.waitToRead();
  } catch (e) {
    fast = e as Error;
  }
  try {
    const probe = fast instanceof NDArray ? fast : call({ out: nd.zeros([1]) });
    generic = call({ out: nd.zeros(probe.shape, { dtype: probe.dtype }) });
    generic.waitToRead();
  } catch (e) {
    generic = e as Error;
  }
  return [fast, generic];
}

function expectSamePaths(call: (opts?: { out: NDArray }) => NDArray): void {
  nd.tidy(() => {
    const [fast, generic] = bothPaths(call);
    if (fast instanceof Error) {
      expect(generic).toBeInstanceOf(Error);
      expect((fast as any).code).toBe((generic as any).code);
      return;
    }
    expect(generic).toBeInstanceOf(NDArray);
    expectSame(fast, generic as NDArray);
  });
}

describe.each(DTYPES)('%s arrays of one shape', (dtype) => {
  test.each(BINARY)('%s: the fast path gives the generic path\'s result', (name) => {
    for (const shape of SHAPES)
      nd.tidy(() => {
        const a = values(shape, dtype, 1), b = values(shape, dtype, 2);
        expectSamePaths((o) => binaryOp(name, a, b, o));
      });
  });
  test.each(BINARY)('%s with a number operand, on either side: the fast path gives the generic path\'s result', (name) => {
    for (const shape of SHAPES)
      nd.tidy(() => {
        const a = values(shape, dtype, 4);
        for (const v of [2.5, 3, -1.75, 0]) {
          expectSamePaths((o) => binaryOp(name, a, v, o));
          expectSamePaths((o) => binaryOp(name, v, a, o));
        }
      });
  });
  test.each(UNARY)('%s: the fast path gives the generic path\'s result', (name) => {
    for (const shape of SHAPES)
      nd.tidy(() => {
        const x = values(shape, dtype, 3);
        expectSamePaths((o) => unaryOp(name, x, o));
      });
  });
});

describe('the boundary of the fast path', () => {
  test('same shape and broadcast shapes give the same values', () => {
    nd.tidy(() => {
      const a = values([3, 1], 'float32', 4), b = values([1, 4], 'float32', 5);
      const ta = nd.tile(a, [1, 4]), tb = nd.tile(b, [3, 1]);
      for (const name of ['add', 'subtract', 'multiply', 'divide', 'maximum', 'power', 'greater'])
        expectSame(binaryOp(name, ta, tb), binaryOp(name, a, b));
    });
  });

  test('views at an offset into their storage read their own elements', () => {
    nd.tidy(() => {
      const m = values([4, 5], 'float32', 6), n = values([4, 5], 'float32', 7);
      for (let i = 0; i < 4; i++) {
        const fast = nd.multiply(m.at(i), n.at(3 - i));
        const copies = nd.multiply(m.at(i).copy(), n.at(3 - i).copy(), { out: nd.zeros([5]) });
        expectSame(fast, copies);
      }
    });
  });

  test('mixed dtypes of one shape are refused as before (DTYPE_MISMATCH naming both)', () => {
    nd.tidy(() => {
      const e = errorOf(() => nd.add(nd.ones([3]), nd.ones([3], { dtype: 'float64' })));
      expect(e.code).toBe('DTYPE_MISMATCH');
      expect(e.message).toBe('add: operands have different dtypes float32 (3) and float64 (3) (convert one with astype)');
    });
  });

  test('integer operands of a float-valued op give float32, as the generic path does', () => {
    nd.tidy(() => {
      const a = values([5], 'int32', 8), b = values([5], 'int32', 9);
      const r = nd.divide(a, b);
      expect(r.dtype).toBe('float32');
      expectSame(r, nd.divide(a.astype('float32'), b.astype('float32')));
      expect(nd.sqrt(a).dtype).toBe('float32');
    });
  });

  test('bfloat16 arrays are computed in float32 and rounded once, as the generic path does', () => {
    nd.tidy(() => {
      const a = values([9], 'float32', 10).astype('bfloat16'), b = values([9], 'float32', 11).astype('bfloat16');
      for (const name of ['add', 'multiply', 'divide']) {
        const r = binaryOp(name, a, b);
        expect(r.dtype).toBe('bfloat16');
        expectSame(r, binaryOp(name, a.astype('float32'), b.astype('float32')).astype('bfloat16'));
      }
    });
  });

  test('a number operand is converted to the array\'s dtype, as the generic path does', () => {
    nd.tidy(() => {
      expect(nd.add(nd.array([1, 2], { dtype: 'int32' }), 2.75).toArray()).toEqual([3, 4]);
      expect(nd.multiply(nd.array([1, 2], { dtype: 'uint8' }), 300).dtype).toBe('uint8');
      expect(nd.divide(nd.array([1, 2], { dtype: 'int32' }), 2).toArray()).toEqual([0.5, 1]);
    });
  });

  test('while recording, a call on variables is recorded (generic path), one on constants is not', () => {
    nd.tidy(() => {
      const x = values([4], 'float32', 12), c = values([4], 'float32', 13);
      x.attachGrad();
      const y = autograd.record(() => {
        const k = nd.multiply(c, c); // constants: not in the graph
        expect(nd._native.inGraph(k._h)).toBe(false);
        expectSame(k, nd.multiply(c, c, { out: nd.zeros([4]) }));
        return nd.multiply(x, k).mul(2).sum();
      });
      y.backward();
      expectSame(x.grad!, nd.multiply(c, c).mul(2));
    });
  });

  test('a queued call keeps its inputs alive and carries an error of its input (threaded engine)', () => {
    nd.tidy(() => {
      const keepBusy = () => nd.tidy(() => nd.dot(nd.ones([384, 384]), nd.ones([384, 384])));
      keepBusy();
      const a = values([6], 'float32', 14), b = values([6], 'float32', 15);
      const expected = nd.add(a, b, { out: nd.zeros([6]) }).toArray();
      keepBusy();
      const r = nd.add(a, b);
      a.dispose();
      b.dispose();
      expect(r.toArray()).toEqual(expected);
      if (!threadedEngine()) return;
      keepBusy();
      const bad = nd.take(nd.array([1, 2, 3]), nd.array([0, 1, 7, 2, 0, 1])); // fails while computing
      const downstream = nd.add(bad, bad);
      const e = errorOf(() => downstream.toArray());
      expect(e.code).toBe('OUT_OF_RANGE');
      expect(e.message).toContain('take: index 7');
    });
  });
});
