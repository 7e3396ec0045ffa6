// Backward passes started from inside a Function's backward (user code run by a pass): over another
// graph they nest, sharing variables with their own bookkeeping; an error in them reaches the caller
// with nothing leaked; into the graph being differentiated they are refused before anything changes.
import { autograd, nd, NDArray, NDArrayError } from '../lib';
import { arr, codeOf, errorOf, freshAutogradState } from './helpers';

freshAutogradState();

describe('passes inside Function.backward', () => {
  const mem = () => [nd.memory().numArrays, nd.memory().numBytes];

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
    let nestedRetains = true;
    let z: NDArray | undefined;
    class Loop extends autograd.Function {
      forward(a: NDArray) {
        return a.mul(2);
      }
      backward(dy: NDArray) {
        calls++;
        // would reach this very node again; without retainGraph it would also free this node (and
        // the callback running now): a use-after-free before the rule
        if (nest) z!.backward(null, { retainGraph: nestedRetains });
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
      // without retainGraph (outer and nested) the refused nested pass fails the outer one, which
      // frees its graph; the variable stays usable in a new one
      nest = true;
      nestedRetains = false;
      const w2 = autograd.record(() => new Loop().apply(x).sum());
      z = w2;
      expect(codeOf(() => w2.backward())).toBe('BAD_ARGUMENT');
      expect(codeOf(() => w2.backward())).toBe('GRAPH_FREED');
      expect(arr(x.grad!)).toEqual([2, 2, 2]); // the refused pass wrote nothing
      autograd.record(() => x.mul(x).sum()).backward();
      expect(arr(x.grad!)).toEqual([2, 4, 6]);
    });
    expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, false]);
    x.dispose();
    expect(mem()).toEqual(m0);
  });
});
