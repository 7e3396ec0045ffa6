// init.*: each initializer's distribution and scale (MXNet's formulas), names, errors.
import { gluon, init, nd, NDArray } from '../lib';
import { arr, codeOf, freshAutogradState } from './helpers';

freshAutogradState();

/** The values a fresh parameter of `shape` gets from `ini`. */
function draw(ini: init.Initializer | string, shape: number[], dtype: 'float32' | 'float64' = 'float64'): number[] {
  const p = new gluon.Parameter('weight', { shape, dtype });
  p.initialize(ini);
  const v = arr(p.data());
  p.dispose();
  return v;
}
const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
const std = (v: number[]): number => Math.sqrt(mean(v.map((x) => (x - mean(v)) ** 2)));

test('Zero, One, Constant (and their MXNet names)', () => {
  expect(draw(new init.Zero(), [3])).toEqual([0, 0, 0]);
  expect(draw(new init.One(), [2])).toEqual([1, 1]);
  expect(draw(new init.Constant(-2.5), [2])).toEqual([-2.5, -2.5]);
  expect(draw('zeros', [2])).toEqual([0, 0]);
  expect(draw('ones', [1])).toEqual([1]);
  expect(codeOf(() => draw('nonsense', [1]))).toBe('BAD_ARGUMENT');
});

test('Uniform(scale) covers [-scale, scale] uniformly; the default scale is 0.07', () => {
  const v = draw(new init.Uniform(0.5), [20000]);
  expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(0.5);
  expect(Math.abs(mean(v))).toBeLessThan(0.01);
  expect(std(v)).toBeCloseTo(0.5 / Math.sqrt(3), 2);
  expect(Math.max(...draw(new init.Uniform(), [5000]).map(Math.abs))).toBeGreaterThan(0.069);
});

test('Normal(sigma): mean 0, standard deviation sigma (default 0.01)', () => {
  expect(std(draw(new init.Normal(2), [20000]))).toBeCloseTo(2, 1);
  expect(std(draw(new init.Normal(), [20000]))).toBeCloseTo(0.01, 3);
});

test('Xavier: scale sqrt(magnitude / factor) with the kernel area in both fans', () => {
  // weight (out 8, in 4, 3x3): fanIn = 36, fanOut = 72
  const u = draw(new init.Xavier(), [8, 4, 3, 3]);
  const bound = Math.sqrt(3 / 54);
  expect(Math.max(...u.map(Math.abs))).toBeLessThanOrEqual(bound);
  expect(Math.max(...u.map(Math.abs))).toBeGreaterThan(0.95 * bound);
  const g = draw(new init.Xavier({ rndType: 'gaussian', factorType: 'in', magnitude: 2 }), [400, 50]);
  expect(std(g)).toBeCloseTo(Math.sqrt(2 / 50), 2);
  const o = draw(new init.Xavier({ factorType: 'out' }), [100, 200]);
  expect(Math.max(...o.map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(3 / 100));
  expect(codeOf(() => draw(new init.Xavier(), [5]))).toBe('BAD_ARGUMENT');
  expect(codeOf(() => new init.Xavier({ rndType: 'flat' as any }))).toBe('BAD_ARGUMENT');
});

test('MSRAPrelu: gaussian with magnitude 2 / (1 + slope²)', () => {
  const v = draw(new init.MSRAPrelu({ factorType: 'in', slope: 0 }), [300, 100]);
  expect(std(v)).toBeCloseTo(Math.sqrt(2 / 100), 2);
  const w = draw(new init.MSRAPrelu(), [200, 200]);
  expect(std(w)).toBeCloseTo(Math.sqrt(2 / 1.0625 / 200), 2);
});

test('Orthogonal: orthonormal rows (or columns) times scale', () => {
  for (const [shape, rows] of [[[3, 5], true], [[6, 2, 2], false]] as [number[], boolean][]) {
    const v = draw(new init.Orthogonal(1.5), shape);
    const r = shape[0];
    const c = v.length / r;
    const n = rows ? r : c;
    const at = (i: number, k: number): number => (rows ? v[i * c + k] : v[k * c + i]);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let d = 0;
        for (let k = 0; k < (rows ? c : r); k++) d += at(i, k) * at(j, k);
        expect(d).toBeCloseTo(i === j ? 2.25 : 0, 10);
      }
  }
});

test('a custom Initializer gets the parameter name; one without initWeight is BAD_ARGUMENT', () => {
  class Ramp extends init.Initializer {
    initWeight(name: string, a: NDArray): void {
      a.set(nd.arange(0, a.size, 1, { dtype: a.dtype }).reshape(a.shape));
      expect(name).toBe('weight');
    }
  }
  expect(draw(new Ramp(), [2, 2], 'float32')).toEqual([0, 1, 2, 3]);
  expect(codeOf(() => draw(new init.Initializer(), [1]))).toBe('BAD_ARGUMENT');
});

test("an initializer's temporaries are freed; a failing one leaves the memory as it was", () => {
  const before = nd.memory().numArrays;
  draw(new init.Orthogonal(), [4, 4]);
  expect(codeOf(() => draw(new init.Xavier(), [3]))).toBe('BAD_ARGUMENT');
  expect(nd.memory().numArrays).toBe(before);
});
