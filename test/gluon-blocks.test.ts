// gluon.Block, Parameter, ParameterDict, Sequential: discovery, structural names, MXNet 1.x names,
// sharing, deferred initialization, modes, memory. One rule per test.
import { autograd, gluon, init, nd, NDArray } from '../lib';
import { arr, codeOf, errorOf, freshAutogradState, liveMemory } from './helpers';

const { nn, Parameter, ParameterDict } = gluon;
freshAutogradState();

const names = (b: gluon.Block, select?: string | RegExp): string[] => [...b.collectParams(select).keys()];

describe('Parameter', () => {
  test('data() before initialize is NOT_INITIALIZED; so is a deferred shape', () => {
    const p = new Parameter('w', { shape: [2, 3] });
    expect(errorOf(() => p.data()).code).toBe('NOT_INITIALIZED');
    const q = new Parameter('v', { shape: [2, 0], allowDeferredInit: true });
    q.initialize();
    const e = errorOf(() => q.data());
    expect([e.code, e.message]).toEqual(['NOT_INITIALIZED', expect.stringContaining('first forward')]);
    expect(codeOf(() => new Parameter('u', { shape: [0] }).initialize())).toBe('NOT_INITIALIZED');
  });
  test('data() is the live array; setData copies values in', () => {
    const p = new Parameter('w', { shape: [2], init: new init.Constant(3) });
    p.initialize();
    p.data().iadd(1);
    expect(arr(p.data())).toEqual([4, 4]);
    const x = nd.array([5, 6]);
    p.setData(x);
    x.iadd(10);
    expect(arr(p.data())).toEqual([5, 6]);
    expect(codeOf(() => p.setData(nd.zeros([3])))).toBe('SHAPE_MISMATCH');
    p.dispose();
    x.dispose();
  });
  test('options: defaults, gradReq, unknown keys', () => {
    const p = new Parameter('w', { shape: 3 });
    expect([p.name, p.shape, p.dtype, p.gradReq, p.lrMult, p.wdMult]).toEqual(['w', [3], 'float32', 'write', 1, 1]);
    p.initialize();
    expect(p.grad().shape).toEqual([3]);
    p.gradReq = 'null';
    expect(p.data().grad).toBeNull();
    expect(codeOf(() => p.grad())).toBe('BAD_ARGUMENT');
    p.gradReq = 'add';
    expect(p.grad().shape).toEqual([3]);
    expect(codeOf(() => new Parameter('w', { shap: [3] } as any))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => new Parameter('w', { gradReq: 'sometimes' as any }))).toBe('BAD_ARGUMENT');
    p.dispose();
  });
  test('initialize twice keeps the values unless forceReinit', () => {
    const p = new Parameter('w', { shape: [4] });
    p.initialize(new init.Constant(1));
    p.initialize(new init.Constant(2));
    expect(arr(p.data())).toEqual([1, 1, 1, 1]);
    p.initialize({ init: new init.Constant(2), forceReinit: true });
    expect(arr(p.data())).toEqual([2, 2, 2, 2]);
    p.dispose();
  });
  test('ParameterDict.get creates once, fills unknown dimensions, shares from its shared dict', () => {
    const d = new ParameterDict();
    const w = d.get('weight', { shape: [4, 0] });
    expect(d.get('weight')).toBe(w);
    d.get('weight', { shape: [4, 5] });
    expect(w.shape).toEqual([4, 5]);
    expect(codeOf(() => d.get('weight', { shape: [3, 5] }))).toBe('SHAPE_MISMATCH');
    const e = new ParameterDict('', d);
    expect(e.get('weight')).toBe(w);
    d.setattr('lrMult', 0.5);
    expect(w.lrMult).toBe(0.5);
    expect(codeOf(() => (d.setattr as (n: string, v: unknown) => void)('name', 'x'))).toBe('BAD_ARGUMENT');
  });
});

