// Gradient checks (autograd.checkGradient, float64) and behaviour tests for the ops whose values are
// compared with PyTorch in test/fixtures/coverage.json: rounding and comparisons (zero gradient,
// graph kept connected), where, argmax/argmin, the view-like shape ops, at, split, FullyConnected,
// Dropout (predict and train mode, statistics), and the in-place forms.
import { nd, autograd, NDArray, NDArrayError } from '../lib';
import { check, checkSecondOrder, code } from './helpers';
import { binaryRows, jsName, unaryRows } from './op-defs';

const rnd = (shape: number[]) => nd.random.uniform(-1, 1, shape);
const f64 = (shape: number[]) => nd.random.uniform(-1, 1, shape).astype('float64');
const zerosOf = (x: NDArray) => new Array(x.size).fill(0);
// fixed weights 1..n, so every output element gets a distinct head gradient
const W = (shape: number[]) => nd.arange(1, 1 + shape.reduce((a, b) => a * b, 1)).reshape(shape).astype('float64');

// Every test body runs in nd.tidy, with nd.memory() read just before and just after it. The counts
// are process-wide, but the GC backstop (a FinalizationRegistry) only runs between tasks, never
// inside a synchronous body, so arrays that earlier files left to it cannot move these two
// readings: the difference is exactly what the body leaked. The last test asserts it is zero.
const leaks: string[] = [];
let measured = 0;
const tt = (name: string, fn: () => void) =>
  test(name, () => {
    const m0 = nd.memory();
    nd.tidy(fn);
    const m1 = nd.memory();
    measured++;
    if (m1.numArrays !== m0.numArrays || m1.numBytes !== m0.numBytes)
      leaks.push(`${name}: ${m1.numArrays - m0.numArrays} array(s), ${m1.numBytes - m0.numBytes} byte(s)`);
  });

beforeAll(() => {
  nd.random.seed(11);
});

// The rows whose gradients were compared with PyTorch only: checkGradient (float64) for each, and a
// numerical check of the createGraph gradient for the unary ops.
// Every differentiable row of native/src/defs/*.def gets these, in its `grad_lo, grad_hi` range.
describe('checkGradient on the elementwise and reduction ops', () => {
  const U = (lo: number, hi: number) => (shape: number[]) => nd.random.uniform(lo, hi, shape).astype('float64');
  const any = U(-1, 1);
  const n = nd as any;
  for (const row of unaryRows().filter((r) => r.differentiable)) {
    const gen = U(row.gradRange[0], row.gradRange[1]);
    tt(`${row.name}: gradient and second order`, () => {
      check((a) => n[jsName(row)](a).mul(W([2, 3])), [gen([2, 3])]);
      checkSecondOrder((a) => n[jsName(row)](a), gen([5]));
    });
  }
  for (const row of binaryRows().filter((r) => r.differentiable)) {
    const op = jsName(row);
    const [alo, ahi, blo, bhi] = row.gradRange;
    const lhs = U(alo, ahi), rhs = U(blo, bhi);
    const both = U(Math.max(alo, blo), Math.min(ahi, bhi));  // valid on either side of a number
    tt(`${row.name}: gradient with broadcasting and number operands`, () => {
      check((a, b) => n[op](a, b).mul(W([2, 3])), [lhs([2, 1]), rhs([3])]);
      check((a) => n[op](a, 0.7).add(n[op](1.3, a)).mul(W([3])), [both([3])]);
      checkSecondOrder((a) => n[op](a, a.mul(0.5).add(1)), lhs([4]));
    });
  }
  const REDUCE: [string, { axis?: number | number[]; keepdims?: boolean }][] = [
    ['sum', { axis: 1 }], ['mean', { axis: [0, 2], keepdims: true }], ['prod', {}], ['prod', { axis: -1 }],
    ['max', { axis: 0 }], ['min', {}], ['norm', { axis: 1, keepdims: true }], ['norm', {}],
  ];
  for (const [op, o] of REDUCE)
    tt(`${op} ${JSON.stringify(o)}: gradient`, () => {
      check((a) => n[op](a, o).mul(3), [any([2, 3, 2])]);
      checkSecondOrder((a) => n[op](a, o), any([2, 3, 2]));
    });
});

