// gluon.metric against MXNet 1.9's formulas: a NumPy float64 write-out of metric.py on random batches
// (test/fixtures/make_gluon_metric.py), hand-computed small cases, lists, reset, NaN before update, errors.
import * as fs from 'fs';
import * as path from 'path';
import { gluon, nd, NDArray } from '../lib';
import { errorOf, liveArrays } from './helpers';

const { metric } = gluon;
const fx = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures/gluon_metric.json'), 'utf8'));

type Batch = { label: any; pred: any };
const arrays = (b: Batch, labelDtype: 'int32' | 'float64' = 'int32'): [NDArray, NDArray] => [
  nd.array(b.label, { dtype: labelDtype }),
  nd.array(b.pred, { dtype: 'float32' }),
];

// Two updates from the fixtures, checking get() after each against the float64 reference.
function against(m: InstanceType<typeof metric.EvalMetric>, batches: Batch[], expected: number[], labelDtype?: 'int32' | 'float64', tol = 1e-6): void {
  const n0 = liveArrays();
  batches.forEach((b, i) => {
    const [l, p] = arrays(b, labelDtype);
    m.update(l, p);
    nd.dispose([l, p]);
    const [, v] = m.get() as [string, number];
    expect(Math.abs(v - expected[i])).toBeLessThan(tol * Math.max(1, Math.abs(expected[i])));
  });
  expect(liveArrays()).toBe(n0);
}

describe('metrics against the NumPy write-out of MXNet 1.9', () => {
  test.each([
    ['Accuracy', () => new metric.Accuracy(), 'cls', 'accuracy', 'int32'],
    ['TopKAccuracy(3)', () => new metric.TopKAccuracy(3), 'cls', 'top3', 'int32'],
    ['CrossEntropy', () => new metric.CrossEntropy(), 'cls', 'crossEntropy', 'int32'],
    ['MSE (per-update means, 1-D taken as columns)', () => new metric.MSE(), 'reg', 'mse', 'float64'],
    ['MAE', () => new metric.MAE(), 'reg', 'mae', 'float64'],
    ['RMSE (sqrt per update, averaged)', () => new metric.RMSE(), 'reg', 'rmse', 'float64'],
    ['MSE of 2-D arrays', () => new metric.MSE(), 'reg2', 'mse2', 'float64'],
    ['F1 macro', () => new metric.F1(), 'binary', 'f1macro', 'int32'],
    ['F1 micro', () => new metric.F1({ average: 'micro' }), 'binary', 'f1micro', 'int32'],
  ] as const)('%s', (_, make, data, key, dtype) => {
    against(make(), fx[data], fx.expect[key], dtype);
  });

  test('Loss: the mean of all values given as predictions; labels ignored', () => {
    const m = new metric.Loss();
    fx.loss.forEach((l: number[][], i: number) => {
      const a = nd.array(l);
      m.update(null, a);
      a.dispose();
      expect((m.get()[1] as number)).toBeCloseTo(fx.expect.loss[i], 6);
    });
  });
});

