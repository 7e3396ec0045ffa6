// Empty arrays cost O(1): every op on a huge-but-empty shape (a dim of 2**40 next to a 0) returns at
// once, in forward and backward, and a contraction or reduction over an empty axis gives its identity
// (zeros for sum/dot, ones for prod, NaN for mean) with work proportional to the result only.
// A native loop over 2**40 entries cannot be interrupted inside jest, so each case runs in a child
// process (test/fixtures/empty-driver.js) and a case that does not answer within its budget fails.
import { fork, ChildProcess } from 'child_process';
import * as path from 'path';
import type { nd as ND } from '../lib';

type Make = (nd: typeof ND, B: number) => { inputs: any[]; f: (...xs: any[]) => any; grad?: boolean };
interface Result {
  shapes: number[][];
  values: (number[] | null)[];
  grads: { shape: number[]; inputShape: number[]; values: number[] | null }[] | null;
}

const BUDGET_MS = 5000; // O(1) work takes milliseconds; a loop over 2**40 entries takes days
const B = 2 ** 40;

let child: ChildProcess | null = null;
let ready: Promise<void> | null = null;
let nextId = 0;

function start(): Promise<void> {
  const c = fork(path.join(__dirname, 'fixtures', 'empty-driver.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced', // NaN survives
  });
  child = c;
  return new Promise((resolve, reject) => {
    c.once('message', () => resolve());
    c.once('exit', (code, sig) => reject(new Error(`empty-driver exited (${code ?? sig}) before it was ready`)));
  });
}

function run(make: Make): Promise<Result> {
  const c = child!;
  const id = ++nextId;
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null, sig: string | null) => {
      clearTimeout(timer);
      c.removeListener('message', onMessage);
      ready = start();
      reject(new Error(`empty-driver died (${code ?? sig}) during the case`));
    };
    const timer = setTimeout(() => {
      c.removeListener('message', onMessage);
      c.removeListener('exit', onExit);
      c.kill('SIGKILL');  // stuck in a native loop: restart for the next case
      ready = start();
      reject(new Error(`no answer within ${BUDGET_MS} ms: the op loops over the empty array's other dims`));
    }, BUDGET_MS);
    const onMessage = (m: any) => {
      if (m.id !== id) return;
      clearTimeout(timer);
      c.removeListener('message', onMessage);
      c.removeListener('exit', onExit);
      if (m.error) reject(new Error(m.error));
      else resolve(m.result);
    };
    c.on('message', onMessage);
    c.once('exit', onExit);
    c.send({ id, src: make.toString() });
  });
}

beforeAll(() => (ready = start()), 60000);
afterAll(() => {
  child?.kill();
});

// [title, case, output shapes, output values (checked when the output is small)]
type Row = [string, Make, number[][], (number[] | undefined)[]?];

