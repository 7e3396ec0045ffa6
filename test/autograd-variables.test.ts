// Variables and gradients: gradReq write/add/null, heads and head gradients, grad() vs .grad, detach,
// retained gradients on results, getSymbol, ops with no gradient, and memory returning to baseline.
import { autograd, nd, NDArray } from '../lib';
import { arr, codeOf, errorOf, expectError, freshAutogradState } from './helpers';

freshAutogradState();

describe('variables, gradients and graphs', () => {
  describe('markVariables validates counts, shapes and dtypes before marking anything', () => {
    const z = (n: number, dtype: 'float32' | 'float64' | 'int32' = 'float32') => nd.zeros([n], { dtype });
    test.each<[string, () => unknown, string]>([
      ['fewer gradients than variables', () => autograd.markVariables([z(2), z(3)], [z(2)]), 'BAD_ARGUMENT'],
      ['more gradReqs than variables', () => autograd.markVariables([z(2)], [z(2)], ['write', 'add']), 'BAD_ARGUMENT'],
      ['a gradient of another shape', () => autograd.markVariables([z(2), z(3)], [z(2), z(4)]), 'SHAPE_MISMATCH'],
      ['a gradient of another dtype', () => autograd.markVariables(z(2), z(2, 'float64')), 'DTYPE_MISMATCH'],
      ['an integer variable', () => autograd.markVariables(z(2, 'int32'), z(2, 'int32')), 'DTYPE_MISMATCH'],
      ['an integer variable, by attachGrad', () => z(2, 'int32').attachGrad(), 'DTYPE_MISMATCH'],
      ['a single variable with a list of gradients', () => autograd.markVariables(z(2), [z(2)]), 'BAD_ARGUMENT'],
      ['an unknown gradReq', () => autograd.markVariables([z(2)], [z(2)], ['sometimes' as any]), 'BAD_ARGUMENT'],
    ])('%s', (_t, call, code) => {
      nd.tidy(() => expect(codeOf(call)).toBe(code));
    });

    test('a list with one invalid entry marks none of them', () => {
      nd.tidy(() => {
        const a = nd.zeros([2]);
        expect(codeOf(() => autograd.markVariables([a, nd.zeros([3])], [nd.zeros([2]), nd.zeros([4])]))).toBe('SHAPE_MISMATCH');
        expect(a.grad).toBeNull(); // a was valid but the second was not
        expect(nd._native.inGraph(a.h)).toBe(false);
      });
    });

    test('a single array and its gradient: marked, and backward writes into that gradient', () => {
      nd.tidy(() => {
        const a = nd.zeros([2]);
        const ga = nd.zeros([2]);
        autograd.markVariables(a, ga);
        expect(a.grad).toBe(ga);
        const y = autograd.record(() => a.add(1).mul(3));
        y.backward();
        expect(arr(ga)).toEqual([3, 3]);
      });
    });
  });

  test("gradReq 'add' accumulates every pass into the same .grad object", () => {
    nd.tidy(() => {
      const x = nd.array([1, 2]);
      x.attachGrad('add');
      const g = x.grad;
      expect(x.grad).toBe(g);
      for (let i = 0; i < 3; i++) autograd.record(() => x.mul(x)).backward();
      expect(arr(x.grad!)).toEqual([6, 12]);
      expect(x.grad).toBe(g);
    });
  });

  test("attachGrad again gives a new zeroed buffer; gradReq 'write' overwrites it each pass", () => {
    nd.tidy(() => {
      const x = nd.array([1, 2]);
      x.attachGrad('add');
      const g = x.grad;
      autograd.record(() => x.mul(x)).backward();
      x.attachGrad();
      expect(x.grad).not.toBe(g);
      expect(arr(x.grad!)).toEqual([0, 0]);
      for (let i = 0; i < 2; i++) autograd.record(() => x.mul(x)).backward();
      expect(arr(x.grad!)).toEqual([2, 4]);
    });
  });

  test("gradReq 'null' leaves its buffer at zero while the other inputs get their gradients", () => {
    nd.tidy(() => {
      const x = nd.array([1, 2]);
      x.attachGrad();
      const n = nd.array([3, 4]);
      n.attachGrad('null');
      autograd.record(() => x.mul(n)).backward();
      expect(arr(n.grad!)).toEqual([0, 0]);
      expect(arr(x.grad!)).toEqual([3, 4]);
    });
  });

  describe('heads', () => {
    test('a head that is itself a variable: its head gradient is its gradient (backward and grad)', () => {
      nd.tidy(() => {
        const x = nd.array([1, 2, 3]);
        x.attachGrad();
        autograd.backward(x, nd.array([4, 5, 6]));
        expect(arr(x.grad!)).toEqual([4, 5, 6]);
        const [gx] = autograd.grad(x, x, nd.array([1, 1, 2]));
        expect(arr(gx)).toEqual([1, 1, 2]);
      });
    });

    test('a head listed twice contributes twice', () => {
      nd.tidy(() => {
        const x = nd.array([1, 2, 3]);
        x.attachGrad();
        const y = autograd.record(() => x.mul(2));
        autograd.backward([y, y]);
        expect(arr(x.grad!)).toEqual([4, 4, 4]);
      });
    });

    test.each<[string, (x: NDArray) => NDArray, number[]]>([
      ['a full reduction', (x) => x.mul(x).sum(), [2, 4, 6]],
      ['an element taken with at()', (x) => x.at(1).mul(5), [0, 5, 0]],
    ])('a 0-d head (%s) has shape [] and a default head gradient of one', (_t, f, expected) => {
      nd.tidy(() => {
        const x = nd.array([1, 2, 3]);
        x.attachGrad();
        const h = autograd.record(() => f(x));
        expect(h.shape).toEqual([]);
        h.backward();
        expect(arr(x.grad!)).toEqual(expected);
      });
    });

    test.each<[string, (y: NDArray) => unknown, string]>([
      ['a head gradient of another shape', (y) => y.backward(nd.ones([2]), { retainGraph: true }), 'SHAPE_MISMATCH'],
      ['a head gradient of another dtype', (y) => y.backward(nd.ones([3], { dtype: 'float64' }), { retainGraph: true }), 'DTYPE_MISMATCH'],
      ['more head gradients than heads', (y) => autograd.backward([y], [null, null] as any, { retainGraph: true }), 'BAD_ARGUMENT'],
    ])('%s is refused, and the graph stays usable', (_t, call, code) => {
      nd.tidy(() => {
        const x = nd.array([1, 2, 3]);
        x.attachGrad();
        const y = autograd.record(() => x.mul(2));
        expect(codeOf(() => call(y))).toBe(code);
        y.backward();
        expect(arr(x.grad!)).toEqual([2, 2, 2]);
      });
    });
  });

  test('grad() returns new arrays and leaves .grad and freshGrad alone', () => {
    nd.tidy(() => {
      const x = nd.array([1, 2]);
      x.attachGrad();
      x.grad!.set(7);
      const hg = nd.array([1, 1]);
      const y = autograd.record(() => x.add(0));
      const [g] = autograd.grad(y, [x], [hg]);
      expect(arr(g)).toEqual([1, 1]);
      expect(g).not.toBe(x.grad);
      expect(g.h).not.toBe(hg.h);
      g.set(3); // the returned array does not alias the head gradient
      expect(arr(hg)).toEqual([1, 1]);
      expect(arr(x.grad!)).toEqual([7, 7]);
      expect(x.freshGrad).toBe(false);
      // several variables, a list result in order
      const z = nd.array([3, 4]);
      z.attachGrad();
      const w = autograd.record(() => x.mul(z));
      const [gx, gz] = autograd.grad(w, [x, z]);
      expect(arr(gx)).toEqual([3, 4]);
      expect(arr(gz)).toEqual([1, 2]);
    });
  });

  test('detach shares memory, has no history, no grad', () => {
    nd.tidy(() => {
      const x = nd.array([1, 2]);
      x.attachGrad();
      const y = autograd.record(() => x.mul(2));
      const d = y.detach();
      expect(d.grad).toBeNull();
      expect(nd._native.inGraph(d.h)).toBe(false);
      expect(codeOf(() => d.backward())).toBe('NOT_RECORDED');
      const v = x.detach();
      v.set(5); // outside record: writes x's memory too
      expect(arr(x)).toEqual([5, 5]);
    });
  });

  test('retain-grad on non-leaves and dropGrad', () => {
    nd.tidy(() => {
      const x = nd.array([1, 2]);
      x.attachGrad();
      let u!: NDArray, z!: NDArray;
      autograd.record(() => {
        u = x.mul(3);
        z = u.mul(u);
      });
      u.attachGrad();
      expect(u.grad).not.toBeNull();
      z.backward(null, { retainGraph: true });
      expect(arr(u.grad!)).toEqual([6, 12]); // 2u
      expect(arr(x.grad!)).toEqual([18, 36]); // 18x: history kept through u
      u.dropGrad();
      expect(u.grad).toBeNull();
      x.dropGrad();
      expect(x.grad).toBeNull();
      // nothing left that wants a gradient
      expect(codeOf(() => z.backward(null, { retainGraph: true }))).toBe('NO_GRAD_INPUTS');
      // dropGrad on an array with no history is harmless
      nd.array([1]).dropGrad();
    });
  });

  test('getSymbol: toJSON, toDot, listArguments; scalars are attrs', () => {
    nd.tidy(() => {
      const x = nd.array([1, 2]);
      x.attachGrad();
      const c = nd.array([3, 4]);
      const y = autograd.record(() => x.mul(c).add(2));
      const j = autograd.getSymbol(y).toJSON();
      expect(j.nodes.map((n) => n.op)).toEqual(['variable', 'constant', 'multiply', 'add']);
      const mulNode = j.nodes[2];
      expect(mulNode.inputs).toEqual([0, 1]);
      expect(j.nodes[3].attrs).toEqual({ scalar: 2 });
      expect(j.nodes[3].inputs).toEqual([2]);
      expect(j.nodes[3].shape).toEqual([2]);
      expect(j.nodes.map((n) => n.id)).toEqual([0, 1, 2, 3]);
      const g = autograd.getSymbol(y);
      expect(g.listArguments().length).toBe(2);
      const dot = g.toDot();
      expect(dot.startsWith('digraph')).toBe(true);
      expect(dot).toContain('multiply');
      expect(dot).toContain('n2 -> n3');
      // multi-output op: the split node appears once
      const s = autograd.record(() => {
        const [p, q] = nd.split(x, { numOutputs: 2, axis: 0 });
        return p.add(q);
      });
      const sj = autograd.getSymbol(s).toJSON();
      expect(sj.nodes.filter((n) => n.op === 'split').length).toBe(1);
      expect(sj.nodes[sj.nodes.length - 1].inputs).toEqual([1, 1]);
    });
  });

  test('NOT_DIFFERENTIABLE ops give zero gradients (sign, floor, comparisons)', () => {
    nd.tidy(() => {
      const x = nd.array([1.5, -2.5]);
      x.attachGrad();
      const y = autograd.record(() => nd.sign(x).add(nd.floor(x)).add(nd.greater(x, 0)).add(x));
      y.backward();
      expect(arr(x.grad!)).toEqual([1, 1]);
    });
  });
});

