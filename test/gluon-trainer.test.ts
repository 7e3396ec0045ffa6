// gluon.Trainer, optimizer.*, lrScheduler.* and gluon.utils.clipGlobalNorm: PyTorch's torch.optim
// steps where MXNet's formulas coincide (fixtures from test/fixtures/make_optimizer_fixtures.py),
// stale gradients, gradReq 'null', lrMult/wdMult, rescaling by the batch size, schedules, saved
// states, and memory returning to where it started.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { autograd, gluon, lrScheduler, nd, NDArray, optimizer } from '../lib';
import type { ParameterLike } from '../lib';
import { errorOf } from './helpers';
import type { Optimizer } from '../lib/gluon/optimizer';

const fixtures = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'optimizer.json'), 'utf8'));

/** The smallest Parameter: a live array with its gradient buffer. */
class Param implements ParameterLike {
  constructor(
    readonly name: string,
    readonly arr: NDArray,
    readonly gradReq: 'write' | 'add' | 'null' = 'write',
    public lrMult = 1,
    public wdMult = 1,
  ) {
    if (gradReq !== 'null') arr.attachGrad(gradReq);
  }
  get shape() { return this.arr.shape; }
  get dtype() { return this.arr.dtype; }
  data() { return this.arr; }
  grad() { return this.arr.grad!; }
  setData(x: NDArray) { nd.multiply(x, 1, { out: this.arr }); }
}

/** backward of sum(w * g) writes exactly g into each w's gradient and marks it fresh. */
function backwardWith(params: Param[], grads: number[][]) {
  nd.tidy(() => {
    const gs = grads.map((g, i) => nd.array(g, { dtype: params[i].dtype as 'float64' }).reshape(params[i].shape));
    const loss = autograd.record(() => params.map((p, i) => p.arr.mul(gs[i]).sum()).reduce((a, b) => a.add(b)));
    loss.backward();
  });
}

const values = (x: NDArray) => Array.from(x.toTypedArray() as ArrayLike<number>);
function expectClose(got: number[], want: number[], tol: number) {
  expect(got.length).toBe(want.length);
  got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(tol * (1 + Math.abs(want[i]))));
}

let start = 0;
beforeEach(() => (start = nd.memory().numArrays));
afterEach(() => expect(nd.memory().numArrays).toBe(start));

describe('Trainer steps agree with torch.optim where the formulas coincide', () => {
  const CASES: [string, any][] = fixtures.cases.map((c: any) => [c.name, c]);
  test.each(CASES)('%s', (_name: string, c: any) => {
    const params = c.w0.map((w: number[], i: number) => new Param(`p${i}`, nd.tidy(() => nd.array(w, { dtype: 'float64' }).reshape(c.shapes[i]))));
    const trainer = new gluon.Trainer(params, c.optimizer, c.options);
    c.grads.forEach((g: number[][], t: number) => {
      backwardWith(params, g);
      trainer.step(1);
      params.forEach((p: Param, i: number) => expectClose(values(p.arr), c.weights[t][i], 1e-9));
    });
    trainer.dispose();
    nd.dispose(params.map((p: Param) => p.arr));
  });
});

function setup(opt: string | Optimizer = 'sgd', optParams: object | null = { learningRate: 0.5 }) {
  const a = new Param('a', nd.array([1, 2], { dtype: 'float64' }));
  const b = new Param('b', nd.array([3, 4, 5], { dtype: 'float64' }));
  const trainer = new gluon.Trainer(new Map([['a', a], ['b', b]]), opt, optParams);
  const done = () => { trainer.dispose(); nd.dispose([a.arr, b.arr]); };
  return { a, b, trainer, done };
}