const CASES: Row[] = [
  // creation
  ['zeros / full / ones / zerosLike / onesLike', (nd, B) => ({ inputs: [], f: () => [nd.zeros([B, 0]), nd.full([0, B], 7, { dtype: 'int32' }), nd.ones([B, B, 0]), nd.zerosLike(nd.zeros([0, B])), nd.onesLike(nd.zeros([0, B]))], grad: false }), [[B, 0], [0, B], [B, B, 0], [0, B], [0, B]]],
  ['arange with no elements', (nd, B) => ({ inputs: [], f: () => [nd.arange(B, B), nd.arange(0, -B)], grad: false }), [[0], [0]]],
  ['eye with no rows', (nd, B) => ({ inputs: [], f: () => nd.eye(0, B, 3), grad: false }), [[0, B]]],
  ['random uniform / normal', (nd, B) => ({ inputs: [], f: () => [nd.random.uniform(0, 1, [B, 0]), nd.random.normal(0, 1, [0, B])], grad: false }), [[B, 0], [0, B]]],
  // elementwise
  ['unary', (nd, B) => ({ inputs: [nd.zeros([B, 0], { dtype: 'float64' })], f: (x) => [x.exp(), x.tanh(), x.abs(), x.floor()] }), [[B, 0], [B, 0], [B, 0], [B, 0]]],
  ['binary with broadcasting (gradient of the broadcast side: zeros)', (nd, B) => ({ inputs: [nd.zeros([B, 0, 1], { dtype: 'float64' }), nd.ones([1, 5], { dtype: 'float64' })], f: (a, b) => [a.mul(b), nd.power(a, b), nd.maximum(a, b), a.div(b)] }), [[B, 0, 5], [B, 0, 5], [B, 0, 5], [B, 0, 5]]],
  ['binary with a number, both sides', (nd, B) => ({ inputs: [nd.zeros([0, B], { dtype: 'float64' })], f: (x) => [x.add(1), nd.subtract(1, x), nd.divide(2, x), x.mod(3), nd.power(2, x), x.mul(x)] }), [[0, B], [0, B], [0, B], [0, B], [0, B], [0, B]]],
  ['comparisons', (nd, B) => ({ inputs: [nd.zeros([B, 0], { dtype: 'float64' })], f: (x) => [x.greater(0), nd.equal(x, x)] }), [[B, 0], [B, 0]]],
  ['where', (nd, B) => ({ inputs: [nd.zeros([B, 0]), nd.zeros([B, 0], { dtype: 'float64' }), nd.ones([1], { dtype: 'float64' })], f: (c, x, y) => nd.where(c, x, y) }), [[B, 0]]],
  ['clip', (nd, B) => ({ inputs: [nd.zeros([B, 0], { dtype: 'float64' })], f: (x) => nd.clip(x, -1, 1) }), [[B, 0]]],
  ['astype / copy', (nd, B) => ({ inputs: [nd.zeros([B, 0], { dtype: 'float64' })], f: (x) => [x.astype('float32'), x.astype('int32'), x.copy()] }), [[B, 0], [B, 0], [B, 0]]],
  // reductions
  ['sum / mean / prod / max / argmax over a huge axis to an empty result', (nd, B) => ({ inputs: [nd.zeros([B, 0], { dtype: 'float64' })], f: (x) => [x.sum({ axis: 0 }), x.mean({ axis: 0 }), x.prod({ axis: 0 }), x.max({ axis: 0 }), x.argmax({ axis: 0 })] }), [[0], [0], [0], [0], [0]]],
  ['sum / mean / prod / norm over empty axes give their identity', (nd, B) => ({ inputs: [nd.zeros([B, 0, 3], { dtype: 'float64' })], f: (x) => [x.sum({ axis: [0, 1] }), x.mean({ axis: [0, 1] }), x.prod({ axis: [0, 1] }), nd.norm(x, { axis: [0, 1] }), x.sum()] }), [[3], [3], [3], [3], []], [[0, 0, 0], [NaN, NaN, NaN], [1, 1, 1], [0, 0, 0], [0]]],
  ['integer sum of an empty array', (nd, B) => ({ inputs: [nd.zeros([B, 0], { dtype: 'int32' })], f: (x) => [x.sum(), x.prod()], grad: false }), [[], []], [[0], [1]]],
  // shape and layout
  ['transpose / swapAxes / flip / broadcastTo', (nd, B) => ({ inputs: [nd.zeros([B, 0, 1], { dtype: 'float64' })], f: (x) => [x.transpose(), nd.swapAxes(x, 0, 1), nd.flip(x, 0), nd.broadcastTo(x, [B, 0, B])] }), [[1, 0, B], [0, B, 1], [B, 0, 1], [B, 0, B]]],
  ['tile / repeat', (nd, B) => ({ inputs: [nd.zeros([B, 0], { dtype: 'float64' })], f: (x) => [nd.tile(x, [2, B]), nd.repeat(x, 3, { axis: 0 }), nd.repeat(x, B, { axis: 1 }), nd.repeat(x, B)] }), [[2 * B, 0], [3 * B, 0], [B, 0], [0]]],
  ['concat / stack / split', (nd, B) => ({ inputs: [nd.zeros([B, 0], { dtype: 'float64' }), nd.zeros([B, 0], { dtype: 'float64' })], f: (a, b) => [nd.concat([a, b], { dim: 0 }), nd.concat([a, b], { dim: 1 }), nd.stack([a, b], { axis: 2 }), ...nd.split(a, { numOutputs: 2, axis: 0 })] }), [[2 * B, 0], [B, 0], [B, 0, 2], [B / 2, 0], [B / 2, 0]]],
  ['slice / sliceAxis', (nd, B) => ({ inputs: [nd.zeros([B, 0], { dtype: 'float64' })], f: (x) => [nd.slice(x, [1, 0], [B - 1, 0]), nd.sliceAxis(x, 0, 0, B - 2), nd.sliceAxis(x, 0, 5, 5)] }), [[B - 2, 0], [B - 2, 0], [0, 0]]],
  ['strided slice / at / expandDims / flatten / min / argmin', (nd, B) => ({ inputs: [nd.zeros([B, 0, 2], { dtype: 'float64' })], f: (x) => [nd.slice(x, [0, 0, 0], [B, 0, 2], [3, 1, 1]), x.at(5), x.expandDims(1), x.flatten(), x.min({ axis: 2 }), x.argmin({ axis: 0 })] }), [[Math.ceil(B / 3), 0, 2], [0, 2], [B, 1, 0, 2], [B, 0], [B, 0], [0, 2]]],
  ['take (empty data rows, and empty indices)', (nd, B) => ({ inputs: [nd.zeros([B, 0], { dtype: 'float64' }), nd.ones([5, 3], { dtype: 'float64' })], f: (x, w) => [nd.take(x, nd.array([0, B - 1], { dtype: 'float64' })), nd.take(w, nd.zeros([B, 0]))] }), [[2, 0], [B, 0, 3]]],
  ['pick / oneHot', (nd, B) => ({ inputs: [nd.zeros([B, 0, 3], { dtype: 'float64' })], f: (x) => [nd.pick(x, nd.zeros([B, 0]), { axis: 2 }), nd.oneHot(nd.zeros([B, 0]), B), nd.oneHot(nd.zeros([0]), B)] }), [[B, 0], [B, 0, B], [0, B]]],
  ['sort / argsort / topk along an empty axis and across a huge one', (nd, B) => ({ inputs: [nd.zeros([B, 0], { dtype: 'float64' })], f: (x) => [nd.sort(x), nd.argsort(x, { axis: 0 }), nd.sort(x, { axis: 0, isAscend: false }), nd.topk(x, { k: 0, retTyp: 'value' }), nd.topk(x, { axis: 0, k: 3, retTyp: 'value' }), nd.topk(x, { axis: 0, k: 2, retTyp: 'mask' })] }), [[B, 0], [B, 0], [B, 0], [B, 0], [3, 0], [B, 0]]],
  ['Embedding with empty indices (weight gradient: zeros)', (nd, B) => ({ inputs: [nd.zeros([B, 0]), nd.ones([5, 3], { dtype: 'float64' })], f: (i, w) => nd.Embedding(i, w, { inputDim: 5, outputDim: 3 }) }), [[B, 0, 3]]],
  // linear algebra
  ['batchDot with an empty result over a huge batch', (nd, B) => ({ inputs: [nd.zeros([B, 0, 1], { dtype: 'float64' }), nd.zeros([B, 1, 0], { dtype: 'float64' })], f: (a, b) => a.batchDot(b) }), [[B, 0, 0]]],
  ['batchDot with K=0 gives zeros', (nd) => ({ inputs: [nd.ones([2, 3, 0], { dtype: 'float64' }), nd.ones([2, 0, 2], { dtype: 'float64' })], f: (a, b) => [a.batchDot(b), nd.batchDot(b, a, { transposeA: true, transposeB: true })] }), [[2, 3, 2], [2, 2, 3]], [Array(12).fill(0), Array(12).fill(0)]],
  ['dot with an empty result over a huge K', (nd, B) => ({ inputs: [nd.zeros([0, B], { dtype: 'float64' }), nd.zeros([B, 0], { dtype: 'float64' })], f: (a, b) => [nd.dot(a, b), nd.dot(b, a, { transposeA: true, transposeB: true })] }), [[0, 0], [0, 0]]],
  ['dot with K=0 gives zeros (vectors, matrices, transposed)', (nd) => ({ inputs: [nd.ones([0], { dtype: 'float64' }), nd.ones([3, 0], { dtype: 'float64' }), nd.ones([0, 2], { dtype: 'float64' })], f: (v, a, b) => [nd.dot(v, v), nd.dot(a, b), nd.dot(b, a, { transposeA: true, transposeB: true })] }), [[], [3, 2], [2, 3]], [[0], Array(6).fill(0), Array(6).fill(0)]],
  // neural-network layers
  ['FullyConnected with an empty batch (weight and bias gradients: zeros)', (nd, B) => ({ inputs: [nd.zeros([0, 3], { dtype: 'float64' }), nd.ones([4, 3], { dtype: 'float64' }), nd.ones([4], { dtype: 'float64' }), nd.zeros([B, 0, 3], { dtype: 'float64' })], f: (x, w, b, x3) => [nd.FullyConnected(x, w, b, { numHidden: 4 }), nd.FullyConnected(x3, w, b, { numHidden: 4, flatten: false })] }), [[0, 4], [B, 0, 4]]],
  ['FullyConnected with zero input features gives the bias', (nd) => ({ inputs: [nd.ones([2, 0], { dtype: 'float64' }), nd.ones([3, 0], { dtype: 'float64' }), nd.array([1, 2, 3], { dtype: 'float64' })], f: (x, w, b) => [nd.FullyConnected(x, w, b, { numHidden: 3 }), nd.FullyConnected(x, w, null, { numHidden: 3, noBias: true })], grad: false }), [[2, 3], [2, 3]], [[1, 2, 3, 1, 2, 3], Array(6).fill(0)]],
  ['Convolution with an empty batch and a huge image', (nd, B) => ({ inputs: [nd.zeros([0, 2, B, 5], { dtype: 'float64' }), nd.ones([4, 2, 3, 3], { dtype: 'float64' }), nd.ones([4], { dtype: 'float64' })], f: (x, w, b) => nd.Convolution(x, w, b, { kernel: [3, 3], numFilter: 4 }) }), [[0, 4, B - 2, 3]]],
  ['Convolution with zero input channels gives the bias', (nd) => ({ inputs: [nd.ones([1, 0, 4, 4], { dtype: 'float64' }), nd.ones([2, 0, 3, 3], { dtype: 'float64' }), nd.array([1, 2], { dtype: 'float64' })], f: (x, w, b) => nd.Convolution(x, w, b, { kernel: [3, 3], numFilter: 2 }), grad: false }), [[1, 2, 2, 2]], [[1, 1, 1, 1, 2, 2, 2, 2]]],
  ['Pooling', (nd, B) => ({ inputs: [nd.zeros([0, 3, B, 4], { dtype: 'float64' }), nd.zeros([B, 0, 4, 4], { dtype: 'float64' })], f: (x, y) => [nd.Pooling(x, { kernel: [2, 2], stride: [2, 2] }), nd.Pooling(y, { kernel: [2, 2], poolType: 'avg' }), nd.Pooling(y, { globalPool: true, poolType: 'sum' })] }), [[0, 3, B / 2, 2], [B, 0, 3, 3], [B, 0, 1, 1]]],
  ['softmax / logSoftmax over an empty axis and over a huge one', (nd, B) => ({ inputs: [nd.zeros([B, 0], { dtype: 'float64' })], f: (x) => [nd.softmax(x), nd.logSoftmax(x), nd.softmax(x, { axis: 0 })] }), [[B, 0], [B, 0], [B, 0]]],
  ['softmaxCrossEntropy of an empty batch is 0', (nd, B) => ({ inputs: [nd.zeros([0, B], { dtype: 'float64' })], f: (x) => nd.softmaxCrossEntropy(x, nd.zeros([0])) }), [[]], [[0]]],
  ['Activation / LeakyReLU / Dropout', (nd, B) => ({ inputs: [nd.zeros([B, 0], { dtype: 'float64' })], f: (x) => [nd.Activation(x, { actType: 'softrelu' }), nd.LeakyReLU(x, { actType: 'gelu' }), nd.Dropout(x, { p: 0.5 })] }), [[B, 0], [B, 0], [B, 0]]],
  ['BatchNorm with zero channels (training) and LayerNorm over a huge batch', (nd, B) => ({ inputs: [nd.zeros([B, 0, 4], { dtype: 'float64' }), nd.ones([0], { dtype: 'float64' }), nd.zeros([0], { dtype: 'float64' }), nd.zeros([B, 0, 3], { dtype: 'float64' }), nd.ones([3], { dtype: 'float64' }), nd.zeros([3], { dtype: 'float64' })], f: (x, g, b, y, g2, b2) => [nd.BatchNorm(x, g, b, nd.zeros([0], { dtype: 'float64' }), nd.ones([0], { dtype: 'float64' })), nd.LayerNorm(y, g2, b2)] }), [[B, 0, 4], [B, 0, 3]]],
  ['LayerNorm over an empty axis of a huge batch', (nd, B) => ({ inputs: [nd.zeros([B, 0], { dtype: 'float64' }), nd.ones([0], { dtype: 'float64' }), nd.zeros([0], { dtype: 'float64' })], f: (x, g, b) => nd.LayerNorm(x, g, b) }), [[B, 0]]],
  // Two huge dims next to the 0: their product passes int64, which must not matter (signed overflow
  // is undefined behaviour; the sanitizer run of .ci/run reports it).
  ['two huge dims next to a 0 (outer/batch sizes past int64)', (nd, B) => ({ inputs: [nd.zeros([B, B, 0, 2], { dtype: 'float64' }), nd.ones([0], { dtype: 'float64' }), nd.zeros([0], { dtype: 'float64' })], f: (x, g, b) => [nd.BatchNorm(x, g, b, nd.zeros([0], { dtype: 'float64' }), nd.ones([0], { dtype: 'float64' }), { axis: 2 }), nd.repeat(x, 2, { axis: 2 }), nd.batchDot(x, x.swapAxes(2, 3)), nd.dot(x.reshape([B, B, 0, 2]).sliceAxis(3, 0, 0), nd.zeros([0, 3], { dtype: 'float64' })), nd.FullyConnected(x, nd.ones([3, 2], { dtype: 'float64' }), null, { numHidden: 3, noBias: true, flatten: false })] }), [[B, B, 0, 2], [B, B, 0, 2], [B, B, 0, 0], [B, B, 0, 3], [B, B, 0, 3]]],
  ['BatchNorm in predict mode with an empty batch', (nd) => ({ inputs: [nd.zeros([0, 3], { dtype: 'float64' }), nd.ones([3], { dtype: 'float64' }), nd.zeros([3], { dtype: 'float64' })], f: (x, g, b) => nd.BatchNorm(x, g, b, nd.zeros([3], { dtype: 'float64' }), nd.ones([3], { dtype: 'float64' }), { useGlobalStats: true }) }), [[0, 3]]],
];

describe('an op on an empty array does O(1) work, forward and backward', () => {
  test.each(CASES.map((row) => ({ title: row[0], row })))('$title', async ({ row }) => {
    const [, make, shapes, values] = row;
    await ready;
    const r = await run(make);
    expect(r.shapes).toEqual(shapes);
    (values ?? []).forEach((v, i) => {
      if (v) expect(r.values[i]).toEqual(v);
    });
    // The loss is a sum over nothing but the empty outputs' elements, so every gradient is zero.
    for (const g of r.grads ?? []) {
      expect(g.shape).toEqual(g.inputShape);
      if (g.values) expect(g.values.every((v) => v === 0)).toBe(true);
    }
  }, BUDGET_MS + 10000);
});
