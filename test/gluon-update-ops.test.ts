// The fused multi-tensor update ops (native/src/ops/optimizer.cc) against a float64 reference of
// MXNet 1.9's formulas (src/operator/optimizer_op-inl.h), over several steps and several weights of
// different sizes (a weight over one 32768-element piece spreads over the thread pool); bad input
// is refused before anything is written; arrays of a recorded graph are refused; versions bump.
import { autograd, nd, NDArray } from '../lib';
import { errorOf } from './helpers';

type Vec = Float64Array;
type S = Record<string, number>;
const clipTo = (x: number, c: number) => (c >= 0 ? Math.min(c, Math.max(-c, x)) : x);

// One step of each formula for one element: w, g and the states in, the new w and states out.
type Ref = (w: number, g: number, st: number[], s: S) => [number, number[]];
const REFS: Record<string, [number, Ref]> = {
  multiSgdUpdate: [0, (w, g, _st, s) => [w - s.lr * s.wd * w - s.lr * clipTo(s.rs * g, s.clip), []]],
  multiSgdMomUpdate: [1, (w, g, [m], s) => {
    const v = s.momentum * m - s.lr * s.wd * w - s.lr * clipTo(s.rs * g, s.clip);
    return [w + v, [v]];
  }],
  multiNagMomUpdate: [1, (w, g, [m], s) => {
    const G = clipTo(s.rs * g, s.clip) + s.wd * w;
    const v = s.momentum * m - s.lr * G;
    return [w + s.momentum * v - s.lr * G, [v]];
  }],
  multiAdamUpdate: [2, (w, g, [m, v], s) => {
    const G = clipTo(s.rs * g + s.wd * w, s.clip);
    const m2 = s.beta1 * m + (1 - s.beta1) * G, v2 = s.beta2 * v + (1 - s.beta2) * G * G;
    return [w - (s.lr * m2) / (Math.sqrt(v2) + s.epsilon), [m2, v2]];
  }],
  multiAdamWUpdate: [2, (w, g, [m, v], s) => {
    const G = clipTo(s.rs * g, s.clip);
    const m2 = s.beta1 * m + (1 - s.beta1) * G, v2 = s.beta2 * v + (1 - s.beta2) * G * G;
    return [w - s.eta * ((s.lr * m2) / (Math.sqrt(v2) + s.epsilon) + s.wd * w), [m2, v2]];
  }],
  multiRmspropUpdate: [1, (w, g, [n], s) => {
    const G = clipTo(s.rs * g + s.wd * w, s.clip);
    const n2 = (1 - s.gamma1) * G * G + s.gamma1 * n;
    return [clipTo(w - (s.lr * G) / Math.sqrt(n2 + s.epsilon), s.clipWeights), [n2]];
  }],
  multiRmspropAlexUpdate: [3, (w, g, [n, gb, d], s) => {
    const G = clipTo(s.rs * g + s.wd * w, s.clip);
    const n2 = (1 - s.gamma1) * G * G + s.gamma1 * n, gb2 = (1 - s.gamma1) * G + s.gamma1 * gb;
    const d2 = s.gamma2 * d - (s.lr * G) / Math.sqrt(n2 - gb2 * gb2 + s.epsilon);
    return [clipTo(w + d2, s.clipWeights), [n2, gb2, d2]];
  }],
  multiAdagradUpdate: [1, (w, g, [h], s) => {
    const G = clipTo(s.rs * g, s.clip);
    const h2 = h + G * G;
    return [w - s.lr * (G / Math.sqrt(h2 + s.epsilon) + s.wd * w), [h2]];
  }],
};
// The op options of each formula's extra scalars (beyond lrs, wds, rescaleGrad, clipGradient).
const EXTRA: Record<string, S> = {
  multiSgdUpdate: {}, multiSgdMomUpdate: { momentum: 0.9 }, multiNagMomUpdate: { momentum: 0.8 },
  multiAdamUpdate: { beta1: 0.9, beta2: 0.99, epsilon: 1e-6 }, multiAdamWUpdate: { beta1: 0.8, beta2: 0.95, epsilon: 1e-5 },
  multiRmspropUpdate: { gamma1: 0.9, epsilon: 1e-8, clipWeights: 2.5 }, multiRmspropAlexUpdate: { gamma1: 0.95, gamma2: 0.9, epsilon: 1e-4, clipWeights: -1 },
  multiAdagradUpdate: { epsilon: 1e-7 },
};