describe('rounding ops (nd): zero gradient, graph stays connected', () => {
  const OPS = unaryRows().filter((r) => !r.differentiable).map((r) => jsName(r) as 'sign');
  // points away from the jumps, so central differences see the piecewise-constant derivative
  const pts = () => nd.array([[0.3, 1.7, -0.6], [-2.2, 2.6, -1.4]]);
  for (const op of OPS) {
    tt(op, () => {
      nd.tidy(() => {
        // d/dx [op(x) * x] = op(x) + 0
        check((a) => nd[op](a).mul(a), [pts()]);
        const x = pts().astype('float64');
        x.attachGrad();
        autograd.record(() => nd[op](x).mul(f64([2, 3]))).backward();
        expect(Array.from(x.grad!.toTypedArray())).toEqual(zerosOf(x));
        // createGraph: the zero gradient is still tied to x, so the next order gives zeros, not an error
        const g = autograd.record(() => autograd.grad(nd[op](x).sum(), x, null, { createGraph: true })[0]);
        expect(Array.from(g.toTypedArray())).toEqual(zerosOf(x));
        autograd.record(() => g.mul(3).sum()).backward();
        expect(Array.from(x.grad!.toTypedArray())).toEqual(zerosOf(x));
        // integer arrays: values kept, no gradient machinery involved
        expect(nd[op](nd.array([-2, 0, 3], { dtype: 'int32' })).dtype).toBe('int32');
      });
    });
  }
});

describe('comparisons (nd)', () => {
  const OPS = binaryRows().filter((r) => !r.differentiable).map((r) => jsName(r) as 'equal');
  for (const op of OPS) {
    tt(op, () => {
      nd.tidy(() => {
        const a = nd.array([[0.5, -1, 2]]).astype('float64');
        const b = nd.array([[0.5], [1.5]]).astype('float64');
        // broadcasting (1,3) x (2,1) -> (2,3), 0/1 in the inputs' dtype
        const y = nd[op](a, b);
        expect(y.shape).toEqual([2, 3]);
        expect(y.dtype).toBe('float64');
        expect(nd[op](nd.array([1, 2], { dtype: 'int32' }), 1).dtype).toBe('int32');
        // d/dx [cmp(x, y) * x] = cmp(x, y), both operands and a number operand
        check((p, q) => nd[op](p, q).mul(p).add(nd[op](q, p).mul(q)), [rnd([2, 3]), rnd([3])]);
        check((p) => nd[op](0.1, p).mul(p).add(nd[op](p, 0.2).mul(p)), [rnd([4])]);
        a.attachGrad();
        b.attachGrad();
        autograd.record(() => nd[op](a, b)).backward();
        expect(Array.from(a.grad!.toTypedArray())).toEqual([0, 0, 0]);
        expect(Array.from(b.grad!.toTypedArray())).toEqual([0, 0]);
        const g = autograd.record(() => autograd.grad(nd[op](a, b).sum(), [a, b], null, { createGraph: true }));
        autograd.record(() => g[0].sum().add(g[1].sum())).backward();
        expect(Array.from(a.grad!.toTypedArray())).toEqual([0, 0, 0]);
      });
    });
  }
  tt('errors', () => {
    expect(code(() => nd.greater(nd.ones([2, 3]), nd.ones([4])))).toMatch(/^SHAPE_MISMATCH: .*\(2,3\).*\(4\)/);
    expect(code(() => nd.equal(nd.ones([2]), nd.ones([2], { dtype: 'float64' })))).toMatch(/^DTYPE_MISMATCH/);
  });
});

describe('where', () => {
  tt('gradient for x and y (broadcasting), none for cond', () => {
    nd.tidy(() => {
      const cond = nd.array([[1, 0, 1], [0, 0, 1]], { dtype: 'int32' });  // integer: not perturbed
      check((c, x, y) => nd.where(c, x, y).mul(nd.arange(1, 7).reshape([2, 3]).astype('float64')), [cond, rnd([2, 3]), rnd([3])]);
      check((c, x, y) => nd.where(c, x, y).square(), [nd.array([[1], [0]], { dtype: 'uint8' }), rnd([1, 3]), rnd([2, 1])]);
      const c = nd.array([1, 0, 1]);
      const x = nd.array([1, 2, 3]);
      const y = nd.array([4, 5, 6]);
      for (const v of [c, x, y]) v.attachGrad();
      autograd.record(() => nd.where(c, x, y).mul(nd.array([10, 20, 30]))).backward();
      expect(c.grad!.toArray()).toEqual([0, 0, 0]);
      expect(x.grad!.toArray()).toEqual([10, 0, 30]);
      expect(y.grad!.toArray()).toEqual([0, 20, 0]);
    });
  });
  tt('second order', () => {
    checkSecondOrder((a) => nd.where(nd.array([1, 0, 0, 1], { dtype: 'int32' }), a, a.mul(2)), f64([4]));
  });
  tt('errors', () => {
    expect(code(() => nd.where(nd.ones([2]), nd.ones([2]), nd.ones([2], { dtype: 'float64' })))).toMatch(/^DTYPE_MISMATCH: where/);
    expect(code(() => nd.where(nd.ones([3]), nd.ones([2]), nd.ones([2])))).toMatch(/^SHAPE_MISMATCH: .*where/);
  });
});