describe('Trainer', () => {
  test('a stale gradient is STALE_GRAD and nothing is updated; ignoreStale skips it', () => {
    const { a, b, trainer, done } = setup();
    backwardWith([a, b], [[1, 1], [1, 1, 1]]);
    trainer.step(1);
    expect(values(a.arr)).toEqual([0.5, 1.5]);
    backwardWith([a], [[2, 2]]); // b's gradient not written since the last step
    const e = errorOf(() => trainer.step(1));
    expect(e.code).toBe('STALE_GRAD');
    expect(e.message).toContain("'b'");
    expect(values(a.arr)).toEqual([0.5, 1.5]);
    trainer.step(1, { ignoreStale: true });
    expect(values(a.arr)).toEqual([-0.5, 0.5]);
    expect(values(b.arr)).toEqual([2.5, 3.5, 4.5]);
    done();
  });

  test('gradReq null parameters are skipped; step rescales by 1 / batchSize; allreduceGrads + update split it', () => {
    const a = new Param('a', nd.array([1, 2], { dtype: 'float64' }));
    const frozen = new Param('f', nd.array([7], { dtype: 'float64' }), 'null');
    const trainer = new gluon.Trainer([a, frozen, a], 'sgd', { learningRate: 1 });
    backwardWith([a], [[4, 8]]);
    trainer.step(4);
    expect(values(a.arr)).toEqual([0, 0]);
    backwardWith([a], [[4, 8]]);
    trainer.allreduceGrads();
    trainer.update(2);
    expect(values(a.arr)).toEqual([-2, -4]);
    expect(values(frozen.arr)).toEqual([7]);
    trainer[Symbol.dispose]();
    nd.dispose([a.arr, frozen.arr]);
  });

  test('lrMult and wdMult scale each parameter\'s learning rate and weight decay', () => {
    const { a, b, trainer, done } = setup('sgd', { learningRate: 0.5, wd: 0.1 });
    a.lrMult = 2;
    b.wdMult = 0;
    backwardWith([a, b], [[1, 1], [1, 1, 1]]);
    trainer.step(1);
    expectClose(values(a.arr), [1 - 1 * (1 + 0.1 * 1), 2 - 1 * (1 + 0.1 * 2)], 1e-15);
    expectClose(values(b.arr), [2.5, 3.5, 4.5], 1e-15);
    done();
  });

  test('learningRate, setLearningRate, an optimizer instance, and a schedule', () => {
    const { a, b, trainer, done } = setup();
    expect(trainer.learningRate).toBe(0.5);
    trainer.setLearningRate(0.25);
    expect(trainer.learningRate).toBe(0.25);
    done();
    const opt = new optimizer.SGD({ lrScheduler: new lrScheduler.FactorScheduler(1, { factor: 0.5, baseLr: 1 }) });
    const s = setup(opt, null);
    for (const lr of [1, 0.5, 0.25]) { // the count reaches 1, 2, 3 before the rate is read (MXNet)
      backwardWith([s.a, s.b], [[1, 1], [0, 0, 0]]);
      const before = values(s.a.arr)[0];
      s.trainer.step(1);
      expect(before - values(s.a.arr)[0]).toBeCloseTo(lr, 12);
    }
    expect(errorOf(() => s.trainer.setLearningRate(0.1)).code).toBe('BAD_ARGUMENT');
    expect(errorOf(() => new gluon.Trainer([s.a], opt, { learningRate: 1 })).code).toBe('BAD_ARGUMENT');
    s.done();
  });

  test('bad arguments are BAD_ARGUMENT', () => {
    const { a, trainer, done } = setup();
    expect(errorOf(() => trainer.step(0)).code).toBe('BAD_ARGUMENT');
    expect(errorOf(() => trainer.step(1, { ignoreStal: true } as any)).message).toContain("did you mean 'ignoreStale'");
    expect(errorOf(() => new gluon.Trainer([a], 'sgdd')).code).toBe('BAD_ARGUMENT');
    expect(errorOf(() => new gluon.Trainer([a], 'sgd', { momentun: 0.9 })).message).toContain("did you mean 'momentum'");
    expect(errorOf(() => new gluon.Trainer([a], 'sgd', {}, { kvstore: 'dist_async' })).code).toBe('BAD_ARGUMENT');
    done();
  });

  test('saveStates / loadStates restore momentum and counts; a bad file is BAD_FILE and changes nothing', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ndgrad-')), 'trainer.states');
    const grads = (t: number): number[][] => [[t, -t], [1, t, 2]];
    const run = (p: { a: Param; b: Param; trainer: InstanceType<typeof gluon.Trainer> }, from: number, to: number) => {
      for (let t = from; t < to; t++) {
        backwardWith([p.a, p.b], grads(t));
        p.trainer.step(2);
      }
    };
    const opts = { learningRate: 0.01, beta1: 0.5 };
    const s1 = setup('adam', opts);
    run(s1, 0, 2);
    s1.trainer.saveStates(file);
    const saved = [values(s1.a.arr), values(s1.b.arr)];
    run(s1, 2, 5);
    const s2 = setup('adam', opts);
    nd.tidy(() => {
      s2.a.setData(nd.array(saved[0], { dtype: 'float64' }));
      s2.b.setData(nd.array(saved[1], { dtype: 'float64' }));
    });
    fs.writeFileSync(file + '.bad', fs.readFileSync(file, 'utf8').slice(0, 100));
    expect(errorOf(() => s2.trainer.loadStates(file + '.bad')).code).toBe('BAD_FILE');
    s2.trainer.loadStates(file);
    run(s2, 2, 5);
    expect(values(s2.a.arr)).toEqual(values(s1.a.arr));
    expect(values(s2.b.arr)).toEqual(values(s1.b.arr));
    s1.done();
    s2.done();
    // a file with a wrong state shape or from another optimizer leaves the states as they were
    const s3 = setup('adam', opts), s4 = setup('adam', opts);
    run(s3, 0, 2);
    run(s4, 0, 2);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    doc.states[doc.states.length - 1].arrays[1].shape = [9];
    fs.writeFileSync(file + '.shape', JSON.stringify(doc));
    expect(errorOf(() => s3.trainer.loadStates(file + '.shape')).code).toBe('SHAPE_MISMATCH');
    fs.writeFileSync(file + '.opt', JSON.stringify({ ...doc, optimizer: 'SGD' }));
    expect(errorOf(() => s3.trainer.loadStates(file + '.opt')).code).toBe('BAD_FILE');
    run(s3, 2, 4);
    run(s4, 2, 4);
    expect(values(s3.a.arr)).toEqual(values(s4.a.arr));
    expect(values(s3.b.arr)).toEqual(values(s4.b.arr));
    s3.done();
    s4.done();
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });
});

