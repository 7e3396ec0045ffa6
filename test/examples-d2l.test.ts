// The ported d2l.ai chapters (examples/d2l/) run in quick mode on small generated Fashion-MNIST-shaped
// IDX files, so they cannot rot: each prints what the book prints, learns where it trains, and leaks nothing.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { nd } from '../lib';
import { freshAutogradState, idx, liveMemory } from './helpers';
import * as linearRegression from '../examples/d2l/linear-regression';
import * as softmaxRegression from '../examples/d2l/softmax-regression';
import * as mlp from '../examples/d2l/mlp';
import * as dropout from '../examples/d2l/dropout';
import * as lenet from '../examples/d2l/lenet';
import * as batchNorm from '../examples/d2l/batch-norm';
import * as parameters from '../examples/d2l/parameters';
import * as customLayers from '../examples/d2l/custom-layers';
import * as readWrite from '../examples/d2l/read-write';
import { parseArgs } from '../examples/d2l/d2l';

freshAutogradState();

// A learnable stand-in for Fashion-MNIST: image i of label (i * 7) % 10 has a bright band on rows
// 2 * label .. 2 * label + 3 over a faint pattern, so a linear model separates the classes.
function writeSet(dir: string, prefix: string, n: number): void {
  const labels = Uint8Array.from({ length: n }, (_, i) => (i * 7) % 10);
  const images = Uint8Array.from({ length: n * 784 }, (_, k) => {
    const i = Math.floor(k / 784);
    const r = Math.floor(k / 28) % 28;
    return r >= 2 * labels[i] && r < 2 * labels[i] + 4 ? 200 + ((k * 13) % 56) : (k * 31 + i) % 40;
  });
  fs.writeFileSync(path.join(dir, `${prefix}-images-idx3-ubyte`), idx(0x803, [n, 28, 28], images));
  fs.writeFileSync(path.join(dir, `${prefix}-labels-idx1-ubyte`), idx(0x801, [n], labels));
}

let data: string;
let log: jest.SpyInstance;
let printed: string[];
beforeAll(() => {
  data = fs.mkdtempSync(path.join(os.tmpdir(), 'ndgrad-d2l-'));
  writeSet(data, 'train', 600);
  writeSet(data, 't10k', 300);
});
afterAll(() => fs.rmSync(data, { recursive: true, force: true }));
beforeEach(() => {
  nd.random.seed(0);
  printed = [];
  log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void printed.push(a.join(' ')));
});
afterEach(() => log.mockRestore());

/** Runs a chapter's main in quick mode on the generated files and checks it leaves no array behind. */
function run<T>(main: (argv: string[]) => T): T {
  const before = liveMemory();
  const out = main(['--quick', '--data', data]);
  expect(liveMemory()).toEqual(before);
  return out;
}

test('the command line: --data DIR, --quick, anything else is an error naming it', () => {
  expect(parseArgs([])).toEqual({ data: '/usr/share/datasets/fashion-mnist', quick: false });
  expect(parseArgs(['--quick', '--data', '/x'])).toEqual({ data: '/x', quick: true });
  expect(() => parseArgs(['--epochs', '3'])).toThrow(/unknown argument '--epochs'/);
});

test('3.3 linear regression (concise) recovers w and b', () => {
  const { wError, bError } = run(linearRegression.main);
  for (const e of [...wError, bError]) expect(Math.abs(e)).toBeLessThan(0.01);
  expect(printed.filter((l) => /^epoch \d, loss \d\.\d{6}$/.test(l))).toHaveLength(3);
  expect(printed.at(-1)).toMatch(/^error in estimating b: -?\d\.\d{6}$/);
});

describe.each([
  ['3.7 softmax regression (concise)', softmaxRegression.main, 0.5],
  ['4.3 MLP (concise)', mlp.main, 0.3],
  ['4.6 dropout (concise)', dropout.main, 0],
])('%s', (_name, main, minTestAcc) => {
  test('trains one quick epoch over the slice and prints the epoch line', () => {
    const r = run(main);
    expect(r.trainLoss).toBeGreaterThan(0);
    expect(r.trainLoss).toBeLessThan(5);
    expect(r.testAcc).toBeGreaterThanOrEqual(minTestAcc);
    expect(r.testAcc).toBeLessThanOrEqual(1);
    expect(printed).toEqual([`epoch 1, loss ${r.trainLoss.toFixed(3)}, train acc ${r.trainAcc.toFixed(3)}, test acc ${r.testAcc.toFixed(3)}`]);
  });
});

test('6.6 LeNet prints the layer shapes and the closing lines of train_ch6', () => {
  const r = run(lenet.main);
  expect(printed.slice(0, 7).map((l) => l.replace(/^\S+ /, ''))).toEqual(
    ['(1, 6, 28, 28)', '(1, 6, 14, 14)', '(1, 16, 10, 10)', '(1, 16, 5, 5)', '(1, 120)', '(1, 84)', '(1, 10)']
      .map((s) => `output shape:\t ${s}`));
  expect(printed[7]).toMatch(/^epoch 1, /);
  expect(printed[8]).toBe(`loss ${r.trainLoss.toFixed(3)}, train acc ${r.trainAcc.toFixed(3)}, test acc ${r.testAcc.toFixed(3)}`);
  expect(printed[9]).toMatch(/^\d+\.\d examples\/sec on cpu\(0\)$/);
  expect(Number.isFinite(r.trainLoss)).toBe(true);
});

test('7.5 batch normalization (concise) trains and moves the first layer\'s gamma and beta', () => {
  const r = run(batchNorm.main);
  expect(Number.isFinite(r.trainLoss)).toBe(true);
  expect(r.gamma).toHaveLength(6);
  expect(r.gamma.some((g) => g !== 1)).toBe(true);
  expect(r.beta.some((b) => b !== 0)).toBe(true);
});

test('5.2 parameter management: access, initializers, a custom one, tied parameters', () => {
  expect(run(parameters.main)).toEqual({ tiedBefore: true, tiedAfter: true, myInitZeroOrLarge: true });
  expect(printed).toContain('Parameter bias (shape=(1), dtype=float32)');
  expect(printed.filter((l) => l.startsWith('Init '))).toEqual(['Init weight (8, 4)', 'Init weight (1, 8)']);
});

test('5.4 custom layers: a centered layer and MyDense through params.get', () => {
  const r = run(customLayers.main);
  expect(r.centered).toEqual([-2, -1, 0, 1, 2]);
  expect(Math.abs(r.centeredMean)).toBeLessThan(1e-6);
  expect(r.myDenseOut).toHaveLength(2);
  for (const [v] of r.myDenseOut) expect(v).toBeGreaterThanOrEqual(0);
});

test('5.5 file I/O: arrays, lists, dicts and a network\'s parameters round-trip', () => {
  expect(run(readWrite.main)).toEqual({ sameLoaded: true, sameClone: true });
});