describe('argmax / argmin (nd)', () => {
  tt('float32 indices (MXNet), first index on ties, no gradient', () => {
    nd.tidy(() => {
      const x = nd.array([[1, 5, 5], [7, 2, 7]]);
      expect(nd.argmax(x, { axis: 1 }).toArray()).toEqual([1, 0]);
      expect(nd.argmin(x, { axis: 0 }).toArray()).toEqual([0, 1, 0]);
      expect(nd.argmax(x).shape).toEqual([]);
      expect(nd.argmax(x).item()).toBe(3);
      const xi = nd.array([[3, 1], [0, 9]], { dtype: 'int32' });
      expect(xi.argmax({ axis: -1 }).dtype).toBe('float32');
      expect(xi.argmin({ axis: -1, keepdims: true }).toArray()).toEqual([[1], [0]]);
      const v = x.astype('float64');
      v.attachGrad();
      autograd.record(() => nd.argmax(v, { axis: 1 }).add(nd.argmin(v, { axis: 0 }).sum())).backward();
      expect(Array.from(v.grad!.toTypedArray())).toEqual(zerosOf(v));
      const g = autograd.record(() => autograd.grad(nd.argmax(v).astype('float64').mul(v).sum(), v, null, { createGraph: true })[0]);
      expect(g.toArray()).toEqual([[3, 3, 3], [3, 3, 3]]);  // argmax(v) is a constant factor
    });
  });
  tt('errors', () => {
    expect(code(() => nd.argmax(nd.ones([2, 0]), { axis: 1 }))).toMatch(/^BAD_ARGUMENT: argmax.*\(2,0\)/);
    expect(code(() => nd.argmax(nd.ones([2, 3, 4]), { axis: [0, 1] }))).toMatch(/^BAD_AXIS: argmax/);
    expect(code(() => nd.argmin(nd.ones([2, 3]), { axis: 2 }))).toMatch(/^BAD_AXIS/);
  });
});

