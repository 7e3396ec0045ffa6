// The four Gluon parts together: d2l's concise linear regression (MXNet edition) with DataLoader,
// Dense, L2Loss and Trainer('sgd'), syntax-only changes from the book.
import { autograd, gluon, init, nd } from '../lib';
import { freshAutogradState, liveMemory } from './helpers';

freshAutogradState();

test("d2l's concise linear regression recovers w = [2, -3.4], b = 4.2 and leaks nothing", () => {
  const before = liveMemory();
  const X = nd.random.normal(0, 1, [1000, 2]);
  const y = nd.tidy(() => nd.add(nd.dot(X, nd.array([[2], [-3.4]])), nd.add(4.2, nd.random.normal(0, 0.01, [1000, 1]))));
  const loader = new gluon.data.DataLoader(new gluon.data.ArrayDataset(X, y), { batchSize: 10, shuffle: true, seed: 1 });
  const net = new gluon.nn.Sequential();
  net.add(new gluon.nn.Dense(1));
  net.initialize(new init.Normal(0.01));
  const loss = new gluon.loss.L2Loss();
  const trainer = new gluon.Trainer(net.collectParams(), 'sgd', { learningRate: 0.03 });
  for (let epoch = 0; epoch < 3; epoch++)
    for (const [xb, yb] of loader)
      nd.tidy(() => {
        autograd.record(() => loss.forward(net.forward(xb), yb)).backward();
        trainer.step(10);
      });
  const w = net.at(0) as gluon.nn.Dense;
  const got = [...(w.weight.data().toTypedArray() as Float32Array), (w.bias as gluon.Parameter).data().item()];
  [2, -3.4, 4.2].forEach((v, i) => expect(Math.abs(got[i] - v)).toBeLessThan(0.01));
  net.dispose();
  nd.dispose([X, y]);
  expect(liveMemory()).toEqual(before);
});
