// Port of apache/mxnet tests/python/unittest/test_autograd.py (dense parts; no sparse, np or Gluon
// variants), with MXNet's tolerances: `same` / `==` are exact here too.
import { autograd, nd, NDArray, NDArrayError } from '../../lib';
import { assertAlmostEqual, autogradAssert, expectSame, gradAndLoss, same } from './helpers';

beforeEach(() => {
  nd.random.seed(128);
  autograd.setRecording(false);
  autograd.setTraining(false);
});

// A1
test('test_unary_func', () => {
  nd.tidy(() => {
    const x = nd.random.uniform(0, 1, [4, 5]);
    autogradAssert([x], (x: NDArray) => nd.exp(x), (x: NDArray) => [nd.exp(x)]);
    const x2 = nd.random.uniform(0, 1, [4, 5]);
    autogradAssert([x2], (x: NDArray) => x.div(2), (x: NDArray) => [nd.onesLike(x).mul(0.5)]);
    const x3 = nd.random.uniform(0, 1, [4, 5]);
    autogradAssert([x3], (x: NDArray) => x.pow(2), (x: NDArray) => [x.mul(2)]);
  });
});

// A2
test('test_binary_func', () => {
  nd.tidy(() => {
    const mk = () => [nd.random.uniform(0, 1, [4, 5]), nd.random.uniform(0, 1, [4, 5])];
    let [x, y] = mk();
    autogradAssert([x, y], (x: NDArray, y: NDArray) => x.add(y), (x: NDArray, y: NDArray) => [nd.onesLike(x), nd.onesLike(y)]);
    [x, y] = mk();
    autogradAssert([x, y], (x: NDArray, y: NDArray) => x.mul(y), (x: NDArray, y: NDArray) => [y, x]);
    [x, y] = mk();
    autogradAssert([x, y], (x: NDArray, y: NDArray) => x.add(x.mul(y)), (x: NDArray, y: NDArray) => [y.add(1), x]);
  });
});

// A3: MXNet has no assertion (a TODO); we add the closed-form ones.
test('test_operator_with_state', () => {
  nd.tidy(() => {
    const fFc = (a: NDArray, b: NDArray, weight: NDArray, bias: NDArray) =>
      nd.FullyConnected(a.mul(b), weight, bias, { numHidden: 32 });
    const a = nd.random.uniform(0, 1, [64, 50]);
    const b = nd.random.uniform(0, 1, [64, 50]);
    const weight = nd.random.uniform(0, 1, [32, 50]);
    const bias = nd.random.uniform(0, 1, [32]);
    const [grads, out] = gradAndLoss(fFc)(a, b, weight, bias);
    expect((out as NDArray).shape).toEqual([64, 32]);
    const [da, db, dw, dbias] = grads;
    // the Dense rewrite with dot, as the catalogue suggests
    assertAlmostEqual(out as NDArray, nd.dot(a.mul(b), weight, { transposeB: true }).add(bias.reshape([1, 32])));
    expectSame(dbias, nd.full([32], 64));
    const ones = nd.ones([64, 32]);
    assertAlmostEqual(dw, nd.dot(ones, a.mul(b), { transposeA: true }));
    assertAlmostEqual(da, nd.dot(ones, weight).mul(b));
    assertAlmostEqual(db, nd.dot(ones, weight).mul(a));
  });
});

// A4
test('test_argnum', () => {
  nd.tidy(() => {
    const f = (a: NDArray, b: NDArray, mode: boolean) => (mode ? a.add(b) : a.mul(b));
    let a = nd.random.uniform(0, 1, [3, 2]);
    let b = nd.random.uniform(0, 1, [3, 2]);
    autogradAssert([a, b, true], f, (a: NDArray, b: NDArray) => [nd.onesLike(a), nd.onesLike(b)], [0, 1]);
    a = nd.random.uniform(0, 1, [3, 2]);
    b = nd.random.uniform(0, 1, [3, 2]);
    autogradAssert([a, b, false], f, (a: NDArray, b: NDArray) => [b, a], [0, 1]);
  });
});

// A5
test('test_training', () => {
  nd.tidy(() => {
    const x = nd.ones([10, 10]);
    autograd.record(() => {
      let y = nd.Dropout(x, { p: 0.5 });
      expect(same(y, x)).toBe(false);
      autograd.pause(() => {
        y = nd.Dropout(x, { p: 0.5 });
        expect(same(y, x)).toBe(true);
      });
    });
  });
});

