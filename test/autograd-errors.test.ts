// The tape's error rules: each error code autograd raises, when it is raised, and that a refused
// call leaves every array and graph as it was.
import { autograd, nd, NDArray, NDArrayError } from '../lib';
import { arr, codeOf, errorOf, freshAutogradState } from './helpers';

freshAutogradState();

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
