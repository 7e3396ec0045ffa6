// API-conformance review: the TypeScript face against /work/shared/API.md and MXNet semantics.
// The first block is the contract's own examples, verbatim, so that ts-jest type-checks them.
import { nd, autograd, NDArray } from '../lib';
import { codeOf, liveMemory } from './helpers';

const state = (): [boolean, boolean] => [autograd.isRecording(), autograd.isTraining()];

afterEach(() => {
  // every test leaves the default state behind
  expect(state()).toEqual([false, false]);
});

describe("API.md's examples type-check and run as written", () => {
  test('the seed example (x.grad is NDArray | null as API.md types it; non-null after attachGrad)', () => {
    const x = nd.array([1, 2, 3, 4]);
    x.attachGrad();
    const y = autograd.record(() => x.mul(x).add(1));
    y.backward();
    const printed: string = x.grad!.toString(); // console.log(x.grad!.toString()) in API.md
    expect(printed).toBe('[2. 4. 6. 8.]\n<NDArray 4 @cpu(0)>');
  });

  test('the Function subclass example (saveForBackward / savedTensors)', () => {
    const x = nd.array([-1, 0, 2]);
    x.attachGrad();
    class Sigmoid extends autograd.Function {
      forward(x: NDArray) { const y = nd.sigmoid(x); this.saveForBackward(y); return y; }
      backward(dy: NDArray) { const [y] = this.savedTensors; return dy.mul(y).mul(y.neg().add(1)); }
    }
    const y = autograd.record(() => new Sigmoid().apply(x));
    y.backward();
    const s = [-1, 0, 2].map((v) => 1 / (1 + Math.exp(-v)));
    const g = x.grad!.toArray() as number[];
    s.forEach((sv, i) => expect(g[i]).toBeCloseTo(sv * (1 - sv), 6));
  });

  test('both scope forms: callback and `using`', () => {
    const x = nd.array([1, 2]);
    x.attachGrad();
    const f = (a: NDArray): NDArray => a.mul(a);
    const out = autograd.record(() => f(x)); // callback form: returns fn's value
    let y: NDArray;
    { using _ = autograd.record(); y = f(x); } // Disposable form (TS `using`)
    expect(out).toBeInstanceOf(NDArray);
    autograd.backward([out, y]);
    expect(x.grad!.toArray()).toEqual([4, 8]);
  });
});