describe('view-like shape ops', () => {
  tt('reshape (MXNet codes -1 and 0)', () => {
    nd.tidy(() => {
      const x = nd.arange(0, 24).reshape([2, 3, 4]);
      expect(x.reshape([0, -1]).shape).toEqual([2, 12]);
      expect(x.reshape([-1, 0, 2]).shape).toEqual([4, 3, 2]);
      expect((x.reshape([0, 0, 2, 2]).toArray() as number[][][][])[1][2][1]).toEqual([22, 23]);
      check((a) => nd.reshape(a, [4, -1]).mul(W([4, 6])), [rnd([2, 3, 4])]);
      check((a) => nd.reshape(a, [0, 0, 2, 2]).mul(W([2, 3, 2, 2])), [rnd([2, 3, 4])]);
      checkSecondOrder((a) => nd.reshape(a, [3, -1]), f64([2, 3]));
      expect(code(() => x.reshape([5, -1]))).toMatch(/^SHAPE_MISMATCH: reshape.*\(2,3,4\)/);
      expect(code(() => x.reshape([-1, -1]))).toMatch(/^BAD_ARGUMENT: reshape/);
      expect(code(() => x.reshape([-2, 4]))).toMatch(/^BAD_ARGUMENT: reshape/);
      expect(code(() => x.reshape([0, 0, 0, 0]))).toMatch(/^BAD_ARGUMENT: reshape.*\(2,3,4\)/);
    });
  });
  tt('transpose (axes)', () => {
    nd.tidy(() => {
      const x = nd.arange(0, 24).reshape([2, 3, 4]);
      expect((x.transpose([1, 2, 0]).toArray() as number[][][])[2][3][1]).toBe((x.toArray() as number[][][])[1][2][3]);
      expect(x.T.shape).toEqual([4, 3, 2]);
      check((a) => nd.transpose(a, [1, 2, 0]).mul(W([3, 4, 2])), [rnd([2, 3, 4])]);
      check((a) => nd.transpose(a, [-1, 0, 1]).mul(W([4, 2, 3])), [rnd([2, 3, 4])]);
      check((a) => a.T.mul(W([3, 2])), [rnd([2, 3])]);
      checkSecondOrder((a) => nd.transpose(a, [2, 0, 1]), f64([2, 3, 2]));
      expect(code(() => x.transpose([0, 0, 1]))).toMatch(/^BAD_AXIS: transpose.*\(2,3,4\)/);
      expect(code(() => x.transpose([0, 1]))).toMatch(/^BAD_AXIS: transpose.*\(2,3,4\)/);
    });
  });
  tt('expandDims / squeeze / flatten', () => {
    nd.tidy(() => {
      const x = rnd([1, 3, 1]);
      expect(x.expandDims(-1).shape).toEqual([1, 3, 1, 1]);
      expect(x.squeeze().shape).toEqual([3]);
      expect(x.squeeze([0, -1]).shape).toEqual([3]);
      expect(x.squeeze(2).shape).toEqual([1, 3]);
      expect(nd.flatten(nd.zeros([2, 3, 4])).shape).toEqual([2, 12]);
      expect(nd.flatten(nd.zeros([3])).shape).toEqual([3, 1]);
      check((a) => nd.expandDims(a, 1).mul(W([2, 1, 3])), [rnd([2, 3])]);
      check((a) => nd.squeeze(a, 2).mul(W([1, 3])), [rnd([1, 3, 1])]);
      check((a) => nd.squeeze(a).mul(W([3])), [rnd([1, 3, 1])]);
      check((a) => nd.flatten(a).mul(W([2, 12])), [rnd([2, 3, 4])]);
      checkSecondOrder((a) => nd.expandDims(a, 0), f64([3]));
      checkSecondOrder((a) => nd.squeeze(a), f64([3, 1]));
      checkSecondOrder((a) => nd.flatten(a), f64([2, 2, 2]));
      expect(code(() => x.squeeze(1))).toMatch(/^BAD_AXIS: squeeze.*\(1,3,1\)/);
      expect(code(() => x.expandDims(4))).toMatch(/^BAD_AXIS/);
    });
  });
  tt('broadcastTo / broadcastLike', () => {
    nd.tidy(() => {
      expect(nd.broadcastTo(nd.array([[1], [2]]), [0, 3]).toArray()).toEqual([[1, 1, 1], [2, 2, 2]]);  // 0 keeps the size
      expect(nd.broadcastLike(nd.ones([1, 1]), nd.zeros([0, 2])).shape).toEqual([0, 2]);  // y's 0 is a size
      check((a) => nd.broadcastTo(a, [2, 3]).mul(W([2, 3])), [rnd([2, 1])]);
      check((a) => nd.broadcastTo(a, [4, 2, 3]).mul(W([4, 2, 3])), [rnd([3])]);
      check((a, b) => nd.broadcastLike(a, b).mul(W([2, 2, 3])), [rnd([2, 1, 1]), rnd([2, 2, 3])]);
      checkSecondOrder((a) => nd.broadcastTo(a, [3, 2]), f64([1, 2]));
      // broadcastLike: y only lends its shape (it is not an input of the recorded op)
      const x = rnd([3]);
      const y = rnd([2, 3]);
      x.attachGrad();
      y.attachGrad();
      autograd.record(() => nd.broadcastLike(x, y)).backward();
      expect(x.grad!.toArray()).toEqual([2, 2, 2]);
      expect(Array.from(y.grad!.toTypedArray())).toEqual(zerosOf(y));
      expect(code(() => nd.broadcastTo(nd.ones([2, 3]), [4, 3]))).toMatch(/^SHAPE_MISMATCH: broadcast_to.*\(2,3\).*\(4,3\)/);
      expect(code(() => nd.broadcastTo(nd.ones([2, 3]), [3]))).toMatch(/^SHAPE_MISMATCH/);
    });
  });
  tt('at (first-axis index, a view)', () => {
    nd.tidy(() => {
      const x = nd.arange(0, 12).reshape([3, 4]);
      expect(x.at(1).toArray()).toEqual([4, 5, 6, 7]);
      expect(x.at(-1).at(2).shape).toEqual([]);
      expect(x.at(-1).at(2).item()).toBe(10);
      check((a) => a.at(1).mul(W([4])), [rnd([3, 4])]);
      check((a) => a.at(-1).mul(3), [rnd([3])]);  // 0-d result
      check((a) => a.at(0).at(1).mul(W([2])).add(a.at(0).at(1).mul(a.at(1).at(2))), [rnd([2, 3, 2])]);
      checkSecondOrder((a) => a.at(1), f64([3, 2]));
      expect(code(() => x.at(3))).toMatch(/^OUT_OF_RANGE: at: .*\(3,4\)/);
      expect(code(() => x.at(1).at(0).at(0))).toMatch(/^BAD_ARGUMENT: at/);
    });
  });
});

