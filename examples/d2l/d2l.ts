// The few functions of the book's `d2l` package (MXNet edition) the ported chapters call, with the
// chapters' command line: `--data DIR` (Fashion-MNIST's IDX files) and `--quick` (a small slice, 1 epoch).
import { autograd, gluon, init, nd, NDArray } from 'ndgrad';

export interface Options {
  data: string;
  quick: boolean;
}

export function parseArgs(argv: string[]): Options {
  const opts: Options = { data: '/usr/share/datasets/fashion-mnist', quick: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--quick') opts.quick = true;
    else if (argv[i] === '--data' && i + 1 < argv.length) opts.data = argv[++i];
    else throw new Error(`unknown argument '${argv[i]}' (expected --data DIR, --quick)`);
  }
  return opts;
}

/** Samples per split in quick mode: enough for a few batches, quick enough for the tests. */
const QUICK_SAMPLES = { train: 512, test: 256 };

/** d2l.load_data_fashion_mnist: train and test loaders of ToTensor'd images (optionally resized). */
export function loadDataFashionMnist(batchSize: number, opts: Options, resize?: number): [gluon.data.DataLoader, gluon.data.DataLoader] {
  const dataset = gluon.data.vision;
  const trans = resize ? [new dataset.transforms.Resize(resize), new dataset.transforms.ToTensor()] : [new dataset.transforms.ToTensor()];
  const transformer = new dataset.transforms.Compose(trans);
  const full = [new dataset.FashionMNIST({ root: opts.data, train: true }), new dataset.FashionMNIST({ root: opts.data, train: false })];
  let [mnistTrain, mnistTest]: gluon.data.Dataset[] = full;
  if (opts.quick) {
    mnistTrain = mnistTrain.slice(0, Math.min(QUICK_SAMPLES.train, mnistTrain.length));
    mnistTest = mnistTest.slice(0, Math.min(QUICK_SAMPLES.test, mnistTest.length));
  }
  const loaders: [gluon.data.DataLoader, gluon.data.DataLoader] = [
    new gluon.data.DataLoader(mnistTrain.transformFirst(transformer), { batchSize, shuffle: true, seed: 0 }),
    new gluon.data.DataLoader(mnistTest.transformFirst(transformer), { batchSize, shuffle: false }),
  ];
  datasetsOf.set(loaders[0], full[0]);
  datasetsOf.set(loaders[1], full[1]);
  return loaders;
}

/** The images and labels behind each loader loadDataFashionMnist made (JS frees them explicitly). */
const datasetsOf = new WeakMap<gluon.data.DataLoader, InstanceType<typeof gluon.data.vision.FashionMNIST>>();

/** Frees the data sets behind loaders from loadDataFashionMnist (Python's garbage collector does it in the book). */
export function disposeData(...loaders: gluon.data.DataLoader[]): void {
  for (const l of loaders) datasetsOf.get(l)?.dispose();
}

/** d2l.synthetic_data: y = Xw + b + noise. */
export function syntheticData(w: NDArray, b: number, numExamples: number): [NDArray, NDArray] {
  const X = nd.random.normal(0, 1, [numExamples, w.size]);
  const y = nd.tidy(() => nd.add(nd.add(nd.dot(X, w), b), nd.random.normal(0, 0.01, [numExamples])).reshape(-1, 1));
  return [X, y];
}

/** d2l.load_array: a DataLoader over in-memory arrays. */
export function loadArray(arrays: NDArray[], batchSize: number, isTrain = true): gluon.data.DataLoader {
  return new gluon.data.DataLoader(new gluon.data.ArrayDataset(...arrays), { batchSize, shuffle: isTrain, seed: 0 });
}

/** d2l.accuracy: the number of correct predictions. */
export function accuracy(yHat: NDArray, y: NDArray): number {
  return nd.tidy(() => nd.equal(yHat.argmax(1), y.astype('float32')).sum().asscalar());
}

