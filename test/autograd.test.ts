// Autograd contract of API.md beyond MXNet's own tests: every error code, scopes (callback and
// `using` forms, nesting, throws), retain-grad / dropGrad, grad() vs .grad, Function's gradReq
// handling, getSymbol, memory returning to baseline, and checkGradient on the ops of the issue.
import { autograd, nd, NDArray, NDArrayError } from '../lib';
import { codeOf, errorOf } from './helpers';



const arr = (a: NDArray) => Array.from(a.toTypedArray());

beforeEach(() => {
  autograd.setRecording(false);
  autograd.setTraining(false);
  nd.random.seed(7);
});

describe('state flags and scopes', () => {
  test('defaults, setRecording/setTraining return the previous value', () => {
    expect(autograd.isRecording()).toBe(false);
    expect(autograd.isTraining()).toBe(false);
    expect(autograd.setRecording(true)).toBe(false);
    expect(autograd.setRecording(true)).toBe(true);
    expect(autograd.isRecording()).toBe(true);
    expect(autograd.setRecording(false)).toBe(true);
    expect(autograd.setTraining(true)).toBe(false);
    expect(autograd.setTraining(false)).toBe(true);
    expect(autograd.isTraining()).toBe(false);
  });

  test('callback scopes set the table of API.md and return fn value', () => {
    const seen: [boolean, boolean][] = [];
    const probe = () => seen.push([autograd.isRecording(), autograd.isTraining()]);
    expect(autograd.record(() => (probe(), 42))).toBe(42);
    autograd.record(probe, { trainMode: false });
    autograd.pause(probe);
    autograd.pause(probe, { trainMode: true });
    autograd.trainMode(probe);
    autograd.predictMode(probe);
    expect(seen).toEqual([
      [true, true],
      [true, false],
      [false, false],
      [false, true],
      [false, true],
      [false, false],
    ]);
    expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, false]);
  });

  test('nested scopes restore both flags at each level', () => {
    autograd.record(() => {
      autograd.pause(() => {
        expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, false]);
        autograd.trainMode(() => {
          expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, true]);
          autograd.record(() => {
            expect([autograd.isRecording(), autograd.isTraining()]).toEqual([true, false]);
          }, { trainMode: false });
          expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, true]);
        });
        expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, false]);
      });
      expect([autograd.isRecording(), autograd.isTraining()]).toEqual([true, true]);
    });
    expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, false]);
  });

  test('a flag flipped by hand inside a scope is restored on exit (unlike MXNet)', () => {
    autograd.setRecording(true);
    autograd.record(() => {
      autograd.setRecording(false);
      autograd.setTraining(false);
    });
    // MXNet would leave recording off here (its entry did not change it); we restore both
    expect(autograd.isRecording()).toBe(true);
    expect(autograd.isTraining()).toBe(false);
  });

  test('thrown-through scopes restore both flags and rethrow', () => {
    const boom = new Error('boom');
    for (const scope of [
      (f: () => void) => autograd.record(f),
      (f: () => void) => autograd.pause(f, { trainMode: true }),
      (f: () => void) => autograd.trainMode(f),
      (f: () => void) => autograd.predictMode(f),
    ]) {
      autograd.setRecording(true);
      autograd.setTraining(false);
      expect(() =>
        scope(() => {
          autograd.record(() => {
            throw boom;
          });
        }),
      ).toThrow(boom);
      expect(autograd.isRecording()).toBe(true);
      expect(autograd.isTraining()).toBe(false);
    }
  });

  test('using forms behave like the callback forms, also on throw', () => {
    {
      using _r = autograd.record();
      expect([autograd.isRecording(), autograd.isTraining()]).toEqual([true, true]);
      {
        using _p = autograd.pause();
        expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, false]);
        {
          using _t = autograd.trainMode();
          expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, true]);
        }
        expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, false]);
      }
      {
        using _pm = autograd.predictMode();
        expect([autograd.isRecording(), autograd.isTraining()]).toEqual([true, false]);
      }
      {
        using _rf = autograd.record({ trainMode: false });
        expect([autograd.isRecording(), autograd.isTraining()]).toEqual([true, false]);
      }
      {
        using _pt = autograd.pause({ trainMode: true });
        expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, true]);
      }
      expect([autograd.isRecording(), autograd.isTraining()]).toEqual([true, true]);
    }
    expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, false]);
    expect(() => {
      using _r = autograd.record();
      throw new Error('inside using');
    }).toThrow('inside using');
    expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, false]);
    // the using form records like the callback form
    const x = nd.array([1, 2, 3]);
    x.attachGrad();
    let y: NDArray;
    {
      using _r = autograd.record();
      y = x.mul(x);
    }
    y.backward();
    expect(arr(x.grad!)).toEqual([2, 4, 6]);
    // disposing twice is harmless
    const s = autograd.record();
    s[Symbol.dispose]();
    s[Symbol.dispose]();
    expect(autograd.isRecording()).toBe(false);
  });

  test('ASYNC_SCOPE: async callbacks are refused and the state is restored', async () => {
    for (const scope of [autograd.record, autograd.pause, autograd.trainMode, autograd.predictMode] as any[]) {
      let err: unknown;
      try {
        scope(async () => 1);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NDArrayError);
      expect((err as NDArrayError).code).toBe('ASYNC_SCOPE');
      expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, false]);
    }
  });
});