class Net extends nn.Block {
  features = new nn.Sequential();
  fc: gluon.nn.Dense;
  constructor() {
    super();
    this.features.add(new nn.Dense(3, { inUnits: 2 }), new nn.Activation('relu'), new nn.Dropout(0.5), new nn.BatchNorm({ inChannels: 3 }));
    this.fc = new nn.Dense(1, { inUnits: 3 });
  }
  forward(x: NDArray): NDArray {
    return this.fc.forward(this.features.forward(x));
  }
}

describe('discovery and names', () => {
  test('structural names: properties in insertion order, Sequential children by position', () => {
    const net = new Net();
    expect(names(net)).toEqual([
      'features.0.weight', 'features.0.bias', 'features.3.gamma', 'features.3.beta', 'features.3.running_mean',
      'features.3.running_var', 'fc.weight', 'fc.bias',
    ]);
  });
  test('arrays of blocks and parameter properties are found (heads.0, scale)', () => {
    class Multi extends nn.Block {
      scale = new Parameter('scale', { shape: [1] });
      heads = [new nn.Dense(2, { inUnits: 2 }), new nn.Dense(2, { inUnits: 2, useBias: false })];
      notABlock = { inner: new nn.Dense(2) };
    }
    expect(names(new Multi())).toEqual(['scale', 'heads.0.weight', 'heads.0.bias', 'heads.1.weight']);
  });
  test('this.params.get and registerChild (computed and default names)', () => {
    class Custom extends nn.Block {
      constructor() {
        super();
        this.params.get('w', { shape: [2, 2] });
        for (const k of ['a', 'b']) this.registerChild(new nn.Dense(1, { inUnits: 2 }), `proj_${k}`);
        this.registerChild(new nn.Dense(1, { inUnits: 2, useBias: false }));
      }
    }
    expect(names(new Custom())).toEqual(['w', 'proj_a.weight', 'proj_a.bias', 'proj_b.weight', 'proj_b.bias', '2.weight']);
  });
  test("block.name is MXNet 1.x's class alias with a per-class counter", () => {
    const a = new nn.Dense(1);
    const b = new nn.Dense(1);
    const n = Number(a.name.slice('dense'.length));
    expect([a.name, b.name]).toEqual([`dense${n}`, `dense${n + 1}`]);
    expect(new nn.Conv2D(1, 1).name).toMatch(/^conv\d+$/);
    expect(new nn.MaxPool2D().name).toMatch(/^pool\d+$/);
    expect(new Net().name).toMatch(/^net\d+$/);
    expect(new nn.Activation('relu').name).toMatch(/^relu\d+$/);
    expect(new nn.Dense(1, { prefix: 'out_' }).name).toBe('out');
    expect(a.prefix).toBe(`${a.name}_`);
  });
  test('collectParams(select) matches a regular expression at the start of the name', () => {
    const net = new Net();
    expect(names(net, 'fc')).toEqual(['fc.weight', 'fc.bias']);
    expect(names(net, 'weight')).toEqual([]);
    expect(names(net, '.*weight')).toEqual(['features.0.weight', 'fc.weight']);
    expect(names(net, /.*running_(mean|var)/)).toEqual(['features.3.running_mean', 'features.3.running_var']);
  });
  test('Sequential: add, at, length, iteration; hybridize returns the block', () => {
    const s = new nn.HybridSequential();
    const d = new nn.Dense(2);
    s.add(d, new nn.Flatten());
    expect([s.length, s.at(0), s.at(-1) instanceof nn.Flatten, [...s].length]).toEqual([2, d, true, 2]);
    expect(s.hybridize()).toBe(s);
    expect(codeOf(() => s.at(2))).toBe('OUT_OF_RANGE');
  });
});

