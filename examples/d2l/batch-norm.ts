// d2l.ai (MXNet edition) 7.5 "Batch Normalization", concise implementation, syntax-only port.
import { gluon, nd } from 'ndgrad';
import * as d2l from './d2l';

export function main(argv: string[]): d2l.EpochResult & { gamma: number[]; beta: number[] } {
  const opts = d2l.parseArgs(argv);
  const { nn } = gluon;
  const net = new nn.Sequential();
  net.add(
    new nn.Conv2D(6, 5), new nn.BatchNorm(), new nn.Activation('sigmoid'),
    new nn.AvgPool2D(2, { strides: 2 }),
    new nn.Conv2D(16, 5), new nn.BatchNorm(), new nn.Activation('sigmoid'),
    new nn.AvgPool2D(2, { strides: 2 }),
    new nn.Dense(120), new nn.BatchNorm(), new nn.Activation('sigmoid'),
    new nn.Dense(84), new nn.BatchNorm(), new nn.Activation('sigmoid'),
    new nn.Dense(10),
  );

  const [lr, numEpochs, batchSize] = [1.0, opts.quick ? 1 : 10, 256];
  const [trainIter, testIter] = d2l.loadDataFashionMnist(batchSize, opts);
  const result = d2l.trainCh6(net, trainIter, testIter, numEpochs, lr);

  // The scale and shift learned by the first batch normalization layer
  const bn = net.at(1) as gluon.nn.BatchNorm;
  const [gamma, beta] = nd.tidy(() => {
    const [g, b] = [bn.gamma!.data().reshape(-1), bn.beta!.data().reshape(-1)];
    console.log(g.toString(), b.toString());
    return [[...g.toTypedArray()], [...b.toTypedArray()]];
  });
  net.dispose();
  d2l.disposeData(trainIter, testIter);
  return { ...result, gamma, beta };
}

d2l.runIfMain(module, main);