describe('memory returns to baseline', () => {
  test('after backward without retainGraph, and after a retained graph is dropped', () => {
    const x = nd.random.normal(0, 1, [16, 16]);
    x.attachGrad();
    const w = nd.random.normal(0, 1, [16, 8]);
    w.attachGrad();
    const base = nd.memory();
    nd.tidy(() => {
      const loss = autograd.record(() => nd.dot(nd.tanh(x), w).square().sum());
      loss.backward();
    });
    expect(nd.memory().numArrays).toBe(base.numArrays);
    expect(nd.memory().numBytes).toBe(base.numBytes);

    // disposing the heads of a retained graph frees the whole graph
    nd.tidy(() => {
      const loss = autograd.record(() => nd.dot(nd.sigmoid(x), w).mul(x.sum()).sum());
      loss.backward(null, { retainGraph: true });
      loss.backward(null, { retainGraph: true });
    });
    expect(nd.memory().numArrays).toBe(base.numArrays);
    expect(nd.memory().numBytes).toBe(base.numBytes);

    // intermediate handles disposed by the user while the graph lives: backward still works
    nd.tidy(() => {
      const y = autograd.record(() => {
        const t = nd.tanh(x);
        const out = t.mul(t).sum();
        t.dispose();
        return out;
      });
      y.backward();
      expect(x.grad!.shape).toEqual([16, 16]);
    });
    expect(nd.memory().numArrays).toBe(base.numArrays);
    expect(nd.memory().numBytes).toBe(base.numBytes);

    // higher-order graphs, Functions and split/Dropout/FullyConnected are freed too
    class Sq extends autograd.Function {
      forward(a: NDArray) {
        this.saveForBackward(a);
        return a.mul(a);
      }
      backward(dy: NDArray) {
        return dy.mul(this.savedTensors[0]).mul(2);
      }
    }
    nd.tidy(() => {
      const y1 = autograd.record(() => nd.sin(x).mul(x));
      const [g1] = autograd.grad(y1, x, null, { createGraph: true });
      const [g2] = autograd.grad(g1, x, null, { createGraph: true });
      g2.backward();
      const y2 = autograd.record(() => {
        const parts = nd.split(new Sq().apply(x), { numOutputs: 4, axis: 0 });
        const h = nd.FullyConnected(nd.Dropout(parts[1], { p: 0.3 }), w.T, nd.zeros([8]), { numHidden: 8 });
        return h.sum().add(parts[3].sum());
      });
      y2.backward();
    });
    expect(nd.memory().numArrays).toBe(base.numArrays);
    expect(nd.memory().numBytes).toBe(base.numBytes);

    x.dispose();
    w.dispose();
  });

  test('disposing a variable frees its attachGrad buffer; dropGrad frees it too', () => {
    const base = nd.memory();
    const x = nd.zeros([100]);
    x.attachGrad();
    x.dispose();
    expect(nd.memory().numArrays).toBe(base.numArrays);
    expect(nd.memory().numBytes).toBe(base.numBytes);
    const y = nd.zeros([100]);
    y.attachGrad();
    y.dropGrad();
    y.dispose();
    expect(nd.memory().numArrays).toBe(base.numArrays);
    expect(nd.memory().numBytes).toBe(base.numBytes);
  });
});

test('checkGradient detects a wrong gradient', () => {
  class Wrong extends autograd.Function {
    forward(v: NDArray) {
      return v.square();
    }
    backward(dy: NDArray) {
      return dy;
    }
  }
  nd.tidy(() => {
    const x = nd.random.normal(0, 1, [3, 4]);
    expectError(() => autograd.checkGradient((v) => new Wrong().apply(v), [x]), 'GRADIENT_MISMATCH', 'checkGradient', '(3,4)', 'analytic');
  });
});
