// Fashion-MNIST with Gluon: an MLP and a LeNet-style CNN trained by gluon.Estimator (a progress bar on a
// terminal), per-epoch train and test accuracy, the parameters saved to a .params file and reloaded
// into a fresh net for the final test, and the training curves drawn as an SVG next to them.
//
//   npm run demo [-- --data DIR] [--subset] [--epochs N] [--model mlp|cnn|both] [--batch-size B]
//                [--lr LR] [--out DIR] [--dtype float32|bfloat16]
//
// --dtype bfloat16: the parameters are cast to bfloat16 (BatchNorm's stay float32) and trained with
// float32 master copies (the optimizer's multiPrecision); every op computes in float32 and rounds.
//
// Data: DIR, else /usr/share/datasets/fashion-mnist when present (Debian/Ubuntu package
// dataset-fashion-mnist), else the 3000 + 1000 image subset bundled in examples/data/.
import * as fs from 'fs';
import * as path from 'path';
import { gluon, init, lrScheduler, nd } from 'ndgrad';
import { trainingCurves } from './plot';

const SYSTEM_DATA = '/usr/share/datasets/fashion-mnist';
const SUBSET = path.join(__dirname, '..', 'data', 'fashion-mnist-subset');
const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

interface Args {
  data: string | null;
  subset: boolean;
  epochs: number | null;
  model: 'mlp' | 'cnn' | 'both';
  batchSize: number;
  lr: number;
  out: string;
  dtype: 'float32' | 'bfloat16';
}

function parseArgs(argv: string[]): Args {
  const a: Args = { data: null, subset: false, epochs: null, model: 'both', batchSize: 128, lr: 0.002, out: path.join(__dirname, '..', 'output'), dtype: 'float32' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
      return argv[++i];
    };
    const number = (): number => {
      const v = Number(value());
      if (!(v > 0)) throw new Error(`${flag} needs a positive number`);
      return v;
    };
    if (flag === '--data') a.data = value();
    else if (flag === '--subset') a.subset = true;
    else if (flag === '--epochs') a.epochs = Math.round(number());
    else if (flag === '--batch-size') a.batchSize = Math.round(number());
    else if (flag === '--lr') a.lr = number();
    else if (flag === '--out') a.out = value();
    else if (flag === '--dtype') {
      const d = value();
      if (d !== 'float32' && d !== 'bfloat16') throw new Error('--dtype is float32 or bfloat16');
      a.dtype = d;
    }
    else if (flag === '--model') {
      const m = value();
      if (m !== 'mlp' && m !== 'cnn' && m !== 'both') throw new Error('--model is mlp, cnn or both');
      a.model = m;
    } else throw new Error(`unknown argument ${flag} (see the comment at the top of examples/fashion-mnist.ts)`);
  }
  return a;
}

// Two hidden layers of 256 and 128 ReLU units.
function mlp(): gluon.nn.Sequential {
  const net = new gluon.nn.Sequential();
  net.add(new gluon.nn.Dense(256, { activation: 'relu' }), new gluon.nn.Dense(128, { activation: 'relu' }), new gluon.nn.Dense(10));
  return net;
}

// LeNet-5's shape (two 5x5 convolutions with pooling, then 120, 84, 10) with ReLU, max pooling and
// batch normalisation, which train it to ~0.9 in a few epochs.
function lenet(): gluon.nn.Sequential {
  const net = new gluon.nn.Sequential();
  net.add(
    new gluon.nn.Conv2D(6, 5, { padding: 2 }), new gluon.nn.BatchNorm(), new gluon.nn.Activation('relu'), new gluon.nn.MaxPool2D(2),
    new gluon.nn.Conv2D(16, 5), new gluon.nn.BatchNorm(), new gluon.nn.Activation('relu'), new gluon.nn.MaxPool2D(2),
    new gluon.nn.Dense(120, { activation: 'relu' }), new gluon.nn.Dense(84, { activation: 'relu' }), new gluon.nn.Dense(10),
  );
  return net;
}

// A path as the user would type it from here.
function shown(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}