// A6: with split (num_outputs 3, squeeze), and the catalogue's port with x.at(i).
test('test_out_grads', () => {
  nd.tidy(() => {
    const x = nd.ones([3, 5]);
    const dx = nd.zerosLike(x);
    autograd.markVariables([x], [dx]);
    const da: NDArray | null = null;
    const db = nd.array([1, 2, 3, 4, 5]);
    const dc = nd.array([5, 4, 3, 2, 1]);
    autograd.record(() => {
      const [a, b, c] = nd.split(x, { axis: 0, numOutputs: 3, squeezeAxis: true });
      expect(a.shape).toEqual([5]);
      autograd.backward([a, b, c], [da, db, dc]);
    });
    expectSame(dx, [
      [1, 1, 1, 1, 1],
      [1, 2, 3, 4, 5],
      [5, 4, 3, 2, 1],
    ]);
    dx.set(0);
    autograd.record(() => {
      const [a, b, c] = [x.at(0), x.at(1), x.at(2)];
      autograd.backward([a, b, c], [da, db, dc]);
    });
    expectSame(dx, [
      [1, 1, 1, 1, 1],
      [1, 2, 3, 4, 5],
      [5, 4, 3, 2, 1],
    ]);
  });
});

// A7
test('test_detach_updated_grad', () => {
  nd.tidy(() => {
    const x = nd.ones([2, 2]);
    const dx = nd.zerosLike(x);
    const y = nd.onesLike(x);
    const dy = nd.zerosLike(x);
    autograd.markVariables([x, y], [dx, dy]);
    expect(x.freshGrad).toBe(false);
    expect(y.freshGrad).toBe(false);

    autograd.record(() => {
      const x2 = x.add(2);
      const y2 = x2.add(y);
      y2.backward();
    });
    expect((dx.toArray() as number[][]).flat().every((v: number) => v === 1)).toBe(true);
    expect(x.freshGrad).toBe(true);
    expect(y.freshGrad).toBe(true);

    dx.set(0);
    x.freshGrad = false;
    y.freshGrad = false;
    expect(x.freshGrad).toBe(false);
    expect(y.freshGrad).toBe(false);
    autograd.record(() => {
      const x2 = x.add(2).detach();
      const y2 = x2.add(y);
      y2.backward();
    });
    expect((dx.toArray() as number[][]).flat().every((v: number) => v === 0)).toBe(true);
    expect(y.freshGrad).toBe(true);
    expect(x.freshGrad).toBe(false);
  });
});

// A8 (1.x name: test_retain_grad)
test('test_retain_graph', () => {
  nd.tidy(() => {
    const x = nd.ones([2, 2]);
    const dx = nd.zeros([2, 2]);
    autograd.markVariables([x], [dx], 'add');
    autograd.record(() => {
      const y = x.add(1);
      y.backward(null, { retainGraph: false });
    });
    expect((dx.toArray() as number[][]).flat().every((v: number) => v === 1)).toBe(true);

    dx.set(0);
    autograd.record(() => {
      const y = x.add(1);
      y.backward(null, { retainGraph: true });
      y.backward(null, { retainGraph: false });
    });
    expect((dx.toArray() as number[][]).flat().every((v: number) => v === 2)).toBe(true);

    let raised = false;
    autograd.record(() => {
      const y = x.add(1);
      y.backward();
      try {
        y.backward();
      } catch (e) {
        raised = true;
        expect(e).toBeInstanceOf(NDArrayError);
        expect((e as NDArrayError).code).toBe('GRAPH_FREED');
      }
    });
    expect(raised).toBe(true);
  });
});

// A9 (default stype)
test('test_attach_grad', () => {
  nd.tidy(() => {
    const x = nd.zeros([10, 10]);
    expect(x.grad).toBeNull();
    x.attachGrad();
    autograd.record(() => {
      const y = x.mul(2);
      expect(y.grad).toBeNull();
      y.backward(nd.onesLike(y));
    });
    expect((x.grad!.toArray() as number[][]).flat().every((v: number) => v === 2)).toBe(true);
  });
});

