// Block.saveParameters / loadParameters and ParameterDict.save / load over the files' functions
// (lib/gluon/params_io.ts): round trips under structural names, deferred shapes taken from the
// file, shared parameters under each name, all-or-nothing failures.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { autograd, gluon, init, nd, NDArray } from '../lib';
import { arr, codeOf, freshAutogradState, liveMemory } from './helpers';

const { nn } = gluon;
freshAutogradState();
let dir = '';
beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ndgrad-gluon-'))));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function lenet(): gluon.nn.Sequential {
  const net = new nn.Sequential();
  net.add(new nn.Conv2D(4, 3, { activation: 'relu' }), new nn.MaxPool2D(2), new nn.BatchNorm(), new nn.Flatten(), new nn.Dense(3));
  return net;
}
const values = (net: gluon.Block): Record<string, number[]> =>
  Object.fromEntries([...net.collectParams()].map(([k, p]) => [k, arr(p.data())]));

test.each(['net.params', 'net.npz'])('a round trip through %s restores every value; a fresh deferred net takes the shapes from the file', (file) => {
  const before = liveMemory();
  const x = nd.random.uniform(0, 1, [2, 1, 8, 8]);
  const a = lenet();
  a.initialize(new init.Xavier());
  nd.tidy(() => {
    autograd.record(() => a.forward(x), { trainMode: true });  // shapes known, running stats moved
  });
  a.saveParameters(path.join(dir, file));
  const b = lenet();  // never initialized: every shape still deferred
  b.loadParameters(path.join(dir, file));
  expect(values(b)).toEqual(values(a));
  expect(nd.tidy(() => arr(b.forward(x)))).toEqual(nd.tidy(() => arr(a.forward(x))));
  a.dispose();
  b.dispose();
  x.dispose();
  expect(liveMemory()).toEqual(before);
});

test('the file holds structural names, a shared parameter under each of its names (as MXNet writes)', () => {
  const d = new nn.Dense(2, { inUnits: 2 });
  const net = new nn.Sequential();
  net.add(d, new nn.Dense(2, { inUnits: 2, params: d.params }));
  net.initialize();
  const file = path.join(dir, 'shared.params');
  net.saveParameters(file);
  const loaded = nd.load(file) as Record<string, NDArray>;
  expect(Object.keys(loaded)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
  nd.dispose(loaded);
  net.dispose();
});

test('a failed load (missing name, shape mismatch) leaves every parameter as it was', () => {
  const a = new nn.Dense(2, { inUnits: 3 });
  a.initialize(new init.One());
  const file = path.join(dir, 'dense.params');
  a.saveParameters(file);
  const b = new nn.Sequential();
  b.add(new nn.Dense(2, { inUnits: 3 }), new nn.Dense(1, { inUnits: 2 }));
  b.initialize(new init.Zero());
  expect(codeOf(() => b.loadParameters(file))).toBe('MISSING_PARAMETER');  // the file has 'weight', not '0.weight'
  expect(codeOf(() => b.loadParameters(file, { allowMissing: true }))).toBe('UNEXPECTED_PARAMETER');
  const c = new nn.Dense(2, { inUnits: 4 });
  c.initialize(new init.Zero());
  expect(codeOf(() => c.loadParameters(file))).toBe('SHAPE_MISMATCH');
  expect([arr(c.weight.data()).every((v) => v === 0), values(b)['0.weight'].every((v) => v === 0)]).toEqual([true, true]);
  c.loadParameters({ weight: nd.ones([2, 4]) }, { allowMissing: true });
  expect(arr(c.weight.data())).toEqual(new Array(8).fill(1));
  for (const n of [a, b, c]) n.dispose();
});

test('ParameterDict.save / load round trip (collectParams with a select)', () => {
  const a = lenet();
  a.initialize(new init.Normal(1));
  a.forward(nd.zeros([1, 1, 8, 8]));
  const file = path.join(dir, 'select.params');
  a.collectParams('.*weight').save(file);
  const b = lenet();
  b.initialize(new init.Zero());
  b.forward(nd.zeros([1, 1, 8, 8]));
  b.collectParams('.*weight').load(file);
  expect(values(b)['0.weight']).toEqual(values(a)['0.weight']);
  expect(values(b)['4.weight']).toEqual(values(a)['4.weight']);
  expect(values(b)['0.bias'].every((v) => v === 0)).toBe(true);
  a.dispose();
  b.dispose();
});