let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
const randVec = (n: number, scale = 1) => Float64Array.from({ length: n }, () => rand() * scale);
const ops = nd as unknown as Record<string, (arrays: NDArray[], o: object) => void>;

function runCase(name: string, dtype: 'float32' | 'float64', sizes: number[], clip: number) {
  const [nStates, ref] = REFS[name];
  const steps = 4;
  const ws: Vec[] = sizes.map((n) => randVec(n));
  // rmspropalex's n - gbar^2 stays positive from zero states; AdaGrad/others take any start
  const sts: Vec[][] = sizes.map((n) => Array.from({ length: nStates }, () => new Float64Array(n)));
  const round = (v: Vec) => (dtype === 'float32' ? Float64Array.from(new Float32Array(v)) : v);
  ws.forEach((w, i) => (ws[i] = round(w)));
  const W = ws.map((w) => nd.array(w, { dtype })), St = sts.map((s) => s.map((v) => nd.array(v, { dtype })));
  const lrs = sizes.map((_n, i) => 0.05 * (i + 1)), wds = sizes.map((_n, i) => 0.01 * i);
  const etas = sizes.map((_n, i) => 1 - 0.1 * i);
  for (let t = 0; t < steps; t++) {
    const gs = sizes.map((n) => round(randVec(n, 3)));
    const G = gs.map((g) => nd.array(g, { dtype }));
    const arrays = W.flatMap((w, i) => [w, G[i], ...St[i]]);
    const o: Record<string, unknown> = { lrs, wds, rescaleGrad: 0.5, clipGradient: clip, ...EXTRA[name] };
    if (name === 'multiAdamWUpdate') o.etas = etas;
    ops[name](arrays, o);
    nd.dispose(G);
    sizes.forEach((n, i) => {
      const s: S = { lr: lrs[i], wd: wds[i], rs: 0.5, clip, eta: etas[i], ...EXTRA[name] };
      for (let k = 0; k < n; k++) {
        const [w2, st2] = ref(ws[i][k], gs[i][k], sts[i].map((v) => v[k]), s);
        ws[i][k] = w2;
        st2.forEach((v, j) => (sts[i][j][k] = v));
      }
    });
  }
  const tol = dtype === 'float64' ? 1e-12 : 2e-5;
  W.forEach((w, i) => {
    expectClose(w.toTypedArray(), ws[i], tol);
    St[i].forEach((s, j) => expectClose(s.toTypedArray(), sts[i][j], tol));
  });
  nd.dispose([W, St]);
}

function expectClose(got: ArrayLike<number>, want: Vec, tol: number) {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
  expect(worst).toBeLessThan(tol);
}

describe('each update op follows MXNet\'s formula over several steps (float64 reference)', () => {
  const cases: [string, 'float32' | 'float64', number][] = [];
  for (const name of Object.keys(REFS)) for (const dt of ['float64', 'float32'] as const) for (const clip of [-1, 0.7]) cases.push([name, dt, clip]);
  test.each(cases)('%s %s clipGradient %s', (name, dtype, clip) => {
    const before = nd.memory().numArrays;
    runCase(name, dtype, [5, 1, 70000, 33], clip);
    expect(nd.memory().numArrays).toBe(before);
  });
});