describe('split', () => {
  tt('several outputs, each with its own head gradient', () => {
    nd.tidy(() => {
      check((a) => nd.split(a, { numOutputs: 3 }).map((p, k) => p.mul(k + 1).mul(p)), [rnd([2, 6])]);
      check((a) => nd.split(a, { numOutputs: 2, axis: 0 }).map((p, k) => p.mul(W([1, 3]).add(k))), [rnd([2, 3])]);
      check((a) => nd.split(a, { numOutputs: 3, axis: 1, squeezeAxis: true }).map((p, k) => p.mul(W([2, 4]).mul(k - 1))), [rnd([2, 3, 4])]);
      // an unused output gets a zero head gradient
      check((a) => { const [p, , q] = nd.split(a, { numOutputs: 3, axis: -1 }); return [p.square(), q.mul(2)]; }, [rnd([2, 3])]);
      checkSecondOrder((a) => nd.split(a, { numOutputs: 2, axis: 0 })[1], f64([4, 2]));
      const x = nd.arange(0, 6).reshape([2, 3]);
      const parts = nd.split(x, { numOutputs: 3, squeezeAxis: true });
      expect(parts.map((p) => p.toArray())).toEqual([[0, 3], [1, 4], [2, 5]]);
      expect(code(() => nd.split(x, { numOutputs: 2 }))).toMatch(/^SHAPE_MISMATCH: split.*\(2,3\)/);
    });
  });
});

describe('FullyConnected', () => {
  tt('gradients: flatten true/false, bias, noBias', () => {
    nd.tidy(() => {
      check((x, w, b) => nd.FullyConnected(x, w, b), [rnd([3, 4]), rnd([5, 4]), rnd([5])]);
      check((x, w, b) => nd.FullyConnected(x, w, b).square(), [rnd([2, 3, 2]), rnd([3, 6]), rnd([3])]);
      check((x, w, b) => nd.FullyConnected(x, w, b, { flatten: false }).mul(W([2, 3, 3])), [rnd([2, 3, 2]), rnd([3, 2]), rnd([3])]);
      check((x, w) => nd.FullyConnected(x, w, { noBias: true }).square(), [rnd([3, 4]), rnd([2, 4])]);
      // mixed second order: d/dw of sum(dL/dx * v)
      const x = f64([2, 3]);
      const w = f64([4, 3]);
      x.attachGrad();
      w.attachGrad();
      const v = f64([2, 3]);
      autograd.record(() => {
        const [gx] = autograd.grad(nd.FullyConnected(x, w, { noBias: true }).square().sum(), x, null, { createGraph: true });
        return gx.mul(v).sum();
      }).backward();
      // gx = 2 (x wᵀ) w, so d/dw sum(gx * v) = 2 [ (v wᵀ)ᵀ x + (x wᵀ)ᵀ v ]
      const expected = nd.dot(nd.dot(v, w.T).T, x).add(nd.dot(nd.dot(x, w.T).T, v)).mul(2);
      const got = w.grad!.toTypedArray();
      expected.toTypedArray().forEach((e, i) => expect(got[i]).toBeCloseTo(e, 10));
    });
  });
});

