// d2l.ai (MXNet edition) 3.3 "Concise Implementation of Linear Regression", syntax-only port.
import { autograd, gluon, init, nd } from 'ndgrad';
import * as d2l from './d2l';

export function main(argv: string[]): { wError: number[]; bError: number } {
  d2l.parseArgs(argv); // no data set: the chapter generates its own
  nd.random.seed(0);
  const trueW = nd.array([2, -3.4]);
  const trueB = 4.2;
  const [features, labels] = d2l.syntheticData(trueW, trueB, 1000);

  const batchSize = 10;
  const dataIter = d2l.loadArray([features, labels], batchSize);
  for (const [X, y] of dataIter) {
    console.log(X.toString(), '\n', y.toString());
    break;
  }

  const { nn } = gluon;
  const net = new nn.Sequential();
  net.add(new nn.Dense(1));
  net.initialize(new init.Normal(0.01));
  const loss = new gluon.loss.L2Loss();
  const trainer = new gluon.Trainer(net.collectParams(), 'sgd', { learningRate: 0.03 });

  const numEpochs = 3;
  for (let epoch = 0; epoch < numEpochs; epoch++) {
    for (const [X, y] of dataIter)
      nd.tidy(() => {
        const l = autograd.record(() => loss.forward(net.forward(X), y));
        l.backward();
        trainer.step(batchSize);
      });
    const l = nd.tidy(() => loss.forward(net.forward(features), labels).mean().asscalar());
    console.log(`epoch ${epoch + 1}, loss ${l.toFixed(6)}`);
  }

  const dense = net.at(0) as gluon.nn.Dense;
  const w = dense.weight.data();
  const b = dense.bias!.data();
  const wError = nd.tidy(() => [...nd.subtract(trueW, w.reshape(trueW.shape)).toTypedArray()]);
  const bError = trueB - b.item();
  console.log(`error in estimating w: [${wError.map((v) => v.toFixed(6)).join(' ')}]`);
  console.log(`error in estimating b: ${bError.toFixed(6)}`);
  net.dispose();
  nd.dispose([trueW, features, labels]);
  return { wError, bError };
}

d2l.runIfMain(module, main);
