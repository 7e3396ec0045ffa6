// The tape's error codes (NOT_RECORDED, GRAPH_FREED, NO_GRAD_INPUTS, NOT_A_VARIABLE, NOT_REACHABLE,
// INPLACE_IN_GRAPH, INPLACE_MODIFIED, BAD_CUSTOM_GRAD): when each is raised, and that a refused call
// leaves every array and graph as it was.
import { autograd, nd, NDArray, NDArrayError } from '../lib';
import { arr, codeOf, errorOf, freshAutogradState } from './helpers';

freshAutogradState();

describe('error codes', () => {
  describe('NOT_RECORDED: differentiating an array with no recorded history', () => {
    test.each<[string, (x: NDArray) => void]>([
      ['backward of a result computed outside record()', (x) => x.mul(2).backward()],
      ['backward of a result recorded from constants only', () => autograd.record(() => nd.array([1, 2]).mul(2)).backward()],
      ['backward of a result computed inside pause()', (x) => autograd.backward([autograd.record(() => autograd.pause(() => x.mul(2)))])],
      ['grad() of a result computed outside record()', (x) => autograd.grad(x.mul(2), x)],
      ['getSymbol of a result computed outside record()', (x) => autograd.getSymbol(x.mul(2))],
    ])('%s', (_t, f) => {
      nd.tidy(() => {
        const x = nd.array([1, 2]);
        x.attachGrad();
        expect(codeOf(() => f(x))).toBe('NOT_RECORDED');
      });
    });

    test('the message names autograd.record()', () => {
      nd.tidy(() => {
        const x = nd.array([1, 2]);
        x.attachGrad();
        expect(errorOf(() => x.mul(2).backward()).message).toContain('autograd.record()');
      });
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

  describe('grad() refuses variables it cannot differentiate with respect to', () => {
    // y = x * n + plain; x and z attached ('write'), n attached with gradReq 'null'
    function setup() {
      const [x, z, n, plain] = [nd.array([1, 2]), nd.array([3, 4]), nd.array([5, 6]), nd.array([1, 1])];
      x.attachGrad();
      z.attachGrad();
      n.attachGrad('null');
      const y = autograd.record(() => x.mul(n).add(plain));
      return { x, z, n, plain, y };
    }
    test.each<[string, (v: ReturnType<typeof setup>) => NDArray[], string, string]>([
      ['a plain array among the variables: NOT_A_VARIABLE naming its position', (v) => [v.x, v.plain], 'NOT_A_VARIABLE', '2-th variable'],
      ["a variable with gradReq 'null': NOT_A_VARIABLE", (v) => [v.n], 'NOT_A_VARIABLE', ''],
      ['a variable the heads do not reach: NOT_REACHABLE', (v) => [v.x, v.z], 'NOT_REACHABLE', 'unreachable'],
      ['an empty list: BAD_ARGUMENT', () => [], 'BAD_ARGUMENT', ''],
    ])('%s; the graph stays usable', (_t, vars, code, text) => {
      nd.tidy(() => {
        const v = setup();
        const e = errorOf(() => autograd.grad(v.y, vars(v), null, { retainGraph: true }));
        expect(e.code).toBe(code);
        expect(e.message).toContain(text);
        expect(arr(autograd.grad(v.y, v.x)[0])).toEqual([5, 6]);
      });
    });
  });

  describe('INPLACE_IN_GRAPH: writes into the recorded graph are refused before anything is written', () => {
    // x: a variable; y = 2x recorded; plain: an array outside the graph
    test.each<[string, (x: NDArray, y: NDArray, plain: NDArray) => unknown]>([
      ['into a variable, by iadd', (x) => x.iadd(1)],
      ['into a variable, by set', (x) => x.set(0)],
      ['into a recorded result, by imul', (x, y) => y.imul(3)],
      ['into a recorded result, by { out } of a unary op', (x, y, plain) => nd.exp(plain, { out: y })],
      ['into a recorded result, by { out } of a binary op', (x, y, plain) => nd.add(plain, x, { out: y })],
      ['into a plain array that is also an input of an op needing a gradient (plain += x)', (x, y, plain) => plain.iadd(x)],
    ])('%s', (_t, write) => {
      nd.tidy(() => {
        const x = nd.array([1, 2, 3]);
        x.attachGrad();
        const plain = nd.array([10, 20, 30]);
        autograd.record(() => {
          const y = x.mul(2);
          expect(codeOf(() => write(x, y, plain))).toBe('INPLACE_IN_GRAPH');
          expect([arr(x), arr(y), arr(plain)]).toEqual([
            [1, 2, 3],
            [2, 4, 6],
            [10, 20, 30],
          ]);
        });
      });
    });

    test('the message names the op', () => {
      nd.tidy(() => {
        const x = nd.array([1, 2, 3]);
        x.attachGrad();
        const plain = nd.array([10, 20, 30]);
        autograd.record(() => expect(errorOf(() => plain.iadd(x)).message).toContain('add'));
      });
    });

    test('in place on a plain array with no graph input is allowed while recording (not recorded)', () => {
      nd.tidy(() => {
        const plain = nd.array([10, 20, 30]);
        autograd.record(() => plain.iadd(1));
        expect(arr(plain)).toEqual([11, 21, 31]);
      });
    });

    test("whole-array assignment from a graph array is a recorded copy (MXNet's x[:] = y)", () => {
      nd.tidy(() => {
        const x = nd.array([1, 2, 3]);
        x.attachGrad();
        autograd.record(() => {
          const dst = nd.zeros([3]);
          dst.set(x.mul(2));
          expect(arr(dst)).toEqual([2, 4, 6]);
          autograd.backward(dst);
        });
        expect(arr(x.grad!)).toEqual([2, 2, 2]);
      });
    });

    test('outside record, in-place updates of a variable are allowed (optimizer steps) and it stays a variable', () => {
      nd.tidy(() => {
        const x = nd.array([1, 2, 3]);
        x.attachGrad();
        x.grad!.set(nd.array([2, 2, 2]));
        x.isub(x.grad!.mul(0.5));
        expect(arr(x)).toEqual([0, 1, 2]);
        const z = autograd.record(() => x.mul(x));
        z.backward();
        expect(arr(x.grad!)).toEqual([0, 2, 4]);
      });
    });
  });

  describe('INPLACE_MODIFIED: an array saved for backward and changed in place since', () => {
    // x = [1, 2, 3], a variable; c = [4, 5, 6], a constant
    test.each<[string, string, (x: NDArray, c: NDArray) => NDArray]>([
      ['a saved constant input (multiply saves c)', 'multiply', (x, c) => {
        const y = autograd.record(() => x.mul(c));
        c.iadd(1); // outside record: allowed
        return y;
      }],
      ['the variable itself, updated between forward and backward', 'multiply', (x) => {
        const y = autograd.record(() => x.mul(x));
        x.set(nd.array([7, 7, 7]));
        return y;
      }],
      ['a saved output (exp saves its output)', 'exp', (x) => {
        const z = autograd.record(() => nd.exp(x));
        z.iadd(1);
        return z;
      }],
    ])('%s: backward refuses, naming the op', (_t, op, make) => {
      nd.tidy(() => {
        const x = nd.array([1, 2, 3]);
        x.attachGrad();
        const head = make(x, nd.array([4, 5, 6]));
        const e = errorOf(() => head.backward());
        expect(e.code).toBe('INPLACE_MODIFIED');
        expect(e.message).toContain(op);
      });
    });

    test('a pass failing without retainGraph frees its graph (the retry says GRAPH_FREED); with retainGraph the graph stays (the same error again)', () => {
      nd.tidy(() => {
        const x = nd.array([1, 2, 3]);
        x.attachGrad();
        const z = autograd.record(() => nd.exp(x));
        z.iadd(1);
        expect(codeOf(() => z.backward())).toBe('INPLACE_MODIFIED');
        expect(codeOf(() => z.backward())).toBe('GRAPH_FREED');
        const z2 = autograd.record(() => nd.exp(x));
        z2.iadd(1);
        expect(codeOf(() => z2.backward(null, { retainGraph: true }))).toBe('INPLACE_MODIFIED');
        expect(codeOf(() => z2.backward(null, { retainGraph: true }))).toBe('INPLACE_MODIFIED');
      });
    });

    test('ops that save nothing are unaffected by a change of their inputs', () => {
      nd.tidy(() => {
        const x = nd.array([1, 2, 3]);
        x.attachGrad();
        const c = nd.array([4, 5, 6]);
        const w = autograd.record(() => x.add(c));
        c.iadd(1);
        w.backward();
        expect(arr(x.grad!)).toEqual([1, 1, 1]);
      });
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
});