/** d2l.evaluate_accuracy: accuracy over a whole loader (prediction mode: Dropout off, BatchNorm's running stats). */
export function evaluateAccuracy(net: gluon.Block, dataIter: gluon.data.DataLoader): number {
  let correct = 0;
  let count = 0;
  for (const [X, y] of dataIter) {
    correct += nd.tidy(() => accuracy(net.forward(X) as NDArray, y));
    count += y.size;
  }
  return correct / count;
}

export interface EpochResult {
  trainLoss: number;
  trainAcc: number;
  testAcc: number;
  examplesPerSec: number;
}

/** One epoch of d2l.train_epoch_ch3 (the Trainer as updater). */
function trainEpoch(net: gluon.Block, trainIter: gluon.data.DataLoader, loss: gluon.Block, trainer: gluon.Trainer): [number, number, number] {
  let lossSum = 0;
  let correct = 0;
  let n = 0;
  for (const [X, y] of trainIter) {
    nd.tidy(() => {
      const [l, yHat] = autograd.record(() => {
        const out = net.forward(X) as NDArray;
        return [loss.forward(out, y) as NDArray, out];
      });
      l.backward();
      trainer.step(X.shape[0]);
      lossSum += nd.sum(l).item();
      correct += accuracy(yHat, y);
    });
    n += y.size;
  }
  return [lossSum / n, correct / n, n];
}

/** d2l.train_ch3 with a Gluon Trainer: prints one line per epoch (the book plots the same figures). */
export function trainCh3(net: gluon.Block, trainIter: gluon.data.DataLoader, testIter: gluon.data.DataLoader,
  loss: gluon.Block, numEpochs: number, trainer: gluon.Trainer): EpochResult {
  let result: EpochResult = { trainLoss: NaN, trainAcc: NaN, testAcc: NaN, examplesPerSec: NaN };
  for (let epoch = 0; epoch < numEpochs; epoch++) {
    const start = performance.now();
    const [trainLoss, trainAcc, n] = trainEpoch(net, trainIter, loss, trainer);
    const seconds = (performance.now() - start) / 1000;
    const testAcc = evaluateAccuracy(net, testIter);
    result = { trainLoss, trainAcc, testAcc, examplesPerSec: n / seconds };
    console.log(`epoch ${epoch + 1}, loss ${trainLoss.toFixed(3)}, train acc ${trainAcc.toFixed(3)}, test acc ${testAcc.toFixed(3)}`);
  }
  return result;
}

/** d2l.train_ch6: Xavier initialization, SGD, softmax cross-entropy; prints the book's two closing lines. */
export function trainCh6(net: gluon.Block, trainIter: gluon.data.DataLoader, testIter: gluon.data.DataLoader,
  numEpochs: number, lr: number): EpochResult {
  net.initialize({ forceReinit: true, init: new init.Xavier() });
  const loss = new gluon.loss.SoftmaxCrossEntropyLoss();
  const trainer = new gluon.Trainer(net.collectParams(), 'sgd', { learningRate: lr });
  let seconds = 0;
  let examples = 0;
  let trainLoss = NaN;
  let trainAcc = NaN;
  let testAcc = NaN;
  for (let epoch = 0; epoch < numEpochs; epoch++) {
    const start = performance.now();
    let n: number;
    [trainLoss, trainAcc, n] = trainEpoch(net, trainIter, loss, trainer);
    seconds += (performance.now() - start) / 1000;
    examples += n;
    testAcc = evaluateAccuracy(net, testIter);
    console.log(`epoch ${epoch + 1}, loss ${trainLoss.toFixed(3)}, train acc ${trainAcc.toFixed(3)}, test acc ${testAcc.toFixed(3)}`);
  }
  loss.dispose();
  console.log(`loss ${trainLoss.toFixed(3)}, train acc ${trainAcc.toFixed(3)}, test acc ${testAcc.toFixed(3)}`);
  console.log(`${(examples / seconds).toFixed(1)} examples/sec on cpu(0)`);
  return { trainLoss, trainAcc, testAcc, examplesPerSec: examples / seconds };
}

/** Runs a chapter's main when its file is the program (`node build/examples-d2l/lenet.js --quick`). */
export function runIfMain(mod: NodeModule, main: (argv: string[]) => unknown): void {
  if (require.main === mod) main(process.argv.slice(2));
}