describe('variables and gradients', () => {
  test('x.grad is the same object on every access while marked', () => {
    const x = nd.ones([3]);
    x.attachGrad();
    const g = x.grad!;
    expect(x.grad).toBe(g);
    autograd.record(() => x.mul(2)).backward();
    expect(x.grad).toBe(g);
    expect(g.toArray()).toEqual([2, 2, 2]);
  });

  test('attachGrad again replaces the buffer and the request', () => {
    const x = nd.ones([2]);
    x.attachGrad('add');
    const first = x.grad;
    autograd.record(() => x.mul(3)).backward();
    autograd.record(() => x.mul(3)).backward();
    expect(x.grad!.toArray()).toEqual([6, 6]); // 'add' accumulates
    x.attachGrad(); // 'write', fresh zeros
    expect(x.grad).not.toBe(first);
    expect(x.grad!.toArray()).toEqual([0, 0]);
    autograd.record(() => x.mul(3)).backward();
    autograd.record(() => x.mul(3)).backward();
    expect(x.grad!.toArray()).toEqual([3, 3]);
  });

  test("gradReq 'null' computes nothing: NO_GRAD_INPUTS when it is the only variable", () => {
    const x = nd.ones([2]);
    x.attachGrad('null');
    const y = autograd.record(() => x.mul(2));
    expect(codeOf(() => y.backward())).toBe('NO_GRAD_INPUTS');
  });

  test('dropGrad frees the buffer and unmarks; attachGrad works again afterwards', () => {
    const x = nd.ones([2]);
    x.attachGrad();
    const g = x.grad!;
    x.dropGrad();
    expect(x.grad).toBeNull();
    expect(g.isDisposed).toBe(true);
    x.attachGrad();
    autograd.record(() => x.mul(5)).backward();
    expect(x.grad!.toArray()).toEqual([5, 5]);
  });

  test('detach shares memory, has no grad and blocks the gradient', () => {
    const x = nd.array([1, 2]);
    x.attachGrad();
    const d = x.detach();
    expect(d.grad).toBeNull();
    d.set(7);
    expect(x.toArray()).toEqual([7, 7]);
    const y = autograd.record(() => x.mul(d));
    y.backward();
    expect(x.grad!.toArray()).toEqual([7, 7]); // d is a constant
  });

  test('attachGrad on a recorded result keeps its history and retains its gradient', () => {
    const x = nd.array([1, 2]);
    x.attachGrad();
    let h: NDArray | undefined;
    const z = autograd.record(() => {
      h = x.mul(3);
      h.attachGrad();
      return h.mul(h);
    });
    z.backward();
    expect(h!.grad!.toArray()).toEqual([6, 12]);
    expect(x.grad!.toArray()).toEqual([18, 36]);
  });

  test('markVariables takes single arrays or lists; the given buffers are the gradients', () => {
    const a = nd.array([1, 2]);
    const ga = nd.zeros([2]);
    autograd.markVariables(a, ga);
    expect(a.grad).toBe(ga);
    autograd.record(() => a.mul(a)).backward();
    expect(ga.toArray()).toEqual([2, 4]);

    const b = nd.array([1, 2]);
    const c = nd.array([3, 4]);
    const gb = nd.zeros([2]);
    const gc = nd.zeros([2]);
    autograd.markVariables([b, c], [gb, gc], ['add', 'write']);
    autograd.record(() => b.mul(c)).backward();
    autograd.record(() => b.mul(c)).backward();
    expect(gb.toArray()).toEqual([6, 8]);
    expect(gc.toArray()).toEqual([1, 2]);

    expect(codeOf(() => autograd.markVariables([nd.ones([2])], [nd.zeros([2]), nd.zeros([2])]))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => autograd.markVariables(nd.ones([2]), nd.zeros([3])))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => autograd.markVariables(nd.ones([2]), nd.zeros([2], { dtype: 'float64' })))).toBe('DTYPE_MISMATCH');
  });
});

describe('backward and grad', () => {
  test('y.backward(outGrad, { retainGraph })', () => {
    const x = nd.array([1, 2]);
    x.attachGrad('add');
    const y = autograd.record(() => x.mul(x));
    y.backward(nd.array([10, 100]), { retainGraph: true });
    expect(x.grad!.toArray()).toEqual([20, 400]);
    y.backward(null, { trainMode: false });
    expect(x.grad!.toArray()).toEqual([22, 404]);
    expect(codeOf(() => y.backward())).toBe('GRAPH_FREED');
  });

  test('autograd.backward: heads and headGrads as lists with null entries, or single arrays', () => {
    const x = nd.array([1, 2]);
    x.attachGrad();
    const y1 = autograd.record(() => x.mul(x));
    const y2 = autograd.record(() => x.mul(3));
    autograd.backward([y1, y2], [null, nd.array([2, 2])]);
    expect(x.grad!.toArray()).toEqual([8, 10]);
    const y3 = autograd.record(() => x.mul(x));
    autograd.backward(y3, nd.array([1, 0]));
    expect(x.grad!.toArray()).toEqual([2, 0]);
    expect(codeOf(() => nd.ones([1]).backward())).toBe('NOT_RECORDED');
  });

  test('grad always returns a list and does not touch .grad', () => {
    const x = nd.array([1, 2]);
    x.attachGrad();
    const y = autograd.record(() => x.mul(x));
    const r = autograd.grad(y, x);
    expect(Array.isArray(r)).toBe(true);
    expect(r).toHaveLength(1);
    expect(r[0].toArray()).toEqual([2, 4]);
    expect(x.grad!.toArray()).toEqual([0, 0]);
    // createGraph: the gradient can be differentiated again
    const g2 = autograd.record(() => {
      const z = x.mul(x).mul(x);
      const [dz] = autograd.grad([z], [x], [null], { createGraph: true });
      return dz;
    });
    g2.backward();
    expect(x.grad!.toArray()).toEqual([6, 12]);
  });

  test('backward runs with is_training = its trainMode option (seen from a Function backward)', () => {
    const seen: boolean[][] = [];
    class Probe extends autograd.Function {
      forward(a: NDArray) { return a.mul(2); }
      backward(dy: NDArray) { seen.push(state()); return dy.mul(2); }
    }
    const x = nd.ones([2]);
    x.attachGrad();
    autograd.record(() => new Probe().apply(x)).backward();
    autograd.record(() => new Probe().apply(x), { trainMode: false }).backward(undefined, { trainMode: false });
    expect(seen).toEqual([[false, true], [false, false]]);
  });
});