describe('bad input is refused before anything is written', () => {
  const snapshot = (xs: NDArray[]) => xs.map((x) => Array.from(x.toTypedArray() as ArrayLike<number>));
  const bads: [string, () => NDArray[], object, string][] = [
    ['a missing state', () => [nd.ones([3]), nd.ones([3]), nd.zeros([3]), nd.ones([2]), nd.ones([2])], {}, 'BAD_ARGUMENT'],
    ['a grad of another shape', () => [nd.ones([3]), nd.ones([3]), nd.zeros([3]), nd.ones([2]), nd.ones([3]), nd.zeros([2])], {}, 'SHAPE_MISMATCH'],
    ['a state of another dtype', () => [nd.ones([3]), nd.ones([3]), nd.zeros([3]), nd.ones([2]), nd.ones([2]), nd.zeros([2], { dtype: 'float64' })], {}, 'DTYPE_MISMATCH'],
    ['an integer weight', () => [nd.ones([3]), nd.ones([3]), nd.zeros([3]), nd.ones([2], { dtype: 'int32' }), nd.ones([2], { dtype: 'int32' }), nd.zeros([2], { dtype: 'int32' })], {}, 'DTYPE_MISMATCH'],
    ['lrs of the wrong length', () => [nd.ones([3]), nd.ones([3]), nd.zeros([3]), nd.ones([2]), nd.ones([2]), nd.zeros([2])], { lrs: [0.1] }, 'BAD_ARGUMENT'],
    ['a weight that is also the other weight\'s state', () => { const a = nd.ones([3]); return [nd.ones([3]), nd.ones([3]), a, a, nd.ones([3]), nd.zeros([3])]; }, {}, 'BAD_ARGUMENT'],
    ['a misspelled option', () => [nd.ones([3]), nd.ones([3]), nd.zeros([3]), nd.ones([2]), nd.ones([2]), nd.zeros([2])], { momentun: 0.9 }, 'BAD_ARGUMENT'],
  ];
  test.each(bads)('%s', (_what, make, extra, code) => {
    const arrays = make();
    const before = nd.memory().numArrays;
    const snap = snapshot(arrays);
    const e = errorOf(() => nd.multiSgdMomUpdate(arrays, { lrs: [0.1, 0.2], wds: [0, 0], momentum: 0.9, ...extra } as any));
    expect(e.code).toBe(code);
    expect(snapshot(arrays)).toEqual(snap);
    expect(nd.memory().numArrays).toBe(before);
    nd.dispose(arrays);
  });

  test('`out` is refused: the op updates its arrays in place', () => {
    const w = nd.ones([2]), g = nd.ones([2]);
    expect(errorOf(() => nd.multiSgdUpdate([w, g], { lrs: [1], wds: [0], out: w } as any)).code).toBe('BAD_ARGUMENT');
    expect(w.toArray()).toEqual([1, 1]);
    nd.dispose([w, g]);
  });
});

describe('autograd: in-place updates and the graph', () => {
  test('a variable is refused while recording, updated outside, and the update is never recorded', () => {
    const w = nd.array([1, 2, 3]), g = nd.array([1, 1, 1]);
    w.attachGrad();
    autograd.record(() => {
      expect(errorOf(() => nd.multiSgdUpdate([w, g], { lrs: [0.5], wds: [0] })).code).toBe('INPLACE_IN_GRAPH');
    });
    expect(w.toArray()).toEqual([1, 2, 3]);
    nd.multiSgdUpdate([w, g], { lrs: [0.5], wds: [0] });
    expect(w.toArray()).toEqual([0.5, 1.5, 2.5]);
    // w stays a variable: a later recorded use reaches its gradient
    const y = autograd.record(() => w.mul(2).sum());
    y.backward();
    expect(w.grad!.toArray()).toEqual([2, 2, 2]);
    nd.dispose([w, g, y]);
  });

  test('a saved variable updated before backward gives INPLACE_MODIFIED', () => {
    const w = nd.array([1, 2, 3]), x = nd.array([1, 2, 3]), g = nd.ones([3]);
    x.attachGrad();
    const y = autograd.record(() => x.mul(w).sum());
    nd.multiSgdUpdate([w, g], { lrs: [0.1], wds: [0] });
    expect(errorOf(() => y.backward()).code).toBe('INPLACE_MODIFIED');
    nd.dispose([w, x, g, y]);
  });

  test('the result of a recorded op is refused', () => {
    const x = nd.array([1, 2]);
    x.attachGrad();
    const y = autograd.record(() => x.mul(2));
    const g = nd.ones([2]);
    expect(errorOf(() => nd.multiSgdUpdate([y, g], { lrs: [0.1], wds: [0] })).code).toBe('INPLACE_IN_GRAPH');
    expect(y.toArray()).toEqual([2, 4]);
    nd.dispose([x, y, g]);
  });
});
