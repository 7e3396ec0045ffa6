// d2l.ai (MXNet edition) 5.2 "Parameter Management", syntax-only port. Parameter names are the
// structural ones MXNet's save_parameters writes ('1.bias'), where the book's MXNet 1.x printed
// prefixed names ('dense1_bias').
import { gluon, init, nd, NDArray } from 'ndgrad';
import * as d2l from './d2l';

const { nn } = gluon;

function block1(): gluon.nn.Sequential {
  const net = new nn.Sequential();
  net.add(new nn.Dense(32, { activation: 'relu' }));
  net.add(new nn.Dense(16, { activation: 'relu' }));
  return net;
}

function block2(): gluon.nn.Sequential {
  const net = new nn.Sequential();
  for (let i = 0; i < 4; i++)
    // Nested here
    net.add(block1());
  return net;
}

class MyInit extends init.Initializer {
  initWeight(name: string, data: NDArray): void {
    console.log('Init', name, `(${data.shape.join(', ')})`);
    nd.tidy(() => {
      data.set(nd.random.uniform(-10, 10, data.shape));
      data.imul(nd.greaterEqual(nd.abs(data), 5));
    });
  }
}

const dense = (net: gluon.nn.Sequential, i: number): gluon.nn.Dense => net.at(i) as gluon.nn.Dense;

export function main(argv: string[]): { tiedBefore: boolean; tiedAfter: boolean; myInitZeroOrLarge: boolean } {
  d2l.parseArgs(argv);
  nd.random.seed(0);
  const net = new nn.Sequential();
  net.add(new nn.Dense(8, { activation: 'relu' }));
  net.add(new nn.Dense(1));
  net.initialize(); // Use the default initialization method

  const X = nd.random.uniform(0, 1, [2, 4]);
  nd.tidy(() => { net.forward(X); }); // Forward computation

  // Parameter access
  console.log(dense(net, 1).params.toString());
  console.log(dense(net, 1).bias!.constructor.name);
  console.log(dense(net, 1).bias!.toString());
  console.log(dense(net, 1).bias!.data().toString());
  console.log(dense(net, 1).weight.grad().toString());
  console.log(dense(net, 0).collectParams().toString());
  console.log(net.collectParams().toString());
  console.log(net.collectParams().get('1.bias')!.data().toString());

  // Collecting parameters from nested blocks
  const rgnet = new nn.Sequential();
  rgnet.add(block2());
  rgnet.add(new nn.Dense(10));
  rgnet.initialize();
  nd.tidy(() => { rgnet.forward(X); });
  console.log(rgnet.toString());
  console.log(((rgnet.at(0) as gluon.nn.Sequential).at(1) as gluon.nn.Sequential).at(0).collectParams().get('bias')!.data().toString());

  // Built-in initialization
  const row0 = (i: number): string => nd.tidy(() => dense(net, i).weight.data().at(0).toString());
  net.initialize({ init: new init.Normal(0.01), forceReinit: true });
  console.log(row0(0), dense(net, 0).bias!.data().toString());
  net.initialize({ init: new init.Constant(1), forceReinit: true });
  console.log(row0(0), dense(net, 0).bias!.data().toString());
  dense(net, 0).weight.initialize({ init: new init.Xavier(), forceReinit: true });
  dense(net, 1).initialize({ init: new init.Constant(42), forceReinit: true });
  console.log(row0(0));
  console.log(dense(net, 1).weight.data().toString());

  // Custom initialization
  net.initialize({ init: new MyInit(), forceReinit: true });
  console.log(nd.tidy(() => nd.sliceAxis(dense(net, 0).weight.data(), 0, 0, 2).toString()));
  const myInitZeroOrLarge = [...dense(net, 0).weight.data().toTypedArray()].every((v) => v === 0 || Math.abs(v) >= 5);
  nd.tidy(() => {
    dense(net, 0).weight.data().iadd(1);
    dense(net, 0).weight.data().at(0).at(0).set(42);
  });
  console.log(row0(0));

  // Tied parameters: we need to give the shared layer a name so that we can refer to its parameters
  const tied = new nn.Sequential();
  const shared = new nn.Dense(8, { activation: 'relu' });
  tied.add(new nn.Dense(8, { activation: 'relu' }), shared,
    new nn.Dense(8, { activation: 'relu', params: shared.params }), new nn.Dense(10));
  tied.initialize();
  const X2 = nd.random.uniform(0, 1, [2, 20]);
  nd.tidy(() => { tied.forward(X2); });
  const same = (): boolean => nd.tidy(() => {
    const eq = nd.equal(dense(tied, 1).weight.data().at(0), dense(tied, 2).weight.data().at(0));
    console.log(eq.toString());
    return nd.min(eq).item() === 1;
  });
  const tiedBefore = same();
  nd.tidy(() => { dense(tied, 1).weight.data().at(0).at(0).set(100); });
  // Make sure that they are actually the same object rather than just having the same value
  const tiedAfter = same();

  for (const b of [net, rgnet, tied]) b.dispose();
  nd.dispose([X, X2]);
  return { tiedBefore, tiedAfter, myInitZeroOrLarge };
}

d2l.runIfMain(module, main);
