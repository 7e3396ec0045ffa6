// d2l.ai (MXNet edition) 3.7 "Concise Implementation of Softmax Regression", syntax-only port.
import { gluon, init } from 'ndgrad';
import * as d2l from './d2l';

export function main(argv: string[]): d2l.EpochResult {
  const opts = d2l.parseArgs(argv);
  const batchSize = 256;
  const [trainIter, testIter] = d2l.loadDataFashionMnist(batchSize, opts);

  const { nn } = gluon;
  const net = new nn.Sequential();
  net.add(new nn.Dense(10));
  net.initialize(new init.Normal(0.01));

  const loss = new gluon.loss.SoftmaxCrossEntropyLoss();
  const trainer = new gluon.Trainer(net.collectParams(), 'sgd', { learningRate: 0.1 });

  const numEpochs = opts.quick ? 1 : 10;
  const result = d2l.trainCh3(net, trainIter, testIter, loss, numEpochs, trainer);
  net.dispose();
  d2l.disposeData(trainIter, testIter);
  return result;
}

d2l.runIfMain(module, main);