// A10
test('test_is_train', () => {
  nd.tidy(() => {
    const x = nd.ones([10, 10]);
    x.attachGrad();
    const active = (y: NDArray) => y.max().item() === 2 && y.min().item() === 0;
    autograd.record(() => {
      expect(autograd.isRecording()).toBe(true);
      expect(autograd.isTraining()).toBe(true);
      let y = nd.Dropout(x, { p: 0.5 });
      expect(active(y)).toBe(true);
      y.backward();
      expectSame(x.grad!, y);

      autograd.predictMode(() => {
        expect(autograd.isRecording()).toBe(true);
        expect(autograd.isTraining()).toBe(false);
        y = nd.Dropout(x, { p: 0.5 });
        expectSame(y, x);
        y.backward(null, { trainMode: false });
        expectSame(x.grad!, x);
      });
    }, { trainMode: true });

    autograd.record(() => {
      expect(autograd.isRecording()).toBe(true);
      expect(autograd.isTraining()).toBe(false);
      let y = nd.Dropout(x, { p: 0.5 });
      expectSame(y, x);
      y.backward(null, { trainMode: false });
      expectSame(x.grad!, x);

      autograd.trainMode(() => {
        expect(autograd.isRecording()).toBe(true);
        expect(autograd.isTraining()).toBe(true);
        y = nd.Dropout(x, { p: 0.5 });
        expect(active(y)).toBe(true);
        y.backward();
        expectSame(x.grad!, y);
      });
    }, { trainMode: false });

    expect(autograd.isRecording()).toBe(false);
    expect(autograd.isTraining()).toBe(false);
    let y = nd.Dropout(x, { p: 0.5 });
    expectSame(y, x);

    autograd.trainMode(() => {
      expect(autograd.isRecording()).toBe(false);
      expect(autograd.isTraining()).toBe(true);
      y = nd.Dropout(x, { p: 0.5 });
      expect(active(y)).toBe(true);
    });
  });
});

// A11
test('test_function', () => {
  class Func extends autograd.Function {
    forward(x: NDArray, y: NDArray) {
      const m = x.div(y);
      const n = x.mul(y);
      this.saveForBackward(x, y);
      return [m, n];
    }
    backward(dm: NDArray, dn: NDArray) {
      const [x, y] = this.savedTensors;
      const dx = dm.div(y).add(dn.mul(y));
      const dy = dn.mul(x).sub(dm.mul(x).div(y).div(y));
      return [dx, dy];
    }
  }
  nd.tidy(() => {
    const x = nd.random.uniform(0, 1, [10]);
    const y = nd.random.uniform(0, 1, [10]);
    x.attachGrad();
    y.attachGrad();
    autograd.record(() => {
      const [m, n] = new Func().apply(x, y);
      autograd.backward([m, n]);
    });
    const dx1 = x.grad!.copy();
    const dy1 = y.grad!.copy();
    autograd.record(() => {
      autograd.backward([x.div(y), x.mul(y)]);
    });
    assertAlmostEqual(x.grad!, dx1, 1e-4, 1e-6);
    assertAlmostEqual(y.grad!, dy1, 1e-4, 1e-6);
  });
});

// A12
test('test_function1', () => {
  class Foo extends autograd.Function {
    forward(X: NDArray) {
      return X.add(1);
    }
    backward(dY: NDArray) {
      return dY;
    }
  }
  nd.tidy(() => {
    let X: NDArray;
    autograd.record(() => {
      X = nd.zeros([3, 4]);
      for (let i = 0; i < 5; i++) X = new Foo().apply(X);
    });
    expect((X!.toArray() as number[][]).flat().every((v: number) => v === 5)).toBe(true);
    expect(nd._native.inGraph(X!.h)).toBe(false);
    expect(() => X!.backward()).toThrow(expect.objectContaining({ code: 'NOT_RECORDED' }));
  });
});

// A15
test('test_get_symbol', () => {
  nd.tidy(() => {
    const x = nd.ones([1]);
    x.attachGrad();
    let y = autograd.record(() => x.mul(x).add(x.mul(2)).sub(1));
    expect(autograd.getSymbol(y).listArguments().length).toBe(1);

    const z = nd.ones([1]);
    z.attachGrad();
    y = autograd.record(() => x.mul(x).add(z.mul(2)).sub(1));
    expect(autograd.getSymbol(y).listArguments().length).toBe(2);
  });
});

