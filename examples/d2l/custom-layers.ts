// d2l.ai (MXNet edition) 5.4 "Custom Layers", syntax-only port.
import { gluon, nd, NDArray } from 'ndgrad';
import * as d2l from './d2l';

const { nn } = gluon;

class CenteredLayer extends nn.Block {
  forward(X: NDArray): NDArray {
    return X.sub(X.mean());
  }
}

class MyDense extends nn.Block {
  weight: gluon.Parameter;
  bias: gluon.Parameter;
  constructor(units: number, inUnits: number) {
    super();
    this.weight = this.params.get('weight', { shape: [inUnits, units] });
    this.bias = this.params.get('bias', { shape: [units] });
  }

  forward(x: NDArray): NDArray {
    return nd.tidy(() => nd.relu(nd.add(nd.dot(x, this.weight.data()), this.bias.data())));
  }
}

export function main(argv: string[]): { centered: number[]; centeredMean: number; myDenseOut: number[][] } {
  d2l.parseArgs(argv);
  nd.random.seed(0);
  // Layers without parameters
  const layer = new CenteredLayer();
  const centered = nd.tidy(() => {
    const out = layer.forward(nd.array([1, 2, 3, 4, 5]));
    console.log(out.toString());
    return [...out.toTypedArray()];
  });

  const net = new nn.Sequential();
  net.add(new nn.Dense(128), new CenteredLayer());
  net.initialize();
  const centeredMean = nd.tidy(() => {
    const Y = net.forward(nd.random.uniform(0, 1, [4, 8]));
    const m = nd.mean(Y);
    console.log(m.toString());
    return m.item();
  });

  // Layers with parameters
  const dense = new MyDense(3, 5);
  console.log(dense.params.toString());
  dense.initialize();
  nd.tidy(() => console.log(dense.forward(nd.random.uniform(0, 1, [2, 5])).toString()));

  const net2 = new nn.Sequential();
  net2.add(new MyDense(8, 64), new MyDense(1, 8));
  net2.initialize();
  const myDenseOut = nd.tidy(() => {
    const out = net2.forward(nd.random.uniform(0, 1, [2, 64]));
    console.log(out.toString());
    return out.toArray() as number[][];
  });

  for (const b of [net, dense, net2]) b.dispose();
  return { centered, centeredMean, myDenseOut };
}

d2l.runIfMain(module, main);
