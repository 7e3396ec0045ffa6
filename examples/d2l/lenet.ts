// d2l.ai (MXNet edition) 6.6 "Convolutional Neural Networks (LeNet)", syntax-only port.
import { gluon, nd, NDArray } from 'ndgrad';
import * as d2l from './d2l';

export function main(argv: string[]): d2l.EpochResult {
  const opts = d2l.parseArgs(argv);
  const { nn } = gluon;
  const net = new nn.Sequential();
  net.add(
    new nn.Conv2D(6, 5, { padding: 2, activation: 'sigmoid' }),
    new nn.AvgPool2D(2, { strides: 2 }),
    new nn.Conv2D(16, 5, { activation: 'sigmoid' }),
    new nn.AvgPool2D(2, { strides: 2 }),
    // `Dense` transforms an input of the shape (batch size, number of channels, height, width) into
    // an input of the shape (batch size, number of channels * height * width) automatically by default
    new nn.Dense(120, { activation: 'sigmoid' }),
    new nn.Dense(84, { activation: 'sigmoid' }),
    new nn.Dense(10),
  );

  nd.tidy(() => {
    let X: NDArray = nd.random.uniform(0, 1, [1, 1, 28, 28]);
    net.initialize();
    for (const layer of net) {
      X = layer.forward(X) as NDArray;
      console.log(layer.name, 'output shape:\t', `(${X.shape.join(', ')})`);
    }
  });

  const batchSize = 256;
  const [trainIter, testIter] = d2l.loadDataFashionMnist(batchSize, opts);
  const [lr, numEpochs] = [0.9, opts.quick ? 1 : 10];
  const result = d2l.trainCh6(net, trainIter, testIter, numEpochs, lr);
  net.dispose();
  d2l.disposeData(trainIter, testIter);
  return result;
}

d2l.runIfMain(module, main);