// A16, dense part
test('test_grad_with_stype (dense)', () => {
  nd.tidy(() => {
    for (const dtype of ['float32', 'float64'] as const) {
      const x = nd.zeros([1, 1], { dtype });
      x.attachGrad();
      expect(x.grad!.shape).toEqual([1, 1]);
      expect(x.grad!.dtype).toBe(dtype);
      expectSame(x.grad!, nd.zeros([1, 1], { dtype }));
      const d = x.detach();
      expect(d.shape).toEqual([1, 1]);
      expect(d.dtype).toBe(dtype);
      expect(d.grad).toBeNull();
    }
  });
});

// A17, dense part
test('test_sparse_dot_grad (dense)', () => {
  nd.tidy(() => {
    const lhs = nd.random.uniform(0, 1, [2, 8]);
    const rhs = nd.ones([8, 3]);
    rhs.attachGrad();
    const y = autograd.record(() => nd.dot(lhs, rhs));
    y.backward();
    assertAlmostEqual(rhs.grad!, nd.dot(lhs, nd.ones([2, 3]), { transposeA: true }));
  });
});

// A18
test('test_gradient', () => {
  nd.tidy(() => {
    const x = nd.ones([1]);
    x.attachGrad();
    const z = autograd.record(() => nd.add(nd.exp(x), x));
    const [dx] = autograd.grad(z, [x], null, { createGraph: true });
    expect(Math.abs(dx.item() - 3.71828175)).toBeLessThan(1e-7);
    dx.backward();
    expect(Math.abs(x.grad!.item() - 2.71828175)).toBeLessThan(1e-7);
  });
});

// A19 (master only)
test('test_retain_grad_drop_grad', () => {
  nd.tidy(() => {
    const x = nd.array([1, 2, 3, 4]);
    x.attachGrad();
    const y = nd.array([5, 6, 7, 8]);
    y.attachGrad();
    let u: NDArray, z: NDArray;
    autograd.record(() => {
      u = x.mul(y);
      z = u.mul(x);
    });
    u!.attachGrad();
    z!.attachGrad();
    let outGrad = nd.array([10, 10, 10, 10]);
    z!.backward(outGrad, { retainGraph: true });
    expectSame(u!.grad!, outGrad.mul(x));
    expectSame(z!.grad!, outGrad);
    expectSame(x.grad!, outGrad.mul(2).mul(x).mul(y));
    expectSame(y.grad!, outGrad.mul(x).mul(x));
    expectSame(u!.grad!, [10, 20, 30, 40]);
    expectSame(x.grad!, [100, 240, 420, 640]);
    expectSame(y.grad!, [10, 40, 90, 160]);

    u!.dropGrad();
    z!.dropGrad();
    y.dropGrad();
    outGrad = nd.array([0.1, 0.1, 0.1, 0.1]);
    z!.backward(outGrad);
    expect(u!.grad).toBeNull();
    expect(z!.grad).toBeNull();
    expect(y.grad).toBeNull();
    expectSame(x.grad!, outGrad.mul(2).mul(x).mul(y));
    // [1.0, 2.4, 4.2, 6.4] up to float32 rounding (the exact check is the float32 expression above)
    assertAlmostEqual(x.grad!, [1.0, 2.4, 4.2, 6.4], 0, 1e-6);
  });
});

// test_ndarray.py: test_getitem_autograd / test_setitem_autograd (x.at(i) and x.set under record)
test('test_getitem_autograd / test_setitem_autograd (at, set)', () => {
  nd.tidy(() => {
    const x = nd.random.uniform(0, 1, [4, 3]);
    x.attachGrad();
    for (const i of [0, 2, -1]) {
      const y = autograd.record(() => x.at(i));
      y.backward();
      const exp = nd.zeros([4, 3]).toArray() as number[][];
      exp[(i + 4) % 4] = [1, 1, 1];
      expectSame(x.grad!, exp);
    }
    const a = nd.zeros([4, 3]);
    const yv = nd.ones([4, 3]);
    yv.attachGrad();
    autograd.record(() => {
      // whole-array assignment is a copy and allowed; writing into an input of a recorded op is not
      a.set(yv);
      expect(() => yv.set(a)).toThrow(expect.objectContaining({ code: 'INPLACE_IN_GRAPH' }));
    });
    expect(same(a, yv)).toBe(true);
  });
});