describe('dtype rules', () => {
  const i = (): NDArray => nd.array([1, 2, 4], { dtype: 'int32' });
  const u = (): NDArray => nd.array([1, 2, 4], { dtype: 'uint8' });

  test.each(['exp', 'log', 'sqrt', 'sin', 'sigmoid', 'reciprocal'])('int %s gives float32', (op) => {
    expect((nd as any)[op](i()).dtype).toBe('float32');
    expect((nd as any)[op](u()).dtype).toBe('float32');
  });

  test('divide, mean, softmax of ints give float32', () => {
    expect(nd.divide(i(), i()).dtype).toBe('float32');
    expect(i().div(2).toArray()).toEqual([0.5, 1, 2]);
    expect(nd.mean(i()).dtype).toBe('float32');
    expect(nd.softmax(i()).dtype).toBe('float32');
  });

  test.each([
    ['add', () => nd.add(i(), i()), 'int32'], ['subtract a number', () => nd.subtract(i(), 1), 'int32'],
    ['multiply by a number', () => nd.multiply(2, i()), 'int32'], ['negative', () => nd.negative(i()), 'int32'],
    ['abs', () => nd.abs(i()), 'int32'], ['maximum with a number', () => nd.maximum(i(), 2), 'int32'],
    ['minimum', () => nd.minimum(i(), i()), 'int32'], ['sum', () => nd.sum(u()), 'uint8'],
    ['max', () => nd.max(u()), 'uint8'], ['min', () => nd.min(i()), 'int32'],
  ])('%s keeps the int dtype', (_op, f, dtype) => {
    expect(f().dtype).toBe(dtype);
  });

  test("a number operand takes the array's dtype", () => {
    expect(i().add(2.5).toArray()).toEqual([3, 4, 6]);
    expect(nd.array([1], { dtype: 'float64' }).add(0.1).item()).toBe(1.1); // no float32 rounding
    expect(nd.array([1, 2], { dtype: 'uint8' }).sub(2).toArray()).toEqual([255, 0]);
  });

  test('astype makes arrays of mixed dtypes (DTYPE_MISMATCH in errors.test.ts) combinable', () => {
    expect(nd.add(i().astype('float32'), nd.ones([3])).toArray()).toEqual([2, 3, 5]);
  });

  test('nd.array of typed arrays keeps their dtype; JS arrays give float32 unless told', () => {
    expect(nd.array(new Float32Array([1])).dtype).toBe('float32');
    expect(nd.array(new Float64Array([1])).dtype).toBe('float64');
    expect(nd.array(new Int32Array([1])).dtype).toBe('int32');
    expect(nd.array(new Uint8Array([1])).dtype).toBe('uint8');
    expect(nd.array([1, 2]).dtype).toBe('float32');
    expect(nd.array([1, 2], { dtype: 'int32' }).dtype).toBe('int32');
  });
});