describe('hand-computed cases', () => {
  test("the examples in MXNet 1.x metric.py's docstrings give MXNet's printed values", () => {
    const probs = nd.array([[0.3, 0.7], [0, 1], [0.4, 0.6]]);
    const labels = nd.array([0, 1, 1]);
    const regPred = nd.array([3, -0.5, 2, 7]).reshape([4, 1]);
    const regLabel = nd.array([2.5, 0, 2, 8]).reshape([4, 1]);
    const value = (m: InstanceType<typeof metric.EvalMetric>, l: NDArray, p: NDArray): number => {
      m.update([l], [p]);
      return m.get()[1] as number;
    };
    expect(value(new metric.Accuracy(), labels, probs)).toBeCloseTo(0.6666666666666666, 12);
    expect(value(new metric.F1(), labels, probs)).toBeCloseTo(0.8, 12);
    expect(value(new metric.CrossEntropy(), labels, probs)).toBeCloseTo(0.57159948348999023, 7);
    expect(value(new metric.MAE(), regLabel, regPred)).toBeCloseTo(0.5, 12);
    expect(value(new metric.MSE(), regLabel, regPred)).toBeCloseTo(0.375, 12);
    // MXNet's printed 0.612372457981 is sqrt(0.375) taken in float32; ours is float64
    expect(value(new metric.RMSE(), regLabel, regPred)).toBeCloseTo(0.612372457981, 7);
    const c = new metric.CompositeEvalMetric([new metric.Accuracy(), new metric.F1()]);
    c.update([labels], [probs]);
    const [names, vals] = c.get();
    expect(names).toEqual(['accuracy', 'f1']);
    expect(vals[0]).toBeCloseTo(0.6666666666666666, 12);
    expect(vals[1]).toBeCloseTo(0.8, 12);
    nd.dispose([probs, labels, regPred, regLabel]);
  });

  test('names, NaN before any update, reset', () => {
    const ms = [new metric.Accuracy(), new metric.TopKAccuracy(5), new metric.CrossEntropy(), new metric.MSE(), new metric.MAE(),
      new metric.RMSE(), new metric.F1(), new metric.Loss()];
    expect(ms.map((m) => m.name)).toEqual(['accuracy', 'top_k_accuracy_5', 'cross-entropy', 'mse', 'mae', 'rmse', 'f1', 'loss']);
    for (const m of ms) expect(Number.isNaN(m.get()[1])).toBe(true);
    const a = ms[0];
    const l = nd.array([1, 0]);
    const p = nd.array([[0.2, 0.8], [0.9, 0.1]]);
    a.update(l, p);
    expect(a.get()).toEqual(['accuracy', 1]);
    a.reset();
    expect(Number.isNaN(a.get()[1])).toBe(true);
    nd.dispose([l, p]);
  });

  test('Accuracy: lists of arrays, labels already shaped like preds, float labels truncated, axis', () => {
    const m = new metric.Accuracy();
    const l1 = nd.array([0, 1, 2]);
    const p1 = nd.array([[0.9, 0.1, 0], [0.1, 0.2, 0.7], [0, 0, 1]]); // argmax 0, 2, 2: two right
    const l2 = nd.array([2.7, 1]); // 2.7 counts as class 2
    const p2 = nd.array([2, 0]); // already class ids: one right
    m.update([l1, l2], [p1, p2]);
    expect(m.get()).toEqual(['accuracy', 3 / 5]);
    const byRow = new metric.Accuracy({ axis: 0 });
    const p3 = nd.array([[0.9, 0.1, 0], [0.1, 0.2, 0.7], [0, 0.7, 1]]); // argmax over axis 0: 0, 2, 2
    byRow.update(l1, p3);
    expect(byRow.get()[1]).toBeCloseTo(2 / 3, 12);
    expect(errorOf(() => m.update([l1], [p1, p2])).code).toBe('SHAPE_MISMATCH');
    expect(errorOf(() => m.update(nd.array([1, 2]) as NDArray, p1)).code).toBe('SHAPE_MISMATCH');
    expect(errorOf(() => m.update('x' as any, p1)).code).toBe('BAD_ARGUMENT');
    nd.dispose([l1, p1, l2, p2, p3]);
  });

  test('TopKAccuracy: the label within the k best scores; k must exceed 1 (MXNet)', () => {
    const m = new metric.TopKAccuracy(2);
    const l = nd.array([0, 3, 1]);
    const p = nd.array([[0.5, 0.1, 0.2, 0.2], [0.4, 0.3, 0.2, 0.1], [0.3, 0.4, 0.2, 0.1]]); // in, out, in
    m.update(l, p);
    expect(m.get()[1]).toBeCloseTo(2 / 3, 12);
    expect(errorOf(() => new metric.TopKAccuracy(1)).code).toBe('BAD_ARGUMENT');
    expect(errorOf(() => m.update(l, nd.array([1, 2, 3]))).code).toBe('SHAPE_MISMATCH');
    nd.dispose([l, p]);
  });

  test('CrossEntropy uses eps 1e-12 (a zero probability stays finite); a label out of range is OUT_OF_RANGE', () => {
    const m = new metric.CrossEntropy();
    const l = nd.array([0, 1]);
    const p = nd.array([[1, 0], [1, 0]], { dtype: 'float64' });
    m.update(l, p);
    expect(m.get()[1]).toBeCloseTo((-Math.log(1 + 1e-12) - Math.log(1e-12)) / 2, 9);
    expect(errorOf(() => m.update(nd.array([2, 0]), p)).code).toBe('OUT_OF_RANGE');
    nd.dispose([l, p]);
  });

  test('F1: binary only; precision or recall 0 gives 0', () => {
    const m = new metric.F1();
    const l = nd.array([1, 1, 0, 0]);
    const p = nd.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.9, 0.1]]); // tp 1, fn 1, fp 1: f1 = 0.5
    m.update(l, p);
    expect(m.get()[1]).toBeCloseTo(0.5, 12);
    const none = nd.array([[1, 0], [1, 0], [1, 0], [1, 0]]);
    m.update(l, none);
    expect(m.get()[1]).toBeCloseTo(0.25, 12);
    expect(errorOf(() => m.update(nd.array([0, 1, 2, 1]), p)).code).toBe('BAD_ARGUMENT');
    nd.dispose([l, p, none]);
  });

  test('CompositeEvalMetric: get() -> [names, values], update and reset reach every metric', () => {
    const c = new metric.CompositeEvalMetric([new metric.Accuracy(), new metric.CrossEntropy()]);
    c.add(new metric.TopKAccuracy(2));
    const l = nd.array([0, 1]);
    const p = nd.array([[0.6, 0.3, 0.1], [0.7, 0.2, 0.1]], { dtype: 'float64' });
    c.update(l, p);
    const [names, vals] = c.get();
    expect(names).toEqual(['accuracy', 'cross-entropy', 'top_k_accuracy_2']);
    expect(vals[0]).toBe(0.5);
    expect(vals[1]).toBeCloseTo(-(Math.log(0.6) + Math.log(0.2)) / 2, 9);
    expect(vals[2]).toBe(1);
    expect(c.getMetric(1).name).toBe('cross-entropy');
    expect(errorOf(() => c.getMetric(3)).code).toBe('OUT_OF_RANGE');
    c.reset();
    expect(c.get()[1].every((v: number) => Number.isNaN(v))).toBe(true);
    nd.dispose([l, p]);
  });

  test('metric.create (names, instances, functions, lists) and CustomMetric', () => {
    expect(metric.create('acc')).toBeInstanceOf(metric.Accuracy);
    expect(metric.create('ce')).toBeInstanceOf(metric.CrossEntropy);
    expect(metric.create('top_k_accuracy', 3).name).toBe('top_k_accuracy_3');
    const acc = new metric.Accuracy();
    expect(metric.create(acc)).toBe(acc);
    const c = metric.create(['acc', 'mse']) as InstanceType<typeof metric.CompositeEvalMetric>;
    expect(c.metrics.map((m) => m.name)).toEqual(['accuracy', 'mse']);
    expect(errorOf(() => metric.create('accuracyy')).code).toBe('BAD_ARGUMENT');
    // MXNet's CustomMetric docstring example: feval = (x + y).mean() on its regression arrays gives 6.0
    const custom = metric.create((l: NDArray, p: NDArray) => nd.tidy(() => nd.add(l, p).mean().item()));
    const l = nd.array([2.5, 0, 2, 8]).reshape([4, 1]);
    const p = nd.array([3, -0.5, 2, 7]).reshape([4, 1]);
    custom.update([l], [p]);
    expect(custom.get()[1]).toBeCloseTo(6, 12);
    const sums = new metric.CustomMetric((a: NDArray) => [a.size, 2], { name: 'pairs' });
    sums.update([l, l], [p, p]);
    expect(sums.get()).toEqual(['pairs', 2]);
    expect(errorOf(() => new metric.CustomMetric(3 as any)).code).toBe('BAD_ARGUMENT');
    nd.dispose([l, p]);
  });
});