describe('training end to end', () => {
  test.each(['sgd', 'nag', 'adam', 'adamw', 'rmsprop', 'adagrad'])('%s fits a linear model in float32, each step in nd.tidy', (name) => {
    const w = new Param('w', nd.zeros([3, 1])), b = new Param('b', nd.zeros([1]));
    const lr = name.startsWith('adam') || name === 'rmsprop' ? 0.05 : name === 'adagrad' ? 0.5 : 0.1;
    const extra = name === 'sgd' || name === 'nag' ? { momentum: 0.9 } : {};
    const trainer = new gluon.Trainer([w, b], name, { learningRate: lr, ...extra });
    const X = nd.random.uniform(-1, 1, [64, 3]);
    const Y = nd.tidy(() => nd.dot(X, nd.array([[2], [-3], [0.5]])).add(1));
    const lossAt = () => nd.tidy(() => nd.dot(X, w.arr).add(b.arr).sub(Y).square().mean().item());
    const first = lossAt();
    for (let i = 0; i < 300; i++)
      nd.tidy(() => {
        const loss = autograd.record(() => nd.dot(X, w.arr).add(b.arr).sub(Y).square().sum());
        loss.backward();
        trainer.step(64);
      });
    expect(lossAt()).toBeLessThan(first * 0.01);
    trainer.dispose();
    nd.dispose([w.arr, b.arr, X, Y]);
  });
});

