// Mixed precision: bfloat16 parameters (block.cast('bfloat16')) trained through float32 master
// copies (the optimizers' multiPrecision, MXNet's multi_precision), the fused update running on the
// master copy with the gradient widened to float32, the weight getting the master copy rounded once.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { autograd, gluon, nd, NDArray, optimizer } from '../lib';
import { liveMemory } from './helpers';

const bf = (x: number[]): NDArray => nd.array(x, { dtype: 'bfloat16' });

describe('multiPrecision updates of bfloat16 weights', () => {
  test.each(['sgd', 'nag', 'adam', 'adamw', 'rmsprop', 'adagrad'])('%s: the master copy follows the float32 update exactly', (name) => {
    const start = liveMemory();
    const p = { learningRate: 0.1, ...(name === 'sgd' || name === 'nag' ? { momentum: 0.9 } : {}), wd: 0.01 };
    const mp = optimizer.create(name, { ...p, multiPrecision: true }), ref = optimizer.create(name, p);
    const w = bf([0.5, -1.25, 3, 1e-3]), w32 = w.astype('float32');
    const s = mp.createState(0, w), s32 = ref.createState(0, w32);
    expect(s.map((a) => a.dtype)).toEqual(Array(ref.numStates + 1).fill('float32'));
    for (let i = 0; i < 5; i++) {
      const g = bf([0.3 * i, -0.7, 0.011, 2]), g32 = g.astype('float32');
      mp.update([0], [w], [g], [s]);
      ref.update([0], [w32], [g32], [s32]);
      expect(s[0].toArray()).toEqual(w32.toArray());
      expect(w.toArray()).toEqual(nd.tidy(() => w32.astype('bfloat16').toArray()));
      expect(w.dtype).toBe('bfloat16');
      nd.dispose([g, g32]);
    }
    nd.dispose([w, w32, ...s, ...s32]);
    expect(liveMemory()).toEqual(start);
  });

  test('small steps accumulate in the master copy; without it a bfloat16 weight does not move', () => {
    const run = (multiPrecision: boolean): number => {
      const o = optimizer.create('sgd', { learningRate: 1e-3, multiPrecision });
      const w = bf([1]);
      const s = o.createState(0, w);
      const g = bf([1]);
      for (let i = 0; i < 100; i++) o.update([0], [w], [g], [s]); // each step 1e-3, a quarter of an ulp at 1
      const v = w.item();
      nd.dispose([w, g, ...s]);
      return v;
    };
    expect(run(false)).toBe(1);
    expect(run(true)).toBeCloseTo(0.8984375, 6); // 0.9 rounded to bfloat16
  });
});

describe("block.cast('bfloat16') and a Trainer with multiPrecision", () => {
  const net = (): gluon.nn.HybridSequential => {
    const n = new gluon.nn.HybridSequential();
    n.add(new gluon.nn.Dense(8, { activation: 'relu' }), new gluon.nn.BatchNorm(), new gluon.nn.Dense(3));
    nd.random.seed(5);
    n.initialize();
    nd.tidy(() => n.forward(nd.zeros([2, 4])).dispose());
    return n;
  };

  test('Dense weights become bfloat16, BatchNorm keeps float32; training lowers the loss; states save and load', () => {
    const start = liveMemory();
    const model = net().cast('bfloat16');
    const dtypes = Object.fromEntries([...model.collectParams()].map(([k, p]) => [k, p.data().dtype]));
    expect(dtypes['0.weight']).toBe('bfloat16');
    expect(dtypes['1.gamma']).toBe('float32');
    expect(dtypes['1.running_mean']).toBe('float32');
    expect(model.collectParams().get('0.weight').grad().dtype).toBe('bfloat16');
    const trainer = new gluon.Trainer(model.collectParams(), 'sgd', { learningRate: 0.1, momentum: 0.9, multiPrecision: true });
    nd.random.seed(6);
    const X = nd.random.uniform(-1, 1, [32, 4]);
    const Y = nd.tidy(() => nd.argmax(nd.dot(X, nd.random.uniform(-1, 1, [4, 3])), { axis: 1 }));
    const loss = new gluon.loss.SoftmaxCrossEntropyLoss();
    const lossAt = (): number => nd.tidy(() => loss.forward(model.forward(X), Y).mean().item());
    const first = lossAt();
    for (let i = 0; i < 60; i++)
      nd.tidy(() => {
        const l = autograd.record(() => {
          const out = model.forward(X);
          expect(out.dtype).toBe('bfloat16');
          return loss.forward(out, Y);
        });
        l.backward();
        trainer.step(32);
      });
    expect(lossAt()).toBeLessThan(first * 0.5);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ndgrad-bf16-'));
    trainer.saveStates(path.join(dir, 's.json'));
    const again = new gluon.Trainer(model.collectParams(), 'sgd', { learningRate: 0.1, momentum: 0.9, multiPrecision: true });
    again.loadStates(path.join(dir, 's.json'));
    const plain = new gluon.Trainer(model.collectParams(), 'sgd', { learningRate: 0.1, momentum: 0.9 });
    expect(() => plain.loadStates(path.join(dir, 's.json'))).toThrow(/states, expected|dtype/);
    fs.rmSync(dir, { recursive: true, force: true });
    for (const t of [trainer, again, plain]) t.dispose();
    model.dispose();
    nd.dispose([X, Y]);
    expect(liveMemory()).toEqual(start);
  });

  test('without multiPrecision bfloat16 weights update in place (float32 arithmetic, rounded)', () => {
    const model = net().cast('bfloat16');
    const w = model.collectParams().get('2.weight');
    const before = w.data().toArray();
    const trainer = new gluon.Trainer(model.collectParams(), 'adam', { learningRate: 0.01 });
    nd.tidy(() => {
      autograd.record(() => model.forward(nd.random.uniform(-1, 1, [4, 4])).max()).backward();
      trainer.step(4);
    });
    expect(w.data().dtype).toBe('bfloat16');
    expect(w.data().toArray()).not.toEqual(before);
    trainer.dispose();
    model.dispose();
  });
});