describe('split', () => {
  test('split returns NDArray[] (also for one output), as a function and as a method', () => {
    const x = nd.arange(8).reshape([2, 4]);
    const one = nd.split(x, { numOutputs: 1 });
    expect(Array.isArray(one)).toBe(true);
    expect(one[0].shape).toEqual([2, 4]);
    const parts = x.split({ numOutputs: 2 });
    expect(parts.map((p) => p.toArray())).toEqual([[[0, 1], [4, 5]], [[2, 3], [6, 7]]]);
    const rows = x.split({ numOutputs: 2, axis: 0, squeezeAxis: true });
    expect(rows.map((p) => p.shape)).toEqual([[4], [4]]);
  });
});

describe('printing (MXNet: str(x.asnumpy()), i.e. NumPy str; a 0-d array prints as its scalar)', () => {
  // expected strings from NumPy 2.4: str(np.array(value, dtype))
  const ZERO_D: [string, number, string][] = [
    ['float32', 6, '6.0'],
    ['float32', 0.1, '0.1'],
    ['float32', 2.5, '2.5'],
    ['float32', -1234.5, '-1234.5'],
    ['float32', 1 / 3, '0.33333334'],
    ['float32', 1e-5, '1e-05'],
    ['float32', 1e-4, '1e-04'],
    ['float32', 123456789, '1.2345679e+08'],
    ['float32', 1e8, '1e+08'],
    ['float32', -0, '-0.0'],
    ['float32', NaN, 'nan'],
    ['float32', Infinity, 'inf'],
    ['float32', -Infinity, '-inf'],
    ['float32', 3e-39, '3e-39'],
    ['float64', 1e8, '100000000.0'],
    ['float64', 1e16, '1e+16'],
    ['float64', 1 / 3, '0.3333333333333333'],
    ['float64', 0.0001, '0.0001'],
    ['float64', -2.5e-7, '-2.5e-07'],
    ['float64', 1.5e300, '1.5e+300'],
    ['int32', -5, '-5'],
    ['uint8', 200, '200'],
  ];
  test.each(ZERO_D)('0-d %s %p', (dtype, v, expected) => {
    expect(nd.array(v, { dtype: dtype as any }).toString()).toBe(`${expected}\n<NDArray  @cpu(0)>`);
  });

  test('a full reduction prints like NumPy prints a 0-d array', () => {
    expect(nd.array([1, 2]).sum().toString()).toBe('3.0\n<NDArray  @cpu(0)>');
    expect(nd.array([1, 2], { dtype: 'int32' }).sum().toString()).toBe('3\n<NDArray  @cpu(0)>');
  });

  test('int and large arrays', () => {
    expect(nd.array([[1, -2], [3, 4]], { dtype: 'int32' }).toString()).toBe('[[ 1 -2]\n [ 3  4]]\n<NDArray 2x2 @cpu(0)>');
    expect(nd.arange(2000).toString()).toBe(
      '[0.000e+00 1.000e+00 2.000e+00 ... 1.997e+03 1.998e+03 1.999e+03]\n<NDArray 2000 @cpu(0)>',
    );
  });
});