describe('error codes', () => {
  test('NOT_RECORDED: outside record, from constants only, inside pause; message names autograd.record()', () => {
    nd.tidy(() => {
      const x = nd.array([1, 2]);
      x.attachGrad();
      const outside = x.mul(2);
      let e = errorOf(() => outside.backward());
      expect(e.code).toBe('NOT_RECORDED');
      expect(e.message).toContain('autograd.record()');
      const c = nd.array([1, 2]);
      const fromConst = autograd.record(() => c.mul(2));
      expect(codeOf(() => fromConst.backward())).toBe('NOT_RECORDED');
      const paused = autograd.record(() => autograd.pause(() => x.mul(2)));
      expect(codeOf(() => autograd.backward([paused]))).toBe('NOT_RECORDED');
      expect(codeOf(() => autograd.grad(outside, x))).toBe('NOT_RECORDED');
      e = errorOf(() => autograd.getSymbol(outside));
      expect(e.code).toBe('NOT_RECORDED');
    });
  });

  test('GRAPH_FREED on a second backward without retainGraph; retainGraph allows it', () => {
    nd.tidy(() => {
      const x = nd.array([1, 2]);
      x.attachGrad();
      const y = autograd.record(() => x.mul(x).sum());
      y.backward(null, { retainGraph: true });
      y.backward();
      expect(arr(x.grad!)).toEqual([2, 4]);
      const e = errorOf(() => y.backward());
      expect(e.code).toBe('GRAPH_FREED');
      expect(e.message).toContain('retainGraph');
      // grad() without createGraph frees too (retainGraph defaults to createGraph)
      const z = autograd.record(() => x.mul(3));
      autograd.grad(z, x);
      expect(codeOf(() => autograd.grad(z, x))).toBe('GRAPH_FREED');
      // the variable itself survives and can be recorded again
      const w = autograd.record(() => x.mul(4));
      w.backward();
      expect(arr(x.grad!)).toEqual([4, 4]);
    });
  });

  test("NO_GRAD_INPUTS when every reachable variable has gradReq 'null'", () => {
    nd.tidy(() => {
      const x = nd.array([1, 2]);
      x.attachGrad('null');
      const y = autograd.record(() => x.mul(2));
      expect(codeOf(() => y.backward())).toBe('NO_GRAD_INPUTS');
    });
  });

  test('NOT_A_VARIABLE and NOT_REACHABLE for grad()', () => {
    nd.tidy(() => {
      const x = nd.array([1, 2]);
      const z = nd.array([3, 4]);
      const n = nd.array([5, 6]);
      x.attachGrad();
      z.attachGrad();
      n.attachGrad('null');
      const plain = nd.array([1, 1]);
      const y = autograd.record(() => x.mul(n).add(plain));
      let e = errorOf(() => autograd.grad(y, [x, plain], null, { retainGraph: true }));
      expect(e.code).toBe('NOT_A_VARIABLE');
      expect(e.message).toContain('2-th variable');
      expect(codeOf(() => autograd.grad(y, n, null, { retainGraph: true }))).toBe('NOT_A_VARIABLE');
      e = errorOf(() => autograd.grad(y, [x, z], null, { retainGraph: true }));
      expect(e.code).toBe('NOT_REACHABLE');
      expect(e.message).toContain('unreachable');
      expect(codeOf(() => autograd.grad(y, [], null))).toBe('BAD_ARGUMENT');
      expect(arr(autograd.grad(y, x)[0])).toEqual([5, 6]);
    });
  });

  test('INPLACE_IN_GRAPH is raised before anything is written', () => {
    nd.tidy(() => {
      const x = nd.array([1, 2, 3]);
      x.attachGrad();
      const plain = nd.array([10, 20, 30]);
      autograd.record(() => {
        const y = x.mul(2);
        // into a variable
        expect(codeOf(() => x.iadd(1))).toBe('INPLACE_IN_GRAPH');
        expect(arr(x)).toEqual([1, 2, 3]);
        expect(codeOf(() => x.set(0))).toBe('INPLACE_IN_GRAPH');
        expect(arr(x)).toEqual([1, 2, 3]);
        // into a recorded result, by method and by { out }
        expect(codeOf(() => y.imul(3))).toBe('INPLACE_IN_GRAPH');
        expect(codeOf(() => nd.exp(plain, { out: y }))).toBe('INPLACE_IN_GRAPH');
        expect(codeOf(() => nd.add(plain, x, { out: y }))).toBe('INPLACE_IN_GRAPH');
        expect(arr(y)).toEqual([2, 4, 6]);
        // a plain array that is also an input of an op needing a gradient (x += y with y in graph)
        const e = errorOf(() => plain.iadd(x));
        expect(e.code).toBe('INPLACE_IN_GRAPH');
        expect(e.message).toContain('add');
        expect(arr(plain)).toEqual([10, 20, 30]);
        // in-place on plain arrays with no graph input is allowed (not recorded)
        plain.iadd(1);
        expect(arr(plain)).toEqual([11, 21, 31]);
        // whole-array assignment from a graph array is a recorded copy (MXNet's x[:] = y)
        const dst = nd.zeros([3]);
        dst.set(y);
        expect(arr(dst)).toEqual([2, 4, 6]);
        autograd.backward(dst);
      });
      expect(arr(x.grad!)).toEqual([2, 2, 2]);
      // outside record in-place updates of variables are allowed (optimizer steps), and the
      // variable stays a variable
      x.isub(x.grad!.mul(0.5));
      expect(arr(x)).toEqual([0, 1, 2]);
      const z = autograd.record(() => x.mul(x));
      z.backward();
      expect(arr(x.grad!)).toEqual([0, 2, 4]);
    });
  });

  test('INPLACE_MODIFIED at backward time after a saved input changed in place', () => {
    nd.tidy(() => {
      const x = nd.array([1, 2, 3]);
      x.attachGrad();
      const c = nd.array([4, 5, 6]);
      let y = autograd.record(() => x.mul(c));
      c.iadd(1); // outside record: allowed, but multiply saved c
      const e = errorOf(() => y.backward());
      expect(e.code).toBe('INPLACE_MODIFIED');
      expect(e.message).toContain('multiply');
      // the variable itself updated between forward and backward
      y = autograd.record(() => x.mul(x));
      x.set(nd.array([7, 7, 7]));
      expect(codeOf(() => y.backward())).toBe('INPLACE_MODIFIED');
      // a saved output (exp saves its output)
      const z = autograd.record(() => nd.exp(x));
      z.iadd(1);
      expect(codeOf(() => z.backward())).toBe('INPLACE_MODIFIED');
      // a pass that fails without retainGraph frees its graph: the retry says so, and with
      // retainGraph the graph stays usable after the failure (the same error again)
      expect(codeOf(() => z.backward())).toBe('GRAPH_FREED');
      const z2 = autograd.record(() => nd.exp(x));
      z2.iadd(1);
      expect(codeOf(() => z2.backward(null, { retainGraph: true }))).toBe('INPLACE_MODIFIED');
      expect(codeOf(() => z2.backward(null, { retainGraph: true }))).toBe('INPLACE_MODIFIED');
      // ops that save nothing are unaffected
      const w = autograd.record(() => x.add(c));
      c.iadd(1);
      w.backward();
      expect(arr(x.grad!)).toEqual([1, 1, 1]);
    });
  });

  test('markVariables validates counts, shapes and dtypes before marking anything', () => {
    nd.tidy(() => {
      const a = nd.zeros([2]);
      const b = nd.zeros([3]);
      expect(codeOf(() => autograd.markVariables([a, b], [nd.zeros([2])]))).toBe('BAD_ARGUMENT');
      expect(codeOf(() => autograd.markVariables([a], [nd.zeros([2])], ['write', 'add']))).toBe('BAD_ARGUMENT');
      expect(codeOf(() => autograd.markVariables([a, b], [nd.zeros([2]), nd.zeros([4])]))).toBe('SHAPE_MISMATCH');
      expect(a.grad).toBeNull(); // nothing marked: a was valid but b was not
      expect(nd._native.inGraph(a.h)).toBe(false);
      expect(codeOf(() => autograd.markVariables(a, nd.zeros([2], { dtype: 'float64' })))).toBe('DTYPE_MISMATCH');
      expect(codeOf(() => autograd.markVariables(nd.zeros([2], { dtype: 'int32' }), nd.zeros([2], { dtype: 'int32' })))).toBe(
        'DTYPE_MISMATCH',
      );
      expect(codeOf(() => nd.zeros([2], { dtype: 'int32' }).attachGrad())).toBe('DTYPE_MISMATCH');
      expect(codeOf(() => autograd.markVariables(a, [nd.zeros([2])]))).toBe('BAD_ARGUMENT');
      expect(codeOf(() => autograd.markVariables([a], [nd.zeros([2])], ['sometimes' as any]))).toBe('BAD_ARGUMENT');
      // single arrays and a valid list work
      const ga = nd.zeros([2]);
      autograd.markVariables(a, ga);
      expect(a.grad).toBe(ga);
      const y = autograd.record(() => a.add(1).mul(3));
      y.backward();
      expect(arr(ga)).toEqual([3, 3]);
    });
  });

  test('BAD_CUSTOM_GRAD (wrong count, wrong shape) is thrown from the backward() call itself', () => {
    class WrongCount extends autograd.Function {
      forward(a: NDArray, b: NDArray) {
        return a.mul(b);
      }
      backward(dy: NDArray) {
        return [dy];
      }
    }
    class WrongShape extends autograd.Function {
      forward(a: NDArray) {
        return a.mul(2);
      }
      backward(_dy: NDArray) {
        return nd.zeros([5]);
      }
    }
    nd.tidy(() => {
      const a = nd.array([1, 2]);
      const b = nd.array([3, 4]);
      a.attachGrad();
      b.attachGrad();
      const y1 = autograd.record(() => new WrongCount().apply(a, b));
      let e = errorOf(() => y1.backward());
      expect(e.code).toBe('BAD_CUSTOM_GRAD');
      expect(e.message).toContain('1 gradients for 2 inputs');
      const y2 = autograd.record(() => new WrongShape().apply(a));
      e = errorOf(() => y2.backward());
      expect(e.code).toBe('BAD_CUSTOM_GRAD');
      expect(e.message).toContain('(5)');
      // state is restored after the failure
      expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, false]);
    });
  });

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
});