describe('Dropout', () => {
  tt('predict mode is the identity, gradient included', () => {
    nd.tidy(() => {
      const x = rnd([3, 4]);
      x.attachGrad();
      const y = autograd.record(() => nd.Dropout(x, { p: 0.7 }), { trainMode: false });
      expect(y.toArray()).toEqual(x.toArray());
      const h = rnd([3, 4]);
      y.backward(h, { trainMode: false });
      expect(x.grad!.toArray()).toEqual(h.toArray());
      check((a) => autograd.predictMode(() => nd.Dropout(a, { p: 0.5 })).mul(W([2, 3])), [rnd([2, 3])]);
    });
  });
  tt('train mode: mask values, kept fraction, gradient = mask', () => {
    nd.tidy(() => {
      const p = 0.3;
      const x = nd.random.uniform(0.5, 1.5, [200, 100]);
      x.attachGrad();
      const y = autograd.record(() => nd.Dropout(x, { p }));
      const h = nd.random.uniform(-1, 1, [200, 100]);
      y.backward(h);
      const xv = x.toTypedArray(), yv = y.toTypedArray(), hv = h.toTypedArray(), gv = x.grad!.toTypedArray();
      const scale = 1 / (1 - p);
      let kept = 0;
      let badMask = 0;
      let badGrad = 0;
      for (let i = 0; i < xv.length; i++) {
        const isZero = yv[i] === 0;
        if (!isZero) {
          kept++;
          if (!(Math.abs(yv[i] / xv[i] - scale) < 1e-5)) badMask++;  // mask values in {0, 1/(1-p)}
        }
        if (!(Math.abs(gv[i] - (isZero ? 0 : hv[i] * scale)) < 1e-5)) badGrad++;  // gradient = head * mask
      }
      expect([badMask, badGrad]).toEqual([0, 0]);
      const frac = kept / xv.length;
      // 20000 Bernoulli(0.7) draws: standard deviation 0.0032, so 0.02 is > 6 sigma
      expect(Math.abs(frac - (1 - p))).toBeLessThan(0.02);
      // the mean is preserved in expectation (inverted dropout)
      const ratio = Array.from(yv).reduce((a, b) => a + b, 0) / Array.from(xv).reduce((a, b) => a + b, 0);
      expect(Math.abs(ratio - 1)).toBeLessThan(0.05);
    });
  });
  tt('axes share the mask; checkGradient with a fixed seed', () => {
    nd.tidy(() => {
      const x = nd.ones([64, 5, 3]);
      const y = autograd.trainMode(() => nd.Dropout(x, { p: 0.5, axes: [1, 2] }));
      const a = y.toArray() as number[][][];
      let zeroRows = 0;
      for (const row of a) {
        const vals = new Set(row.flat());
        expect(vals.size).toBe(1);  // one mask value per (shared) row
        const v = [...vals][0];
        expect([0, 2]).toContain(v);
        if (v === 0) zeroRows++;
      }
      expect(zeroRows).toBeGreaterThan(10);
      expect(zeroRows).toBeLessThan(54);
      const b = autograd.trainMode(() => nd.Dropout(nd.ones([4, 50]), { p: 0.5, axes: 0 })).toArray() as number[][];
      for (const row of b) expect(row).toEqual(b[0]);  // shared along axis 0
      // gradient with the same mask in every evaluation (the seed is reset inside fn)
      check(
        (v) => autograd.trainMode(() => {
          nd.random.seed(123);
          return nd.Dropout(v, { p: 0.4 });
        }).mul(W([3, 4])),
        [rnd([3, 4])],
      );
    });
  });
  tt('seeded runs are reproducible', () => {
    nd.tidy(() => {
      const x = nd.ones([10, 10]);
      const run = (s: number) => {
        nd.random.seed(s);
        return Array.from(autograd.trainMode(() => nd.Dropout(x, { p: 0.5 })).toTypedArray());
      };
      const a = run(42);
      expect(run(42)).toEqual(a);
      expect(run(43)).not.toEqual(a);
      nd.random.seed(42);
      const first = autograd.trainMode(() => nd.Dropout(x, { p: 0.5 })).toTypedArray();
      const second = autograd.trainMode(() => nd.Dropout(x, { p: 0.5 })).toTypedArray();
      expect(Array.from(first)).toEqual(a);
      expect(Array.from(second)).not.toEqual(a);  // the stream advances
    });
  });
});