async function train(name: string, make: () => gluon.nn.Sequential, data: { train: gluon.data.Dataset; test: gluon.data.Dataset }, args: Args, epochs: number): Promise<void> {
  console.log(`\n${name}: ${epochs} epoch${epochs === 1 ? '' : 's'}, Adam from lr ${args.lr} on a cosine schedule, batch ${args.batchSize}, ${args.dtype}`);
  const toTensor = new gluon.data.vision.transforms.ToTensor();
  const trainLoader = new gluon.data.DataLoader(data.train.transformFirst(toTensor), { batchSize: args.batchSize, shuffle: true, seed: 1 });
  const testLoader = new gluon.data.DataLoader(data.test.transformFirst(toTensor), { batchSize: 1000 });
  nd.random.seed(1);
  const net = make();
  net.initialize(new init.Xavier());
  const mixed = args.dtype === 'bfloat16';
  if (mixed) {
    nd.tidy(() => net.forward(nd.zeros([1, 1, 28, 28])).dispose()); // shapes inferred: cast converts every parameter
    net.cast('bfloat16');
  }
  // the learning rate falls to 0 along a cosine over the run, so the last epochs settle
  const schedule = new lrScheduler.CosineScheduler(epochs * trainLoader.length, { baseLr: args.lr });
  const trainer = new gluon.Trainer(net.collectParams(), 'adam', { lrScheduler: schedule, multiPrecision: mixed });
  const estimator = new gluon.Estimator({
    net, trainer, loss: new gluon.loss.SoftmaxCrossEntropyLoss(),
    trainMetrics: new gluon.metric.Accuracy(), valMetrics: new gluon.metric.Accuracy(),
  });
  const start = Date.now();
  const history = await estimator.fit(trainLoader, { valData: testLoader, epochs });
  const seconds = (Date.now() - start) / 1000;

  fs.mkdirSync(args.out, { recursive: true });
  const tag = `${name.toLowerCase()}${mixed ? '-bf16' : ''}`;
  const file = path.join(args.out, `fashion-mnist-${tag}.params`);
  net.saveParameters(file);
  trainer.dispose();
  net.dispose();

  // a fresh net with the saved parameters: its test accuracy is the one reported
  const reloaded = make();
  if (mixed) reloaded.cast('bfloat16');
  reloaded.loadParameters(file);
  const check = new gluon.Estimator({ net: reloaded, loss: new gluon.loss.SoftmaxCrossEntropyLoss(), valMetrics: new gluon.metric.Accuracy() });
  const final = await check.evaluate(testLoader);
  check.trainer.dispose();
  reloaded.dispose();
  console.log(`${name}: ${seconds.toFixed(1)} s; reloaded from ${shown(file)}: test accuracy ${final.accuracy.toFixed(4)}`);

  const svg = path.join(args.out, `fashion-mnist-${tag}.svg`);
  const series = (key: 'loss' | 'accuracy') => [
    { name: 'train', color: '#1f77b4', values: history.map((h) => h.train[key]) },
    { name: 'test', color: '#d62728', values: history.map((h) => h.val![key]) },
  ];
  fs.writeFileSync(svg, trainingCurves(`Fashion-MNIST ${name}`, series('loss'), series('accuracy')));
  console.log(`${name}: training curves in ${shown(svg)}`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const full = args.subset ? null : args.data ?? (fs.existsSync(SYSTEM_DATA) ? SYSTEM_DATA : null);
  const root = full ?? SUBSET;
  if (full === null)
    console.log(`Training on the bundled subset of Fashion-MNIST (3000 training, 1000 test images; ${shown(SUBSET)}).` +
      (args.subset ? '' : `\nFor the full data set: sudo apt-get install dataset-fashion-mnist (or --data DIR with the four IDX files).`));
  else console.log(`Fashion-MNIST from ${root}`);
  const data = { train: new gluon.data.vision.FashionMNIST({ root, train: true }), test: new gluon.data.vision.FashionMNIST({ root, train: false }) };
  console.log(`${data.train.length} training and ${data.test.length} test images of 28x28 pixels in 10 classes (${CLASSES.join(', ')})`);
  // the subset is small: more epochs cost little and it needs them
  const epochs = args.epochs ?? (full === null ? 8 : 5);
  if (args.model !== 'cnn') await train('MLP', mlp, data, args, epochs);
  if (args.model !== 'mlp') await train('CNN', lenet, data, args, epochs);
  data.train.dispose();
  data.test.dispose();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