test("MXNet 1.x's layer.weight / layer.bias and d2l's custom layer (this.weight = this.params.get(...))", () => {
  const d = new nn.Dense(2, { inUnits: 3, useBias: false });
  expect([d.weight, d.bias]).toEqual([d.params.get('weight'), null]);
  const bn = new nn.BatchNorm();
  expect([bn.gamma.name, bn.beta.name, bn.runningMean.name, bn.runningVar.gradReq]).toEqual(['gamma', 'beta', 'running_mean', 'null']);
  class MyDense extends nn.Block {
    weight: gluon.Parameter;
    bias: gluon.Parameter;
    constructor(units: number, inUnits: number) {
      super();
      this.weight = this.params.get('weight', { shape: [inUnits, units] });
      this.bias = this.params.get('bias', { shape: [units] });
    }
    forward(x: NDArray): NDArray {
      return nd.relu(nd.add(nd.dot(x, this.weight.data()), this.bias.data()));
    }
  }
  const net = new nn.Sequential();
  net.add(new MyDense(3, 2), new MyDense(1, 3));
  expect(names(net)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
  net.initialize(new init.One());
  expect(arr(net.forward(nd.array([[1, 1]])))).toEqual([10]);  // One() for the biases too: relu(3·3 + 1)
  net.dispose();
});

describe('sharing', () => {
  test('{ params: other.params } uses the same Parameter objects; one gradient accumulates both uses', () => {
    const a = new nn.Dense(2, { inUnits: 3 });
    const b = new nn.Dense(2, { inUnits: 3, params: a.params });
    expect(b.params.get('weight')).toBe(a.params.get('weight'));
    class Two extends nn.Block {
      constructor(readonly l1: gluon.nn.Dense, readonly l2: gluon.nn.Dense) {
        super();
      }
      forward(x: NDArray): NDArray {
        return nd.add(this.l1.forward(x), this.l2.forward(x));
      }
    }
    const net = new Two(a, b);
    expect(names(net)).toEqual(['l1.weight', 'l1.bias']);  // each Parameter once
    expect([...net._allParams().keys()]).toEqual(['l1.weight', 'l1.bias', 'l2.weight', 'l2.bias']);  // as save_parameters writes
    net.initialize();
    const x = nd.array([[1, 2, 3]]);
    autograd.record(() => net.forward(x)).backward();
    const gw = arr(a.params.get('weight').grad());
    expect(gw).toEqual([2, 4, 6, 2, 4, 6]);
    net.dispose();
    x.dispose();
  });
  test('shareParameters(other.collectParams()) replaces parameters of the same structural name', () => {
    const src = new Net();
    const dst = new Net();
    src.initialize();
    dst.shareParameters(src.collectParams('fc'));
    expect(dst.collectParams().get('fc.weight')).toBe(src.collectParams().get('fc.weight'));
    expect(dst.collectParams().get('features.0.weight')).not.toBe(src.collectParams().get('features.0.weight'));
    src.dispose();
    dst.dispose();
  });
});

describe('deferred initialization', () => {
  test('shapes come from the first forward, inside autograd.record(), not recorded', () => {
    const x = nd.random.uniform(0, 1, [3, 5]);
    const before = liveMemory();
    const net = new nn.Sequential();
    net.add(new nn.Dense(4, { activation: 'relu' }), new nn.Lambda((a: NDArray) => a.reshape([3, 4, 1])), new nn.Conv1D(2, 1),
      new nn.BatchNorm(), new nn.LayerNorm());
    net.initialize(new init.Xavier());
    expect(codeOf(() => net.collectParams().get('0.weight').data())).toBe('NOT_INITIALIZED');
    nd.tidy(() => {
      const loss = autograd.record(() => net.forward(x).sum(), { trainMode: true });
      loss.backward();
    });
    const ps = net.collectParams();
    expect([ps.get('0.weight').shape, ps.get('2.weight').shape, ps.get('3.gamma').shape, ps.get('4.gamma').shape]).toEqual([[4, 5], [2, 4, 1], [2], [1]]);
    expect(ps.get('0.weight').grad().shape).toEqual([4, 5]);
    expect(arr(ps.get('3.running_var').data()).every((v) => v !== 1)).toBe(true);  // the training step updated it
    net.dispose();
    expect(liveMemory()).toEqual(before);
    x.dispose();
  });
  test('a user HybridBlock: hybridForward(F, x, params) with this.params.get', () => {
    class Scale extends nn.HybridBlock {
      constructor() {
        super();
        this.params.get('alpha', { shape: [0], init: new init.Constant(2) });
      }
      inferShape(x: NDArray): void {
        this.params.get('alpha').shape = [x.shape[1]];
      }
      hybridForward(F: typeof nd, x: NDArray, p: { alpha: NDArray }): NDArray {
        return F.multiply(x, p.alpha);
      }
    }
    const s = new Scale();
    s.initialize();
    const y = s.forward(nd.array([[1, 2, 3]]));
    expect(arr(y)).toEqual([2, 4, 6]);
    s.dispose();
  });
});

describe('initialize, cast, modes, memory', () => {
  test("a parameter without its own init gets the global initWeight whatever its name; layers' own inits win", () => {
    const seen: string[] = [];
    class Fives extends init.Initializer {
      initWeight(name: string, a: NDArray): void {
        seen.push(name);
        a.set(5);
      }
    }
    const net = new Net();
    net.initialize(new Fives());
    const ps = net.collectParams();
    expect(seen).toEqual(['weight', 'weight']);
    expect([arr(ps.get('fc.weight')?.data() as NDArray), arr(ps.get('fc.bias').data())]).toEqual([[5, 5, 5], [0]]);
    expect([arr(ps.get('features.3.gamma').data()), arr(ps.get('features.3.running_var').data())]).toEqual([[1, 1, 1], [1, 1, 1]]);
    const p = new Parameter('anything', { shape: [2] });
    new ParameterDict().update(new Map([['anything', p]]));
    p.initialize({ defaultInit: new Fives() });
    expect(seen[2]).toBe('anything');
    net.initialize({ init: new init.Zero(), forceReinit: true });
    expect(arr(ps.get('fc.weight').data())).toEqual([0, 0, 0]);
    net.dispose();
    p.dispose();
  });
  test('initialization is reproducible under nd.random.seed', () => {
    const draw = (): number[] => {
      nd.random.seed(11);
      const d = new nn.Dense(3, { inUnits: 4 });
      d.initialize(new init.Xavier());
      const v = arr(d.params.get('weight').data());
      d.dispose();
      return v;
    };
    expect(draw()).toEqual(draw());
  });
  test('cast(dtype) converts the parameters and keeps their gradients attached', () => {
    const d = new nn.Dense(2, { inUnits: 2 });
    d.initialize(new init.One());
    d.cast('float64');
    const w = d.params.get('weight');
    expect([w.dtype, w.data().dtype, w.grad().dtype]).toEqual(['float64', 'float64', 'float64']);
    const y = autograd.record(() => d.forward(nd.array([[1, 2]], { dtype: 'float64' })));
    expect(arr(y)).toEqual([3, 3]);
    d.dispose();
  });
  test('Dropout and BatchNorm follow autograd.isTraining()', () => {
    const drop = new nn.Dropout(0.5);
    const x = nd.ones([1000]);
    expect(arr(drop.forward(x))).toEqual(arr(x));
    const t = autograd.trainMode(() => arr(drop.forward(x)));
    expect(new Set(t)).toEqual(new Set([0, 2]));
    const bn = new nn.BatchNorm({ inChannels: 2 });
    bn.initialize();
    const b = nd.array([[1, 10], [3, 30]]);
    expect(arr(bn.forward(b))[0]).toBeCloseTo(1 / Math.sqrt(1 + 1e-5), 5);  // predict: running stats 0, 1
    autograd.record(() => bn.forward(b));
    expect(arr(bn.params.get('running_mean').data()).map((v) => +v.toFixed(5))).toEqual([0.2, 2]);
    expect(arr(bn.params.get('running_var').data()).map((v) => +v.toFixed(5))).toEqual([0.9 + 0.1 * 1, 0.9 + 0.1 * 100]);
    bn.dispose();
    x.dispose();
  });
  test("initialize({ ctx }) accepts MXNet's cpu(0) (alone or in a list); another context is BAD_ARGUMENT", () => {
    const d = new nn.Dense(1, { inUnits: 1 });
    const cpu = { toString: () => 'cpu(0)' };
    d.initialize({ ctx: cpu });
    d.initialize({ ctx: [cpu], forceReinit: true });
    expect(errorOf(() => d.initialize({ ctx: 'gpu(0)', forceReinit: true })).message).toMatch(/gpu\(0\) is not available/);
    d.dispose();
  });
  test('zeroGrad and setattr(gradReq)', () => {
    const d = new nn.Dense(1, { inUnits: 2 });
    d.initialize(new init.One());
    autograd.record(() => d.forward(nd.array([[1, 2]]))).backward();
    expect(arr(d.params.get('weight').grad())).toEqual([1, 2]);
    d.zeroGrad();
    expect(arr(d.params.get('weight').grad())).toEqual([0, 0]);
    d.collectParams().setattr('gradReq', 'null');
    expect(d.params.get('weight').data().grad).toBeNull();
    d.dispose();
  });
  test('memory returns to its start after training steps and net.dispose() (also with using)', () => {
    const before = liveMemory();
    {
      using net = new Net();
      net.initialize(new init.Xavier());
      const l2 = new gluon.loss.L2Loss();
      for (let i = 0; i < 3; i++)
        nd.tidy(() => {
          const x = nd.random.normal(0, 1, [4, 2]);
          autograd.record(() => l2.forward(net.forward(x), nd.zeros([4, 1]))).backward();
        });
    }
    expect(liveMemory()).toEqual(before);
  });
  test('Lambda wraps a function or an nd function name', () => {
    const x = nd.array([-1, 2]);
    expect(arr(new nn.Lambda((a: NDArray) => a.abs()).forward(x))).toEqual([1, 2]);
    expect(arr(new nn.Lambda('relu').forward(x))).toEqual([0, 2]);
    expect(codeOf(() => new nn.Lambda('nope').forward(x))).toBe('BAD_ARGUMENT');
  });
});

describe('losses: shapes and weighting', () => {
  test('a [n] label takes an [n, 1] prediction\'s shape; a label of another size is SHAPE_MISMATCH, never broadcast', () => {
    const l = new gluon.loss.L2Loss();
    const out = l.forward(nd.array([[1], [2], [3]]), nd.array([1, 1, 1]));
    expect([out.shape, arr(out)]).toEqual([[3], [0, 0.5, 2]]);
    expect(codeOf(() => l.forward(nd.zeros([3, 2]), nd.zeros([3])))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => new gluon.loss.HuberLoss({ rhoo: 1 } as any))).toBe('BAD_ARGUMENT');
    // sparse class labels: float or int32 (MNIST's), [n] or [n, 1]
    const ce = new gluon.loss.SoftmaxCrossEntropyLoss();
    const logits = nd.array([[1, 2, 3], [1, 0, 0]]);
    const ref = arr(ce.forward(logits, nd.array([2, 0])));
    expect(ref[0]).toBeCloseTo(Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)) - 3, 6);
    expect(arr(ce.forward(logits, nd.array([2, 0], { dtype: 'int32' })))).toEqual(ref);
    expect(arr(ce.forward(logits, nd.array([[2], [0]])))).toEqual(ref);
  });
});

