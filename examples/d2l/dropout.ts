// d2l.ai (MXNet edition) 4.6 "Dropout", concise implementation, syntax-only port.
import { gluon, init } from 'ndgrad';
import * as d2l from './d2l';

export function main(argv: string[]): d2l.EpochResult {
  const opts = d2l.parseArgs(argv);
  const [dropout1, dropout2] = [0.2, 0.5];
  const { nn } = gluon;
  const net = new nn.Sequential();
  net.add(
    new nn.Dense(256, { activation: 'relu' }),
    // Add a dropout layer after the first fully connected layer
    new nn.Dropout(dropout1),
    new nn.Dense(256, { activation: 'relu' }),
    // Add a dropout layer after the second fully connected layer
    new nn.Dropout(dropout2),
    new nn.Dense(10),
  );
  net.initialize(new init.Normal(0.01));

  const [numEpochs, lr, batchSize] = [opts.quick ? 1 : 10, 0.5, 256];
  const loss = new gluon.loss.SoftmaxCrossEntropyLoss();
  const [trainIter, testIter] = d2l.loadDataFashionMnist(batchSize, opts);
  const trainer = new gluon.Trainer(net.collectParams(), 'sgd', { learningRate: lr });
  const result = d2l.trainCh3(net, trainIter, testIter, loss, numEpochs, trainer);
  net.dispose();
  d2l.disposeData(trainIter, testIter);
  return result;
}

d2l.runIfMain(module, main);