describe('memory: tidy and keep', () => {
  test('nested tidy: arrays returned inside lists and plain objects survive, the rest is freed', () => {
    const before = liveMemory();
    let inner: { list: (NDArray | { d: NDArray })[] } | undefined;
    const r = nd.tidy(() => {
      nd.ones([2]);
      inner = nd.tidy(() => {
        const b = nd.ones([2]).add(1);
        const c = b.mul(2);
        nd.ones([5]);
        return { list: [c, { d: b }] };
      });
      return inner.list[0] as NDArray;
    });
    expect(r.isDisposed).toBe(false);
    expect(r.toArray()).toEqual([4, 4]);
    expect(((inner!.list[1]) as { d: NDArray }).d.isDisposed).toBe(true); // not returned by the outer tidy
    r.dispose();
    expect(liveMemory()).toEqual(before);
  });

  test('kept arrays and variables\' gradients survive', () => {
    const x = nd.array([1, 2]);
    let k: NDArray | undefined;
    nd.tidy(() => {
      k = nd.keep(nd.ones([2]));
      x.attachGrad();
      autograd.record(() => x.mul(x)).backward();
    });
    expect(k!.isDisposed).toBe(false);
    expect(x.grad!.isDisposed).toBe(false);
    expect(x.grad!.toArray()).toEqual([2, 4]);
  });

  test("a returned .grad survives even when its variable was made (and freed) inside the tidy", () => {
    const before = liveMemory();
    const g = nd.tidy(() => {
      const x = nd.array([1, 2]);
      x.attachGrad();
      autograd.record(() => x.mul(x)).backward();
      return x.grad!;
    });
    expect(g.isDisposed).toBe(false);
    expect(g.toArray()).toEqual([2, 4]);
    const o = nd.tidy(() => {
      const x = nd.array([3]);
      x.attachGrad();
      autograd.record(() => x.mul(x)).backward();
      return { dx: x.grad! };
    });
    expect(o.dx.toArray()).toEqual([6]);
    // the returned gradient belongs to the enclosing scope like any returned array
    nd.tidy(() => {
      nd.tidy(() => {
        const x = nd.array([1]);
        x.attachGrad();
        return x.grad;
      });
    });
    g.dispose();
    o.dx.dispose();
    expect(liveMemory()).toEqual(before);
  });
});

describe('{ out } works on every op: the result is out, holding the values', () => {
  test.each([
    ['Dropout (predict mode: identity)', () => nd.full([4], 7), (o: NDArray) => nd.Dropout(nd.ones([4]), { p: 0.5, out: o }), [1, 1, 1, 1]],
    ['FullyConnected, noBias', () => nd.zeros([1, 2]), (o: NDArray) => nd.FullyConnected(nd.ones([1, 3]), nd.ones([2, 3]), null, { noBias: true, out: o }), [[3, 3]]],
    ['FullyConnected with bias', () => nd.zeros([1, 2]), (o: NDArray) => nd.FullyConnected(nd.ones([1, 3]), nd.ones([2, 3]), nd.ones([2]), { out: o }), [[4, 4]]],
    ['expandDims', () => nd.zeros([1, 2]), (o: NDArray) => nd.expandDims(nd.ones([2]), 0, { out: o }), [[1, 1]]],
    ['squeeze', () => nd.zeros([2]), (o: NDArray) => nd.squeeze(nd.ones([1, 2]), undefined, { out: o }), [1, 1]],
    ['flatten', () => nd.zeros([2, 2]), (o: NDArray) => nd.flatten(nd.ones([2, 1, 2]), { out: o }), [[1, 1], [1, 1]]],
    ['broadcastLike', () => nd.zeros([2, 2]), (o: NDArray) => nd.broadcastLike(nd.ones([1, 2]), nd.ones([2, 2]), { out: o }), [[1, 1], [1, 1]]],
    ['astype', () => nd.zeros([2], { dtype: 'float64' }), (o: NDArray) => nd.astype(nd.ones([2]), 'float64', { out: o }), [1, 1]],
  ])('%s', (_op, makeOut, f, expected) => {
    const out = makeOut();
    expect(f(out)).toBe(out);
    expect(out.toArray()).toEqual(expected);
  });
});

describe('method typings follow the functions', () => {
  test('clip accepts null bounds as a method too', () => {
    expect(nd.array([-1, 5]).clip(null, 1).toArray()).toEqual([-1, 1]);
    expect(nd.array([-1, 5]).clip(0, null).toArray()).toEqual([0, 5]);
  });
});