test("d2l's concise linear regression recovers the weights (Dense + L2Loss + a hand-written SGD step)", () => {
  const before = liveMemory();
  const net = new nn.Sequential();
  net.add(new nn.Dense(1));
  net.initialize(new init.Normal(0.01));
  const l2 = new gluon.loss.L2Loss();
  const X = nd.random.normal(0, 1, [200, 2]);
  const y = nd.tidy(() => nd.add(nd.dot(X, nd.array([[2], [-3.4]])), 4.2));
  for (let epoch = 0; epoch < 40; epoch++)
    for (let i = 0; i < 200; i += 20)
      nd.tidy(() => {
        const xb = nd.sliceAxis(X, 0, i, i + 20);
        const yb = nd.sliceAxis(y, 0, i, i + 20);
        autograd.record(() => l2.forward(net.forward(xb), yb)).backward();
        for (const p of net.collectParams().values()) p.data().isub(nd.multiply(p.grad(), 0.1 / 20));
      });
  const ps = net.collectParams();
  const w = arr(ps.get('0.weight').data());
  expect([w[0], w[1], arr(ps.get('0.bias').data())[0]].map((v) => +v.toFixed(3))).toEqual([2, -3.4, 4.2]);
  net.dispose();
  nd.dispose([X, y]);
  expect(liveMemory()).toEqual(before);
});