describe('optimizer.create and the optimizers\' defaults (MXNet 1.9)', () => {
  test.each([
    ['sgd', optimizer.SGD, 0.01], ['NAG', optimizer.NAG, 0.01], ['adam', optimizer.Adam, 0.001],
    ['AdamW', optimizer.AdamW, 0.001], ['rmsprop', optimizer.RMSProp, 0.001], ['adagrad', optimizer.AdaGrad, 0.01],
  ] as const)('%s', (name, C, lr) => {
    const o = optimizer.create(name);
    expect(o).toBeInstanceOf(C);
    expect(o.learningRate).toBe(lr);
  });
});

describe('lrScheduler (MXNet 1.9 formulas)', () => {
  test('FactorScheduler with linear warm-up', () => {
    const s = new lrScheduler.FactorScheduler(10, { factor: 0.5, baseLr: 1, warmupSteps: 4, warmupBeginLr: 0.2 });
    expectClose([0, 2].map((n) => s.at(n)), [0.2, 0.6], 1e-15);
    expect([4, 10, 11, 20, 21, 35].map((n) => s.at(n))).toEqual([1, 1, 0.5, 0.5, 0.25, 0.125]);
  });
  test('MultiFactorScheduler with constant warm-up', () => {
    const s = new lrScheduler.MultiFactorScheduler([5, 8], { factor: 0.1, baseLr: 1, warmupSteps: 2, warmupBeginLr: 0.5, warmupMode: 'constant' });
    const got = [0, 1, 2, 5, 6, 8, 9, 100].map((n) => s.at(n));
    expectClose(got, [0.5, 0.5, 1, 1, 0.1, 0.1, 0.01, 0.01], 1e-12);
  });
  test('PolyScheduler and CosineScheduler', () => {
    const p = new lrScheduler.PolyScheduler(12, { baseLr: 1, pwr: 2, finalLr: 0.1, warmupSteps: 2 });
    expectClose([1, 2, 7, 12, 20].map((n) => p.at(n)), [0.5, 1, 0.1 + 0.9 * 0.25, 0.1, 0.1], 1e-12);
    const c = new lrScheduler.CosineScheduler(10, { baseLr: 2, finalLr: 0 });
    expectClose([0, 5, 10, 11].map((n) => c.at(n)), [2, 1, 0, 0], 1e-12);
  });
  test('bad settings are BAD_ARGUMENT', () => {
    expect(errorOf(() => new lrScheduler.FactorScheduler(0)).code).toBe('BAD_ARGUMENT');
    expect(errorOf(() => new lrScheduler.FactorScheduler(1, { factor: 2 })).code).toBe('BAD_ARGUMENT');
    expect(errorOf(() => new lrScheduler.MultiFactorScheduler([3, 2])).code).toBe('BAD_ARGUMENT');
    expect(errorOf(() => new lrScheduler.CosineScheduler(10, { warmupMode: 'cubic' as any })).code).toBe('BAD_ARGUMENT');
  });
});

describe('gluon.utils.clipGlobalNorm', () => {
  test('scales every array by maxNorm / norm when the norm is larger, and returns the norm', () => {
    const x = nd.array([3, 0], { dtype: 'float64' }), y = nd.array([[0, 4]], { dtype: 'float64' });
    expect(gluon.utils.clipGlobalNorm([x, y], 1)).toBeCloseTo(5, 12);
    expectClose(values(x), [3 / (5 + 1e-8), 0], 1e-12);
    expectClose(values(y), [0, 4 / (5 + 1e-8)], 1e-12);
    expect(gluon.utils.clipGlobalNorm([x, y], 10)).toBeCloseTo(1, 6);
    expectClose(values(x), [3 / (5 + 1e-8), 0], 1e-12);
    expect(errorOf(() => gluon.utils.clipGlobalNorm([], 1)).code).toBe('BAD_ARGUMENT');
    nd.dispose([x, y]);
  });
});
