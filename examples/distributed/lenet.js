// The Fashion-MNIST LeNet of examples/fashion-mnist.ts (LeNet-5's shape with ReLU, max pooling and
// batch normalisation), for examples/distributed/train.js and bench/dist.js.
'use strict';

function lenet(gluon) {
  const net = new gluon.nn.Sequential();
  net.add(
    new gluon.nn.Conv2D(6, 5, { padding: 2 }), new gluon.nn.BatchNorm(), new gluon.nn.Activation('relu'), new gluon.nn.MaxPool2D(2),
    new gluon.nn.Conv2D(16, 5), new gluon.nn.BatchNorm(), new gluon.nn.Activation('relu'), new gluon.nn.MaxPool2D(2),
    new gluon.nn.Dense(120, { activation: 'relu' }), new gluon.nn.Dense(84, { activation: 'relu' }), new gluon.nn.Dense(10),
  );
  return net;
}

module.exports = { lenet };
