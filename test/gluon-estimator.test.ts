// gluon.Estimator: fit's results against float64 references, the progress output on a terminal and
// off it, callbacks and early stop, the yield to the event loop, no leaks, and its argument errors.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';
import * as lib from '../lib';
import { gluon, init, nd, NDArray } from '../lib';
import { expectError, freshAutogradState, liveMemory, settledLiveMemory } from './helpers';

freshAutogradState();

// Two well-separated Gaussian blobs: a linear classifier learns them in one or two epochs.
function blobs(n: number, seed: number): [NDArray, NDArray] {
  nd.random.seed(seed);
  return nd.tidy(() => {
    const y = nd.array(Array.from({ length: n }, (_, i) => i % 2), { dtype: 'int32' });
    const centre = nd.expandDims(nd.subtract(nd.multiply(y.astype('float32'), 4), 2), 1);
    return [nd.add(nd.random.normal(0, 1, [n, 2]), centre), y] as [NDArray, NDArray];
  });
}

function setup(lr = 0.5) {
  const [X, y] = blobs(200, 3);
  const loader = new gluon.data.DataLoader(new gluon.data.ArrayDataset(X, y), { batchSize: 32, shuffle: true, seed: 5 });
  const net = new gluon.nn.Sequential();
  net.add(new gluon.nn.Dense(2, { inUnits: 2 }));
  net.initialize(new init.Normal(0.01));
  const trainer = new gluon.Trainer(net.collectParams(), 'sgd', { learningRate: lr });
  const est = new gluon.Estimator({
    net, loss: new gluon.loss.SoftmaxCrossEntropyLoss(), trainer,
    trainMetrics: new gluon.metric.Accuracy(), valMetrics: new gluon.metric.Accuracy(),
  });
  const free = () => {
    net.dispose();
    trainer.dispose();
    nd.dispose([X, y]);
  };
  return { X, y, loader, net, trainer, est, free };
}

// A recording output (a fake terminal when tty is true).
function output(tty: boolean) {
  const chunks: string[] = [];
  return { chunks, out: { isTTY: tty, columns: 200, write: (s: string) => chunks.push(s) } };
}

// The mean softmax cross-entropy and the accuracy of a linear net over (X, y), in float64.
function reference(net: gluon.nn.Sequential, X: NDArray, y: NDArray): { loss: number; accuracy: number } {
  const dense = net.at(0) as gluon.nn.Dense;
  const W = dense.weight.data().toArray() as number[][];
  const b = (dense.bias as gluon.Parameter).data().toArray() as number[];
  const xs = X.toArray() as number[][];
  const ys = y.toArray() as number[];
  let loss = 0, right = 0;
  xs.forEach((x, i) => {
    const z = W.map((w, k) => w[0] * x[0] + w[1] * x[1] + b[k]);
    const m = Math.max(...z);
    const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
    loss += lse - z[ys[i]];
    if (z.indexOf(m) === ys[i]) right++;
  });
  return { loss: loss / xs.length, accuracy: right / xs.length };
}

test('fit learns, reports per-epoch results that match a float64 evaluation, and leaks nothing', async () => {
  const before = await settledLiveMemory();
  const { X, y, loader, net, est, free } = setup();
  const valLoader = new gluon.data.DataLoader(new gluon.data.ArrayDataset(X, y), { batchSize: 64 });
  const history = await est.fit(loader, { valData: valLoader, epochs: 3, output: null });
  expect(history.map((h) => h.epoch)).toEqual([1, 2, 3]);
  for (const h of history) {
    expect(h.samples).toBe(200);
    expect(Object.keys(h.train).sort()).toEqual(['accuracy', 'loss']);
    expect(h.seconds).toBeGreaterThanOrEqual(0);
  }
  expect(history[2].train.accuracy).toBeGreaterThan(0.95);
  expect(history[2].train.loss).toBeLessThan(history[0].train.loss);
  // the validation after the last epoch is the trained net's loss and accuracy over the data
  const ref = reference(net, X, y);
  expect(history[2].val!.loss).toBeCloseTo(ref.loss, 5);
  expect(history[2].val!.accuracy).toBeCloseTo(ref.accuracy, 10);
  expect(await est.evaluate(valLoader)).toEqual(history[2].val);
  free();
  expect(liveMemory()).toEqual(before);
});

test("with learning rate 0 an epoch's train loss is the float64 mean loss of the untouched net", async () => {
  const before = await settledLiveMemory();
  const { X, y, loader, net, est, free } = setup(0);
  const ref = reference(net, X, y);
  const [h] = await est.fit(loader, { epochs: 1, output: null });
  expect(h.train.loss).toBeCloseTo(ref.loss, 5);
  expect(h.train.accuracy).toBeCloseTo(ref.accuracy, 10);
  expect(h.val).toBeUndefined();
  free();
  expect(liveMemory()).toEqual(before);
});