describe('variables, gradients and graphs', () => {
  test("write, add and null gradReq; x.grad is the same object; re-attach resets", () => {
    nd.tidy(() => {
      const x = nd.array([1, 2]);
      x.attachGrad('add');
      const g = x.grad;
      expect(x.grad).toBe(g);
      for (let i = 0; i < 3; i++) autograd.record(() => x.mul(x)).backward();
      expect(arr(x.grad!)).toEqual([6, 12]);
      expect(x.grad).toBe(g);
      x.attachGrad();
      expect(x.grad).not.toBe(g);
      expect(arr(x.grad!)).toEqual([0, 0]);
      for (let i = 0; i < 2; i++) autograd.record(() => x.mul(x)).backward();
      expect(arr(x.grad!)).toEqual([2, 4]);
      const n = nd.array([3, 4]);
      n.attachGrad('null');
      autograd.record(() => x.mul(n)).backward();
      expect(arr(n.grad!)).toEqual([0, 0]);
      expect(arr(x.grad!)).toEqual([3, 4]);
    });
  });

  test('a head that is itself a variable; a head used twice; 0-d heads', () => {
    nd.tidy(() => {
      const x = nd.array([1, 2, 3]);
      x.attachGrad();
      autograd.backward(x, nd.array([4, 5, 6]));
      expect(arr(x.grad!)).toEqual([4, 5, 6]);
      const [gx] = autograd.grad(x, x, nd.array([1, 1, 2]));
      expect(arr(gx)).toEqual([1, 1, 2]);
      const y = autograd.record(() => x.mul(2));
      autograd.backward([y, y]);
      expect(arr(x.grad!)).toEqual([4, 4, 4]);
      const s = autograd.record(() => x.mul(x).sum());
      expect(s.shape).toEqual([]);
      s.backward();
      expect(arr(x.grad!)).toEqual([2, 4, 6]);
      const e = autograd.record(() => x.at(1).mul(5));
      expect(e.shape).toEqual([]);
      e.backward();
      expect(arr(x.grad!)).toEqual([0, 5, 0]);
    });
  });

  test('headGrads validation', () => {
    nd.tidy(() => {
      const x = nd.array([1, 2, 3]);
      x.attachGrad();
      const y = autograd.record(() => x.mul(2));
      expect(codeOf(() => y.backward(nd.ones([2]), { retainGraph: true }))).toBe('SHAPE_MISMATCH');
      expect(codeOf(() => y.backward(nd.ones([3], { dtype: 'float64' }), { retainGraph: true }))).toBe('DTYPE_MISMATCH');
      expect(codeOf(() => autograd.backward([y], [null, null] as any, { retainGraph: true }))).toBe('BAD_ARGUMENT');
      y.backward();
      expect(arr(x.grad!)).toEqual([2, 2, 2]);
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

describe('ops of the issue: forward semantics, validation and checkGradient', () => {
  test('Dropout: inverted scaling, shared mask along axes, seeded, predict mode identity', () => {
    nd.tidy(() => {
      const x = nd.ones([200, 10]);
      const y = autograd.trainMode(() => nd.Dropout(x, { p: 0.25 }));
      const vals = arr(y);
      expect(new Set(vals.map((v) => Math.fround(v)))).toEqual(new Set([0, Math.fround(1 / 0.75)]));
      const kept = vals.filter((v) => v !== 0).length / vals.length;
      expect(kept).toBeGreaterThan(0.65);
      expect(kept).toBeLessThan(0.85);
      const s = autograd.trainMode(() => nd.Dropout(x, { p: 0.5, axes: [1] }));
      for (const row of s.toArray() as number[][]) expect(new Set(row).size).toBe(1);
      nd.random.seed(3);
      const a = autograd.trainMode(() => nd.Dropout(x, { p: 0.5 }));
      nd.random.seed(3);
      const b = autograd.trainMode(() => nd.Dropout(x, { p: 0.5 }));
      expect(arr(a)).toEqual(arr(b));
      expect(arr(autograd.trainMode(() => nd.Dropout(x, { p: 0 })))).toEqual(arr(x));
      expect(arr(nd.Dropout(x))).toEqual(arr(x));
      expect(codeOf(() => nd.Dropout(x, { p: 1 }))).toBe('BAD_ARGUMENT');
      expect(codeOf(() => nd.Dropout(x, { axes: [2] }))).toBe('BAD_AXIS');
      // the mask is decided at forward: backward in predict mode still applies it
      const v = nd.ones([50]);
      v.attachGrad();
      const d = autograd.record(() => nd.Dropout(v, { p: 0.5 }));
      d.backward(null, { trainMode: false });
      expect(arr(v.grad!)).toEqual(arr(d));
      // second order through Dropout: zeros, not an error
      const d2 = autograd.record(() => nd.Dropout(v.mul(v), { p: 0.5 }));
      const [g1] = autograd.grad(d2, v, null, { createGraph: true });
      const [g2] = autograd.grad(g1, v);
      const mask = arr(d2).map((t) => t / 1); // v = 1, so d2 = mask
      expect(arr(g2)).toEqual(mask.map((m) => 2 * m));
    });
  });

  test('split: shapes, axis, squeeze, errors', () => {
    nd.tidy(() => {
      const x = nd.arange(0, 24).reshape([2, 6, 2]);
      const parts = nd.split(x, { numOutputs: 3 });
      expect(parts.map((p) => p.shape)).toEqual([
        [2, 2, 2],
        [2, 2, 2],
        [2, 2, 2],
      ]);
      expect(parts[1].toArray()).toEqual([
        [
          [4, 5],
          [6, 7],
        ],
        [
          [16, 17],
          [18, 19],
        ],
      ]);
      const last = nd.split(x, { numOutputs: 2, axis: -1, squeezeAxis: true });
      expect(last[1].shape).toEqual([2, 6]);
      expect(arr(last[1]).slice(0, 3)).toEqual([1, 3, 5]);
      expect(nd.split(x, { numOutputs: 1, axis: 0 })[0].shape).toEqual([2, 6, 2]);
      let e = errorOf(() => nd.split(x, { numOutputs: 4 }));
      expect(e.code).toBe('SHAPE_MISMATCH');
      expect(e.message).toContain('(2,6,2)');
      expect(codeOf(() => nd.split(x, { numOutputs: 3, squeezeAxis: true }))).toBe('SHAPE_MISMATCH');
      expect(codeOf(() => nd.split(x, { numOutputs: 2, axis: 3 }))).toBe('BAD_AXIS');
      expect(codeOf(() => nd.split(x, { numOutputs: 0 }))).toBe('BAD_ARGUMENT');
      // gradients: undefined heads count as zeros
      const v = nd.arange(0, 6).reshape([3, 2]);
      v.attachGrad();
      const [a, , c] = autograd.record(() => nd.split(v, { numOutputs: 3, axis: 0 }));
      autograd.backward([a, c], [nd.array([[1, 2]]), nd.array([[3, 4]])]);
      expect(v.grad!.toArray()).toEqual([
        [1, 2],
        [0, 0],
        [3, 4],
      ]);
    });
  });

  test('FullyConnected: values, flatten, noBias, validation messages', () => {
    nd.tidy(() => {
      const x = nd.array([
        [1, 2, 3, 4],
        [5, 6, 7, 8],
      ]);
      const w = nd.array([
        [1, 0, 0, 0],
        [0, 1, 0, 1],
        [1, 1, 1, 1],
      ]);
      const b = nd.array([1, 2, 3]);
      expect(nd.FullyConnected(x, w, b, { numHidden: 3 }).toArray()).toEqual([
        [2, 8, 13],
        [6, 16, 29],
      ]);
      expect(nd.FullyConnected(x, w, { numHidden: 3, noBias: true }).toArray()).toEqual([
        [1, 6, 10],
        [5, 14, 26],
      ]);
      expect(nd.FullyConnected(x, w).toArray()).toEqual([
        [1, 6, 10],
        [5, 14, 26],
      ]);
      const x3 = x.reshape([2, 2, 2]);
      expect(nd.FullyConnected(x3, w, b).shape).toEqual([2, 3]);
      const wl = nd.ones([3, 2]);
      const nf = nd.FullyConnected(x3, wl, b, { flatten: false });
      expect(nf.shape).toEqual([2, 2, 3]);
      expect(nf.toArray()[1][0]).toEqual([12, 13, 14]);
      let e = errorOf(() => nd.FullyConnected(x, nd.ones([8, 3]), nd.zeros([8])));
      expect(e.code).toBe('SHAPE_MISMATCH');
      expect(e.message).toBe('FullyConnected: weight (8,3) expects 3 input features, got 4 in data (2,4)');
      e = errorOf(() => nd.FullyConnected(x, w, nd.zeros([4])));
      expect(e.code).toBe('SHAPE_MISMATCH');
      expect(e.message).toContain('bias');
      expect(codeOf(() => nd.FullyConnected(x, w, b, { numHidden: 5 }))).toBe('SHAPE_MISMATCH');
      expect(codeOf(() => nd.FullyConnected(x, nd.ones([3]), b))).toBe('SHAPE_MISMATCH');
      expect(codeOf(() => nd.FullyConnected(x, w, b, { noBias: true }))).toBe('BAD_ARGUMENT');
      expect(codeOf(() => nd.FullyConnected(x, w.astype('float64'), b))).toBe('DTYPE_MISMATCH');
    });
  });

  test('checkGradient on Dropout (predict mode), split, FullyConnected, dot with every transpose, concat', () => {
    nd.tidy(() => {
      const opt = { eps: 1e-6, rtol: 1e-5, atol: 1e-7 };
      const x = nd.random.normal(0, 1, [3, 4]);
      expect(autograd.checkGradient((v) => autograd.predictMode(() => nd.Dropout(v, { p: 0.5 }).mul(v)), [x], opt).maxError).toBeLessThan(1e-6);
      // split: weight each output differently so each head gradient matters
      expect(
        autograd.checkGradient((v) => {
          const [a, b] = nd.split(v, { numOutputs: 2, axis: 1 });
          return [a.square(), b.mul(3)];
        }, [x], opt).maxError,
      ).toBeLessThan(1e-6);
      expect(
        autograd.checkGradient((v) => nd.split(v, { numOutputs: 3, axis: 0, squeezeAxis: true })[1].exp(), [x], opt).maxError,
      ).toBeLessThan(1e-6);
      const w = nd.random.normal(0, 1, [5, 4]);
      const bias = nd.random.normal(0, 1, [5]);
      expect(
        autograd.checkGradient((v, ww, bb) => nd.FullyConnected(v, ww, bb, { numHidden: 5 }).tanh(), [x, w, bias], opt).maxError,
      ).toBeLessThan(1e-6);
      const x3 = nd.random.normal(0, 1, [2, 3, 2]);
      const w2 = nd.random.normal(0, 1, [3, 2]);
      expect(
        autograd.checkGradient((v, ww) => nd.FullyConnected(v, ww, { flatten: false }).square(), [x3, w2], opt).maxError,
      ).toBeLessThan(1e-6);
      const a = nd.random.normal(0, 1, [3, 4]);
      for (const [ta, tb] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ]) {
        const A = ta ? nd.random.normal(0, 1, [4, 3]) : a;
        const B = tb ? nd.random.normal(0, 1, [2, 4]) : nd.random.normal(0, 1, [4, 2]);
        expect(
          autograd.checkGradient((p, q) => nd.dot(p, q, { transposeA: ta, transposeB: tb }).square(), [A, B], opt).maxError,
        ).toBeLessThan(1e-6);
      }
      // N-d dot
      expect(
        autograd.checkGradient((p, q) => nd.dot(p, q).sin(), [nd.random.normal(0, 1, [2, 3, 2]), nd.random.normal(0, 1, [2, 3])], opt)
          .maxError,
      ).toBeLessThan(1e-6);
      // concat (split's gradient), through the generic op entry
      const { invoke } = require('../lib/ndarray');
      expect(
        autograd.checkGradient(
          (p, q) => invoke('concat', [p, q], { dim: 0 }).square(),
          [nd.random.normal(0, 1, [2, 3]), nd.random.normal(0, 1, [1, 3])],
          opt,
        ).maxError,
      ).toBeLessThan(1e-6);
      // a wrong gradient is detected
      class Wrong extends autograd.Function {
        forward(v: NDArray) {
          return v.square();
        }
        backward(dy: NDArray) {
          return dy;
        }
      }
      expect(() => autograd.checkGradient((v) => new Wrong().apply(v), [x])).toThrow(/checkGradient/);
    });
  });

  test('second order of FullyConnected, dot and Dropout match numerical second derivatives', () => {
    nd.tidy(() => {
      const opt = { eps: 1e-5, rtol: 1e-4, atol: 1e-6 };
      const w = nd.random.normal(0, 1, [3, 4]);
      const x = nd.random.normal(0, 1, [2, 4]);
      // gradient of sum(tanh(FC(x))) w.r.t. x, checked as a function of x and of w
      // (checkGradient marks its float64 copies of the inputs as variables)
      const gradX = (v: NDArray, ww: NDArray) => {
        const y = autograd.record(() => nd.FullyConnected(v, ww).tanh());
        return autograd.grad(y, v, null, { createGraph: true })[0];
      };
      expect(autograd.checkGradient((v, ww) => gradX(v, ww).square(), [x, w], opt).maxError).toBeLessThan(1e-5);
      const gradW = (v: NDArray, ww: NDArray) => {
        const y = autograd.record(() => nd.dot(v, ww, { transposeB: true }).sigmoid());
        return autograd.grad(y, ww, null, { createGraph: true })[0];
      };
      expect(autograd.checkGradient((v, ww) => gradW(v, ww).square(), [x, w], opt).maxError).toBeLessThan(1e-5);
    });
  });
});

// A Function's backward receives arrays ndgrad made for the pass (its output gradients and saved
// tensors) and returns arrays the user owns: ndgrad frees only its own handles, the graph holds what
// backward needs, and passes started from inside a backward nest.
describe('custom Function: ownership and nested passes', () => {
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

  test('arrays that Function.backward returns are not disposed: a constant, the input itself, a .grad', () => {
    const m0 = mem();
    const x = nd.array([1, 2]);
    x.attachGrad();
    const c = nd.array([5, 6]);
    const v = nd.array([0, 0]);
    v.attachGrad();
    nd.tidy(() => v.grad!.set(nd.array([7, 8])));
    for (const pick of ['constant', 'input', 'grad'] as const) {
      class Give extends autograd.Function {
        forward(a: NDArray) {
          return a.mul(3);
        }
        backward(_dy: NDArray) {
          return pick === 'constant' ? c : pick === 'input' ? x : v.grad!;
        }
      }
      nd.tidy(() => autograd.record(() => new Give().apply(x).sum()).backward());
      expect([c.isDisposed, x.isDisposed, v.grad!.isDisposed]).toEqual([false, false, false]);
    }
    expect(arr(x.grad!)).toEqual([7, 8]); // the last pass: v.grad's values
    expect(arr(c)).toEqual([5, 6]);
    expect(arr(v.grad!)).toEqual([7, 8]);
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

  test('saved tensors are freed with the graph: without backward, after a failed backward, when no gradient reaches the Function', () => {
    const x = nd.random.normal(0, 1, [64]);
    x.attachGrad();
    const m0 = mem();
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
    nd.tidy(() => {
      autograd.record(() => new Sq().apply(x)); // dropped without backward
    });
    expect(mem()).toEqual(m0);
    nd.tidy(() => {
      const y = autograd.record(() => new Sq(true).apply(x).sum());
      expect(() => y.backward()).toThrow('user backward failed');
    });
    expect(mem()).toEqual(m0);
    nd.tidy(() => {
      const y = autograd.record(() => new Sq().apply(x).sum().mul(0).add(x.sum()));
      autograd.backward(y); // Sq's node is reached, but a zero-gradient branch still frees it
      const z = autograd.record(() => nd.floor(new Sq().apply(x)).sum().add(x.sum()));
      z.backward(); // floor has no gradient: nothing flows into Sq, whose backward never runs
    });
    expect(mem()).toEqual(m0);
    // forward that throws frees what it saved
    class Throws extends autograd.Function {
      forward(a: NDArray): NDArray {
        this.saveForBackward(a.exp());
        throw new Error('user forward failed');
      }
    }
    nd.tidy(() => {
      expect(() => autograd.record(() => new Throws().apply(x))).toThrow('user forward failed');
    });
    expect(mem()).toEqual(m0);
    // saving anywhere but in forward is refused (nothing would own the saved handle)
    class LateSave extends autograd.Function {
      forward(a: NDArray) {
        return a.mul(2);
      }
      backward(dy: NDArray) {
        this.saveForBackward(dy);
        return dy;
      }
    }
    nd.tidy(() => {
      expect(codeOf(() => new LateSave().saveForBackward(x))).toBe('BAD_ARGUMENT');
      const y = autograd.record(() => new LateSave().apply(x).sum());
      expect(codeOf(() => y.backward())).toBe('BAD_ARGUMENT');
    });
    expect(mem()).toEqual(m0);
    x.dispose();
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

  test('a pass inside Function.backward over another graph leaves the outer dy and savedTensors intact', () => {
    const m0 = mem();
    const x = nd.array([1, 2, 3]);
    x.attachGrad();
    const u = nd.array([1, 1, 1]);
    u.attachGrad();
    const seen: number[][] = [];
    class Outer extends autograd.Function {
      forward(a: NDArray) {
        this.saveForBackward(a);
        return a.mul(a);
      }
      backward(dy: NDArray) {
        // an unrelated graph, differentiated with grad() and with backward()
        const inner = autograd.record(() => u.mul(u).sum());
        const [gu] = autograd.grad(inner, u, null, { retainGraph: true });
        inner.backward();
        seen.push(arr(gu), arr(u.grad!));
        const [a] = this.savedTensors;
        return dy.mul(a).mul(2); // both still usable
      }
    }
    nd.tidy(() => {
      autograd.record(() => new Outer().apply(x).sum()).backward();
    });
    expect(seen).toEqual([[2, 2, 2], [2, 2, 2]]);
    expect(arr(x.grad!)).toEqual([2, 4, 6]);
    nd.dispose([x, u]);
    expect(mem()).toEqual(m0);
  });

  test('a pass inside Function.backward may share variables with the outer pass; each keeps its own bookkeeping', () => {
    nd.tidy(() => {
      const x = nd.array([0.5, 1]);
      x.attachGrad();
      const inner: number[][] = [];
      class Penalty extends autograd.Function {
        forward(a: NDArray) {
          this.saveForBackward(a);
          return a.mul(2);
        }
        backward(dy: NDArray) {
          // a longer graph on the same variable: its positions differ from the outer pass's
          const h = autograd.record(() => x.mul(x).exp().sum().mul(1).add(0));
          const [g] = autograd.grad(h, x);
          inner.push(arr(g));
          return dy.mul(2);
        }
      }
      const y = autograd.record(() => new Penalty().apply(x.mul(1)).mul(3).sum().add(x.sum()));
      y.backward();
      expect(arr(x.grad!)).toEqual([7, 7]);
      const e = (v: number) => 2 * v * Math.exp(v * v);
      expect(inner[0][0]).toBeCloseTo(e(0.5), 5);
      expect(inner[0][1]).toBeCloseTo(e(1), 5);
    });
  });

  test('a nested pass that throws inside Function.backward: the error reaches the caller, nothing leaks, flags restored', () => {
    const m0 = mem();
    const x = nd.array([1, 2]);
    x.attachGrad();
    class Bad extends autograd.Function {
      forward(a: NDArray) {
        this.saveForBackward(a);
        return a.mul(2);
      }
      backward(dy: NDArray) {
        const inner = autograd.record(() => x.mul(3).sum());
        autograd.grad(inner, x, nd.ones([2])); // BAD: head gradient of the wrong shape
        return dy;
      }
    }
    nd.tidy(() => {
      const y = autograd.record(() => new Bad().apply(x).sum());
      expect(codeOf(() => y.backward())).toBe('SHAPE_MISMATCH');
      expect(codeOf(() => y.backward())).toBe('GRAPH_FREED');
    });
    // the inner graph's own Function throws, the outer backward catches it and goes on with its dy
    class Throws extends autograd.Function {
      forward(a: NDArray) {
        this.saveForBackward(a);
        return a.mul(5);
      }
      backward(_dy: NDArray): NDArray {
        throw new Error('inner backward failed');
      }
    }
    class Recover extends autograd.Function {
      forward(a: NDArray) {
        this.saveForBackward(a);
        return a.mul(2);
      }
      backward(dy: NDArray) {
        const inner = autograd.record(() => new Throws().apply(x).sum());
        expect(() => inner.backward()).toThrow('inner backward failed');
        return dy.mul(this.savedTensors[0]).mul(0).add(dy.mul(2));
      }
    }
    nd.tidy(() => {
      autograd.record(() => new Recover().apply(x).sum()).backward();
    });
    expect(arr(x.grad!)).toEqual([2, 2]);
    expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, false]);
    x.dispose();
    expect(mem()).toEqual(m0);
  });

  test('a pass from Function.backward into the graph being differentiated is refused before it changes anything', () => {
    const m0 = mem();
    const x = nd.array([1, 2, 3]);
    x.attachGrad();
    let calls = 0;
    let nest = true;
    let z: NDArray | undefined;
    class Loop extends autograd.Function {
      forward(a: NDArray) {
        return a.mul(2);
      }
      backward(dy: NDArray) {
        calls++;
        if (nest) z!.backward(null, { retainGraph: true }); // would reach this very node again
        return dy.mul(2);
      }
    }
    nd.tidy(() => {
      const w = autograd.record(() => {
        const y = new Loop().apply(x) as NDArray;
        z = y.sum();
        return y.mul(3).sum();
      });
      const e = errorOf(() => w.backward(null, { retainGraph: true }));
      expect(e.code).toBe('BAD_ARGUMENT');
      expect(e.message).toContain('Function.backward');
      expect(calls).toBe(1); // not re-entered
      expect(arr(x.grad!)).toEqual([0, 0, 0]); // nothing written
      // the retained graph is intact: both heads still differentiate
      nest = false;
      w.backward(null, { retainGraph: true });
      expect(arr(x.grad!)).toEqual([6, 6, 6]);
      z!.backward();
      expect(arr(x.grad!)).toEqual([2, 2, 2]);
      // without retainGraph the refused nested pass fails the outer one, which frees its graph
      nest = true;
      const w2 = autograd.record(() => new Loop().apply(x).sum());
      z = w2;
      expect(codeOf(() => w2.backward())).toBe('BAD_ARGUMENT');
      expect(codeOf(() => w2.backward())).toBe('GRAPH_FREED');
    });
    expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, false]);
    x.dispose();
    expect(mem()).toEqual(m0);
  });
});
