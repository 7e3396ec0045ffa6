// Custom Functions (autograd.Function): single use, gradReq handling, createGraph, and ownership: a
// Function's backward receives arrays ndgrad made for the pass (its output gradients and saved tensors)
// and returns arrays the user owns; ndgrad frees only its own handles and the graph holds what backward
// needs. Passes started inside a Function's backward: autograd-function-nested.test.ts.
import { autograd, nd, NDArray, NDArrayError } from '../lib';
import { arr, codeOf, errorOf, freshAutogradState } from './helpers';

freshAutogradState();

describe('custom Function: gradReq', () => {
  test('Function: single use, forward not recorded inside, BAD_ARGUMENT on reuse', () => {
    class Double extends autograd.Function {
      inside: boolean[] = [];
      forward(a: NDArray) {
        this.inside.push(autograd.isRecording());
        return a.mul(2);
      }
      backward(dy: NDArray) {
        return dy.mul(2);
      }
    }
    nd.tidy(() => {
      const a = nd.array([1, 2]);
      a.attachGrad();
      const f = new Double();
      const y = autograd.record(() => f.apply(a));
      expect(f.inside).toEqual([false]);
      expect(codeOf(() => autograd.record(() => f.apply(a)))).toBe('BAD_ARGUMENT');
      const sym = autograd.getSymbol(y).toJSON();
      expect(sym.nodes.map((n) => n.op)).toEqual(['variable', '_CustomFunction']);
      y.backward();
      expect(arr(a.grad!)).toEqual([2, 2]);
    });
  });


  test('Function: null and add gradReqs are honoured (MXNet mishandles both)', () => {
    class Mul extends autograd.Function {
      forward(a: NDArray, b: NDArray) {
        this.saveForBackward(a, b);
        return a.mul(b);
      }
      backward(dy: NDArray) {
        const [a, b] = this.savedTensors;
        return [dy.mul(b), dy.mul(a)];
      }
    }
    nd.tidy(() => {
      const a = nd.array([1, 2]);
      const b = nd.array([3, 4]);
      a.attachGrad('null');
      b.attachGrad('add');
      for (let i = 0; i < 2; i++) autograd.record(() => new Mul().apply(a, b)).backward();
      expect(arr(a.grad!)).toEqual([0, 0]); // null: nothing
      expect(arr(b.grad!)).toEqual([2, 4]); // add: accumulated twice
      // a constant first input does not stop the later input's gradient
      const c = nd.array([5, 6]);
      const d = nd.array([1, 1]);
      d.attachGrad();
      autograd.record(() => new Mul().apply(c, d)).backward();
      expect(arr(d.grad!)).toEqual([5, 6]);
      // backward may return null for an input
      class NullGrad extends autograd.Function {
        forward(p: NDArray, q: NDArray) {
          return p.add(q);
        }
        backward(dy: NDArray) {
          return [null, dy];
        }
      }
      const p = nd.array([1, 1]);
      p.attachGrad();
      autograd.record(() => new NullGrad().apply(p, d)).backward();
      expect(arr(p.grad!)).toEqual([0, 0]);
      expect(arr(d.grad!)).toEqual([1, 1]);
      // Function chained with built-in ops, several outputs
      class Split2 extends autograd.Function {
        forward(v: NDArray) {
          return [v.mul(2), v.mul(3)];
        }
        backward(g1: NDArray, g2: NDArray) {
          return g1.mul(2).add(g2.mul(3));
        }
      }
      const v = nd.array([1, 2]);
      v.attachGrad();
      const out = autograd.record(() => {
        const [o1, o2] = new Split2().apply(v.mul(v));
        return o1.add(o2.mul(10));
      });
      out.backward();
      expect(arr(v.grad!)).toEqual([64, 128]); // 32 * 2v
    });
  });
});