test('callbacks see every batch and epoch; returning false from onEpochEnd or onBatchEnd stops', async () => {
  const before = await settledLiveMemory();
  const { loader, est, free } = setup();
  const seen: string[] = [];
  let batches = 0;
  const history = await est.fit(loader, {
    epochs: 5, output: null,
    callbacks: [
      { onTrainBegin: () => void seen.push('begin'), onEpochBegin: (e) => void seen.push(`epoch ${e}`), onTrainEnd: (h) => void seen.push(`end ${h.length}`) },
      {
        onBatchEnd: (b) => {
          expect(b.batchSize).toBe(b.batch === 6 ? 8 : 32);
          expect(b.samples).toBe(Math.min(200, 32 * (b.batch + 1)));
          expect(Number.isFinite(b.loss)).toBe(true);
          batches++;
        },
        onEpochEnd: async (e) => e.epoch < 2,
      },
    ],
  });
  expect(history.length).toBe(2);
  expect(batches).toBe(14);
  expect(seen).toEqual(['begin', 'epoch 1', 'epoch 2', 'end 2']);

  const early = await est.fit(loader, { epochs: 3, output: null, callbacks: { onBatchEnd: (b) => b.batch < 2 } });
  expect(early.length).toBe(1);
  expect(early[0].samples).toBe(96);
  free();
  expect(liveMemory()).toEqual(before);
});

test('off a terminal it writes one plain line per epoch; on one, a progress bar redrawn in place', async () => {
  const { loader, est, free } = setup();
  const plain = output(false);
  await est.fit(loader, { epochs: 2, output: plain.out });
  expect(plain.chunks.length).toBe(2);
  expect(plain.chunks[0]).toMatch(/^epoch 1\/2 {2}\d+\.\d s {2}\S+ samples\/s {2}loss \S+ {2}accuracy \S+\n$/);
  expect(plain.chunks.join('')).not.toContain('\r');

  const tty = output(true);
  await est.fit(loader, { epochs: 1, output: tty.out, valData: loader });
  const bars = tty.chunks.filter((c) => !c.endsWith('\n'));
  expect(bars.length).toBeGreaterThan(0);
  expect(bars[bars.length - 1]).toMatch(/^\r\x1b\[Kepoch 1\/1 \[=+\] 7\/7 {2}\S+ samples\/s {2}loss \S+ {2}accuracy \S+$/);
  const last = tty.chunks[tty.chunks.length - 1];
  expect(last).toMatch(/^\r\x1b\[Kepoch 1\/1 .* val loss \S+ {2}val accuracy \S+\n$/);
  free();
});

test('fit is async and yields to the event loop between batches', async () => {
  const { loader, est, free } = setup();
  let ticks = 0;
  let running = true;
  const tick = (): void => {
    ticks++;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  const done = est.fit(loader, { epochs: 2, output: null });
  expect(done).toBeInstanceOf(Promise);
  await done;
  running = false;
  // 14 batches: the other task ran between them
  expect(ticks).toBeGreaterThanOrEqual(14);
  free();
});

test('async iterables of batches train too; a bad batch, net or option is BAD_ARGUMENT', async () => {
  const before = await settledLiveMemory();
  const { X, y, loader, net, est, free } = setup();
  async function* stream() {
    for (const [xb, yb] of loader) yield [xb, yb];
  }
  const [h] = await est.fit(stream(), { output: null });
  expect(h.samples).toBe(200);
  await expect(est.fit([[X]], { output: null })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  await expect(est.fit(loader, { epoch: 2 } as never)).rejects.toThrow(/unknown option 'epoch'/);
  await expect(est.fit(loader, { epochs: -1 })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  await expect(est.fit(42 as never)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  await expect(est.fit(loader, { callbacks: { onEpochEnds: () => false } as never })).rejects.toThrow(/onEpochEnds/);
  const loss = new gluon.loss.L2Loss();
  expectError(() => new gluon.Estimator({ net: {} as never, loss }), 'BAD_ARGUMENT', 'net');
  expectError(() => new gluon.Estimator({ net, loss: null as never }), 'BAD_ARGUMENT', 'loss');
  expectError(() => new gluon.Estimator({ net, loss, trainMetrics: ['acc' as never] }), 'BAD_ARGUMENT', 'trainMetrics');
  // the default trainer is MXNet's: SGD at 0.001
  const plain = new gluon.Estimator({ net, loss });
  expect(plain.trainer.learningRate).toBe(0.001);
  plain.trainer.dispose();
  free();
  expect(liveMemory()).toEqual(before);
});

test("the README's Gluon example runs as written: the weights come out and the .params file is written", async () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const source = /## Gluon[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)![1];
  const js = ts.transpileModule(source.replace('main();', 'module.exports = main();'), { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
  const logged: string[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ndgrad-readme-'));
  const cwd = process.cwd();
  const write = process.stdout.write;
  process.chdir(dir);
  process.stdout.write = ((s: string) => logged.push(s)) as never;
  try {
    const mod = { exports: undefined as unknown };
    const fakeConsole = { log: (...a: unknown[]) => logged.push(a.join(' ')) };
    new Function('require', 'module', 'exports', 'console', js)((n: string) => (n === 'ndgrad' ? lib : require(n)), mod, {}, fakeConsole);
    await mod.exports;
  } finally {
    process.stdout.write = write;
    process.chdir(cwd);
  }
  expect(logged.filter((l) => l.startsWith('epoch ')).length).toBe(3);
  expect(logged).toContain('true');
  const w = /\[\[\s*(\S+)\s+(\S+)\]\]/.exec(logged.find((l) => l.startsWith('[['))!)!;
  expect(Math.abs(Number(w[1]) - 2)).toBeLessThan(0.01);
  expect(Math.abs(Number(w[2]) + 3.4)).toBeLessThan(0.01);
  expect(Object.keys(nd.load(path.join(dir, 'linreg.params')) as object).sort()).toEqual(['0.bias', '0.weight']);
  fs.rmSync(dir, { recursive: true, force: true });
});
