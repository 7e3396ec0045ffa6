// d2l.ai (MXNet edition) 4.3 "Concise Implementation of Multilayer Perceptrons", syntax-only port.
import { gluon, init } from 'ndgrad';
import * as d2l from './d2l';

export function main(argv: string[]): d2l.EpochResult {
  const opts = d2l.parseArgs(argv);
  const { nn } = gluon;
  const net = new nn.Sequential();
  net.add(new nn.Dense(256, { activation: 'relu' }), new nn.Dense(10));
  net.initialize(new init.Normal(0.01));

  const [batchSize, lr, numEpochs] = [256, 0.1, opts.quick ? 1 : 10];
  const loss = new gluon.loss.SoftmaxCrossEntropyLoss();
  const trainer = new gluon.Trainer(net.collectParams(), 'sgd', { learningRate: lr });

  const [trainIter, testIter] = d2l.loadDataFashionMnist(batchSize, opts);
  const result = d2l.trainCh3(net, trainIter, testIter, loss, numEpochs, trainer);
  net.dispose();
  d2l.disposeData(trainIter, testIter);
  return result;
}

d2l.runIfMain(module, main);