describe('in place: set, iadd, isub, imul, idiv, { out }', () => {
  tt('values (arrays with broadcasting, numbers, integer dtypes)', () => {
    nd.tidy(() => {
      const x = nd.array([[1, 2, 3], [4, 5, 6]]);
      const before = x;
      expect(x.iadd(nd.array([10, 20, 30]))).toBe(before);
      expect(x.toArray()).toEqual([[11, 22, 33], [14, 25, 36]]);
      x.isub(1).imul(nd.array([[2], [1]])).idiv(2);
      expect(x.toArray()).toEqual([[10, 21, 32], [6.5, 12, 17.5]]);
      x.set(nd.array([1, 2, 3]));
      expect(x.toArray()).toEqual([[1, 2, 3], [1, 2, 3]]);
      x.set(-1);
      expect(x.toArray()).toEqual([[-1, -1, -1], [-1, -1, -1]]);
      const i = nd.array([7, 9], { dtype: 'int32' });
      i.iadd(3).imul(2);
      expect(i.toArray()).toEqual([20, 24]);
      expect(i.dtype).toBe('int32');
      // a view writes through to its base
      const base = nd.zeros([2, 3]);
      base.at(1).set(nd.array([1, 2, 3]));
      expect(base.toArray()).toEqual([[0, 0, 0], [1, 2, 3]]);
      // empty targets: the target's shape is literal (a 0 is a size, not MXNet's reshape code)
      const e = nd.zeros([0, 3]);
      e.set(nd.ones([1, 3]));
      e.iadd(nd.ones([3]));
      expect(e.shape).toEqual([0, 3]);
    });
  });
  tt('{ out } on several ops returns the target', () => {
    nd.tidy(() => {
      const a = nd.array([[1, 2], [3, 4]]);
      const o = nd.zeros([2, 2]);
      expect(nd.add(a, 1, { out: o })).toBe(o);
      expect(o.toArray()).toEqual([[2, 3], [4, 5]]);
      nd.dot(a, a, { out: o });
      expect(o.toArray()).toEqual([[7, 10], [15, 22]]);
      nd.transpose(a, undefined, { out: o });
      expect(o.toArray()).toEqual([[1, 3], [2, 4]]);
      const s = nd.zeros([2]);
      nd.sum(a, { axis: 0, out: s });
      expect(s.toArray()).toEqual([4, 6]);
      nd.concat([nd.ones([1, 1]), nd.zeros([1, 1])], { dim: 1, out: nd.zeros([1, 2]) });
      // out may alias an input of an elementwise op
      nd.multiply(a, a, { out: a });
      expect(a.toArray()).toEqual([[1, 4], [9, 16]]);
    });
  });
  tt('out shape / dtype mismatch errors, nothing written', () => {
    nd.tidy(() => {
      const o = nd.full([3], 5);
      expect(code(() => nd.exp(nd.ones([2]), { out: o }))).toMatch(/^SHAPE_MISMATCH: exp.*\(2\).*\(3\)|^SHAPE_MISMATCH: exp.*\(3\).*\(2\)/);
      expect(code(() => nd.add(nd.ones([3]), 1, { out: nd.zeros([3], { dtype: 'float64' }) }))).toMatch(/^DTYPE_MISMATCH: add/);
      expect(code(() => nd.sum(nd.ones([2, 3]), { axis: 1, out: o }))).toMatch(/^SHAPE_MISMATCH: sum/);
      expect(code(() => nd.ones([2]).iadd(nd.ones([2], { dtype: 'float64' })))).toMatch(/^DTYPE_MISMATCH/);
      expect(code(() => nd.ones([2]).set(nd.ones([3])))).toMatch(/^SHAPE_MISMATCH/);
      expect(o.toArray()).toEqual([5, 5, 5]);
    });
  });
  tt('refused under record when the target is in the graph, before anything is written', () => {
    nd.tidy(() => {
      const x = nd.array([1, 2, 3]);
      x.attachGrad();
      autograd.record(() => {
        const y = x.mul(2);
        for (const f of [() => x.iadd(1), () => x.isub(1), () => x.imul(2), () => x.idiv(2), () => x.set(0),
          () => y.iadd(1), () => nd.exp(x, { out: y }), () => nd.negative(y, { out: x })])
          expect(code(f)).toMatch(/^INPLACE_IN_GRAPH/);
        expect(y.toArray()).toEqual([2, 4, 6]);
        // a fresh target outside the graph may be written; it becomes the op's recorded output
        const o = nd.zeros([3]);
        expect(nd.square(x, { out: o })).toBe(o);
        return o;
      }).backward();
      expect(x.toArray()).toEqual([1, 2, 3]);
      expect(x.grad!.toArray()).toEqual([2, 4, 6]);
    });
  });
});

test('no leaks: every test body ends with exactly the arrays and bytes it began with', () => {
  expect(measured).toBeGreaterThan(50); // the bodies above ran (a filtered run has nothing to check)
  expect(leaks).toEqual([]);
});