describe('custom Function: ownership', () => {
  const mem = () => [nd.memory().numArrays, nd.memory().numBytes];

  // API.md: a Function's backward is not recorded, so it has no second order; the gradient it gives
  // under createGraph must then refuse to be differentiated, not act as a constant (next order 0).
  test('createGraph through a Function gives its first order; differentiating that again is NOT_DIFFERENTIABLE', () => {
    const m0 = mem();
    nd.tidy(() => {
      const x = nd.array([1, 2, 3]);
      x.attachGrad();
      class Cube extends autograd.Function {
        forward(a: NDArray) {
          this.saveForBackward(a);
          return a.mul(a).mul(a);
        }
        backward(dy: NDArray) {
          const [a] = this.savedTensors;
          return dy.mul(a).mul(a).mul(3);
        }
      }
      const y = autograd.record(() => new Cube().apply(x).add(x.mul(x)).sum());
      const [g] = autograd.grad(y, x, null, { createGraph: true });
      expect(arr(g)).toEqual([5, 16, 33]); // 3x^2 + 2x
      const again = autograd.record(() => g.sum());
      const e = errorOf(() => autograd.grad(again, x));
      expect([e.code, e.message]).toEqual([
        'NOT_DIFFERENTIABLE',
        'backward: operator Function.backward is not differentiable (it has no gradient; it cannot be differentiated again)',
      ]);
      // a second order that does not pass through the Function is still fine
      const z = autograd.record(() => x.mul(x).sum());
      const [gz] = autograd.grad(z, x, null, { createGraph: true });
      const [g2] = autograd.grad(autograd.record(() => gz.sum()), x);
      expect(arr(g2)).toEqual([2, 2, 2]);
    });
    expect(mem()).toEqual(m0);
  });

  // x = [1, 2] (the Function's input), c = [5, 6] (a constant), v.grad = [7, 8] (another variable's)
  test.each<[string, (x: NDArray, c: NDArray, v: NDArray) => NDArray, number[]]>([
    ['a constant', (x, c) => c, [5, 6]],
    ['the input itself', (x) => x, [1, 2]],
    ["another variable's .grad", (x, c, v) => v.grad!, [7, 8]],
  ])('an array Function.backward returns (%s) stays the caller\'s: not disposed, not changed, used as the gradient', (_t, pick, expected) => {
    const m0 = mem();
    const x = nd.array([1, 2]);
    x.attachGrad();
    const c = nd.array([5, 6]);
    const v = nd.array([0, 0]);
    v.attachGrad();
    nd.tidy(() => v.grad!.set(nd.array([7, 8])));
    class Give extends autograd.Function {
      forward(a: NDArray) {
        return a.mul(3);
      }
      backward(_dy: NDArray) {
        return pick(x, c, v);
      }
    }
    nd.tidy(() => autograd.record(() => new Give().apply(x).sum()).backward());
    expect([c.isDisposed, x.isDisposed, v.grad!.isDisposed]).toEqual([false, false, false]);
    expect([arr(c), arr(v.grad!)]).toEqual([
      [5, 6],
      [7, 8],
    ]);
    expect(arr(x.grad!)).toEqual(expected);
    nd.dispose([x, c, v]);
    expect(mem()).toEqual(m0);
  });

  test("forward returning an input, an older array, the same array twice or a saved tensor leaves the user's arrays alone", () => {
    const m0 = mem();
    const x = nd.array([1, 2]);
    x.attachGrad();
    const k = nd.array([3, 4]); // a constant made before the call
    class Odd extends autograd.Function {
      forward(a: NDArray) {
        const t = a.mul(2);
        this.saveForBackward(t);
        return [a, k, t, t, this.savedTensors[0]];
      }
      backward(da: NDArray, dk: NDArray, dt1: NDArray, dt2: NDArray, ds: NDArray) {
        return da.add(dk).add(dt1.add(dt2).add(ds).mul(2));
      }
    }
    nd.tidy(() => {
      const outs = autograd.record(() => new Odd().apply(x)) as NDArray[];
      // the user's input and constant did not become outputs of the recorded node
      expect(nd._native.inGraph(k.h)).toBe(false);
      expect(outs[0]).not.toBe(x);
      expect(outs[1]).not.toBe(k);
      expect(outs[3]).not.toBe(outs[2]);
      expect(outs.map((o) => arr(o))).toEqual([[1, 2], [3, 4], [2, 4], [2, 4], [2, 4]]);
      autograd.record(() => outs.reduce((p, o) => p.add(o)).sum()).backward();
    });
    expect(arr(x.grad!)).toEqual([8, 8]);
    expect(k.isDisposed).toBe(false);
    expect(arr(k)).toEqual([3, 4]);
    // k stays a plain array: in-place updates under record are allowed
    autograd.record(() => k.iadd(1));
    expect(arr(k)).toEqual([4, 5]);
    nd.dispose([x, k]);
    expect(mem()).toEqual(m0);
  });

  test('a forward output already in the graph is INPLACE_IN_GRAPH and leaves nothing behind', () => {
    const m0 = mem();
    const x = nd.array([1, 2]);
    x.attachGrad();
    let t: NDArray | undefined;
    class InGraph extends autograd.Function {
      forward(a: NDArray) {
        this.saveForBackward(a);
        t = a.mul(2);
        t.attachGrad();
        return [a, t]; // `a` is recorded through a view of ours, `t` cannot be recorded
      }
    }
    expect(codeOf(() => autograd.record(() => new InGraph().apply(x)))).toBe('INPLACE_IN_GRAPH');
    nd.dispose([t, x]);
    expect(mem()).toEqual(m0);
  });

  describe('what a Function saved is freed with its graph', () => {
    class Sq extends autograd.Function {
      constructor(private readonly bad = false) {
        super();
      }
      forward(a: NDArray) {
        this.saveForBackward(a, a.exp());
        return a.mul(a);
      }
      backward(dy: NDArray) {
        if (this.bad) throw new Error('user backward failed');
        return dy.mul(this.savedTensors[0]).mul(2);
      }
    }
    class Throws extends autograd.Function {
      forward(a: NDArray): NDArray {
        this.saveForBackward(a.exp());
        throw new Error('user forward failed');
      }
    }
    test.each<[string, (x: NDArray) => void]>([
      ['a recorded result dropped without backward', (x) => {
        autograd.record(() => new Sq().apply(x));
      }],
      ['a backward in which Function.backward throws', (x) => {
        const y = autograd.record(() => new Sq(true).apply(x).sum());
        expect(() => y.backward()).toThrow('user backward failed');
      }],
      ['a pass that reaches the Function on a zero-gradient branch', (x) => {
        autograd.backward(autograd.record(() => new Sq().apply(x).sum().mul(0).add(x.sum())));
      }],
      ['a pass in which no gradient reaches the Function (floor has none), so its backward never runs', (x) => {
        autograd.record(() => nd.floor(new Sq().apply(x)).sum().add(x.sum())).backward();
      }],
      ['a forward that throws after saving', (x) => {
        expect(() => autograd.record(() => new Throws().apply(x))).toThrow('user forward failed');
      }],
    ])('after %s', (_t, run) => {
      const x = nd.random.normal(0, 1, [64]);
      x.attachGrad();
      const m0 = mem();
      nd.tidy(() => {
        run(x); // returns nothing: tidy frees all it made
      });
      expect(mem()).toEqual(m0);
      x.dispose();
    });

    test('saving anywhere but in forward is BAD_ARGUMENT (nothing would own the saved handle)', () => {
      class LateSave extends autograd.Function {
        forward(a: NDArray) {
          return a.mul(2);
        }
        backward(dy: NDArray) {
          this.saveForBackward(dy);
          return dy;
        }
      }
      const x = nd.random.normal(0, 1, [64]);
      x.attachGrad();
      const m0 = mem();
      nd.tidy(() => {
        expect(codeOf(() => new LateSave().saveForBackward(x))).toBe('BAD_ARGUMENT');
        const y = autograd.record(() => new LateSave().apply(x).sum());
        expect(codeOf(() => y.backward())).toBe('BAD_ARGUMENT');
      });
      expect(mem()).toEqual(m0);
      x.dispose();
    });
  });

  test("grad() results are new memory, never a view of an array Function.backward returned", () => {
    nd.tidy(() => {
      const x = nd.array([1, 2]);
      x.attachGrad();
      const c = nd.array([5, 6]);
      class Const extends autograd.Function {
        forward(a: NDArray) {
          return a.mul(2);
        }
        backward(_dy: NDArray) {
          return c;
        }
      }
      const y = autograd.record(() => new Const().apply(x));
      const [g] = autograd.grad(y, x);
      expect(arr(g)).toEqual([5, 6]);
      g.set(0); // the caller owns the result
      expect(arr(c)).toEqual([5, 6]);
    });
  });

  test("output gradients are read-only in Function.backward: an in-place change is BAD_CUSTOM_GRAD, the caller's head gradient is untouched", () => {
    nd.tidy(() => {
      const x = nd.array([1, 2]);
      x.attachGrad();
      class Scribble extends autograd.Function {
        forward(a: NDArray) {
          return a.mul(2);
        }
        backward(dy: NDArray) {
          return dy.imul(2);
        }
      }
      const hg = nd.array([1, 1]);
      let y = autograd.record(() => new Scribble().apply(x));
      expect(codeOf(() => y.backward(hg))).toBe('BAD_CUSTOM_GRAD');
      expect(arr(hg)).toEqual([1, 1]);
      y = autograd.record(() => new Scribble().apply(x).mul(3));
      const e = errorOf(() => y.backward());
      expect(e.code).toBe('BAD_CUSTOM_GRAD');
      expect(e.message).toContain('in place');
      expect(arr(x.grad!)).toEqual([0, 0]); // nothing written
    });
  });

  test('a saved tensor changed in place before backward is INPLACE_MODIFIED', () => {
    nd.tidy(() => {
      const x = nd.array([1, 2]);
      x.attachGrad();
      const s = nd.array([3, 4]);
      class Scale extends autograd.Function {
        forward(a: NDArray) {
          this.saveForBackward(s);
          return a.mul(s);
        }
        backward(dy: NDArray) {
          return dy.mul(this.savedTensors[0]);
        }
      }
      const y = autograd.record(() => new Scale().apply(x).sum());
      s.iadd(1);
      const e = errorOf(() => y.backward());
      expect(e.code).toBe('INPLACE_MODIFIED');
      expect(e.message).toContain('Function');
    });
  });
});
