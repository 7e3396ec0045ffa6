// The 'bfloat16' dtype: storage and conversion (round to nearest even, NaN kept quiet), creation,
// reading, printing; ops compute in float32 and round each result once (so their values equal the
// float32 op's rounded to bfloat16, exactly); gradients reach bfloat16 variables in bfloat16.
import { autograd, nd, NDArray } from '../lib';
import { errorOf, liveMemory } from './helpers';

const bf = (x: unknown): NDArray => nd.array(x as number[], { dtype: 'bfloat16' });
/** the float32 result of f on float32 copies, rounded to bfloat16 */
const viaFloat32 = (f: (...xs: NDArray[]) => NDArray, ...xs: NDArray[]): NDArray =>
  nd.tidy(() => f(...xs.map((x) => (x.dtype === 'bfloat16' ? x.astype('float32') : x))).astype('bfloat16'));

describe('bfloat16 storage and conversion', () => {
  test('round to nearest, ties to even, from a double rounded once', () => {
    nd.tidy(() => {
      const t = 2 ** -8; // half a bfloat16 ulp at 1
      const x = bf([1 + t, 1 + 3 * t, 1 + t + 2 ** -30, -(1 + t + 2 ** -30), 1 - t / 2, 3.14159265, 65504, 1e-40]);
      expect(Array.from(x.toTypedArray()).slice(0, 7)).toEqual([1, 1 + 4 * t, 1 + 2 * t, -(1 + 2 * t), 1, 3.140625, 65536]);
      // subnormals are kept (not flushed): the nearest bfloat16 of 1e-40 is 1e-40 within 2^-133
      expect(Math.abs((x.toTypedArray() as Float32Array)[7] - 1e-40)).toBeLessThanOrEqual(2 ** -134);
      expect((x.toTypedArray() as Float32Array)[7]).toBeGreaterThan(0);
    });
  });

  test('overflow to Inf, NaN kept (and quiet), signed zero; float32 ties from astype', () => {
    nd.tidy(() => {
      const x = bf([3.39e38, 3.4e38, -Infinity, NaN, -0]);
      const v = x.toTypedArray() as Float32Array;
      expect(v[0]).toBe(3.3895313892515355e38); // the largest bfloat16
      expect(v[1]).toBe(Infinity);
      expect(v[2]).toBe(-Infinity);
      expect(v[3]).toBeNaN();
      expect(Object.is(v[4], -0)).toBe(true);
      // a signalling float32 NaN (0x7f800001) becomes a quiet NaN, not Inf
      const sn = new Float32Array(new Uint32Array([0x7f800001, 0x3f808000, 0x3f818000]).buffer);
      const y = nd.array(sn).astype('bfloat16').toTypedArray() as Float32Array;
      expect(y[0]).toBeNaN();
      expect(Array.from(y.subarray(1))).toEqual([1, 1 + 2 ** -6]);
    });
  });

  test('toTypedArray is a Float32Array; toArray, item, printing with the shortest digits', () => {
    nd.tidy(() => {
      const x = bf([[0.1, 2.5], [3.14159, -7]]);
      expect(x.dtype).toBe('bfloat16');
      expect(Object.prototype.toString.call(x.toTypedArray())).toBe('[object Float32Array]');
      expect(x.toArray()).toEqual([[0.10009765625, 2.5], [3.140625, -7]]);
      expect(x.at(1).at(0).item()).toBe(3.140625);
      expect(String(x)).toBe('\n[[ 0.1   2.5 ]\n [ 3.14 -7.  ]]\n<NDArray 2x2 @cpu(0)>'.slice(1));
      expect(String(bf(3.14159))).toBe('3.14\n<NDArray  @cpu(0)>');
      const before = nd.memory().numBytes;
      nd.zeros([1024], { dtype: 'bfloat16' });
      expect(nd.memory().numBytes - before).toBe(2048); // two bytes an element
    });
  });

  test('creation: zeros, ones, full, arange, eye, array of numbers and typed arrays', () => {
    nd.tidy(() => {
      expect(nd.zeros([2], { dtype: 'bfloat16' }).toArray()).toEqual([0, 0]);
      expect(nd.ones([2], { dtype: 'bfloat16' }).toArray()).toEqual([1, 1]);
      expect(nd.full([2], 0.3, { dtype: 'bfloat16' }).toArray()).toEqual([0.30078125, 0.30078125]);
      expect(nd.arange(255, 259, 1, { dtype: 'bfloat16' }).toArray()).toEqual([255, 256, 256, 258]);
      expect(nd.eye(2, 0, 0, { dtype: 'bfloat16' }).toArray()).toEqual([[1, 0], [0, 1]]);
      expect(nd.array(new Int32Array([257, -3]), { dtype: 'bfloat16' }).toArray()).toEqual([256, -3]);
    });
  });

  test('astype to and from every dtype', () => {
    nd.tidy(() => {
      const x = bf([1.5, -2.75, 300, 70000]);
      expect(x.astype('float32').toArray()).toEqual([1.5, -2.75, 300, 70144]);
      expect(x.astype('float64').toArray()).toEqual([1.5, -2.75, 300, 70144]);
      expect(x.astype('int32').toArray()).toEqual([1, -2, 300, 70144]);
      expect(x.astype('uint8').toArray()).toEqual([1, 254, 44, 0]);
      expect(nd.array([257], { dtype: 'int32' }).astype('bfloat16').toArray()).toEqual([256]);
      expect(nd.array([255], { dtype: 'uint8' }).astype('bfloat16').toArray()).toEqual([255]);
      expect(x.astype('bfloat16').toArray()).toEqual(x.toArray());
    });
  });

  test('views share storage: reshape, expandDims, squeeze, flatten, at', () => {
    nd.tidy(() => {
      const x = bf([[1, 2], [3, 4]]);
      for (const v of [x.reshape([4]), x.expandDims(0), x.expandDims(0).squeeze(), x.flatten(), x.at(1)]) expect(v.dtype).toBe('bfloat16');
      const r = x.reshape([4]);
      nd.full([4], 9, { dtype: 'bfloat16', out: r } as never);
      expect(x.toArray()).toEqual([[9, 9], [9, 9]]);
    });
  });
});

describe('ops on bfloat16: float32 arithmetic, one rounding', () => {
  const x = (): NDArray => { nd.random.seed(3); return nd.random.uniform(-3, 3, [4, 6]).astype('bfloat16'); };
  const y = (): NDArray => { nd.random.seed(4); return nd.random.uniform(0.5, 2, [4, 6]).astype('bfloat16'); };
  const cases: [string, (a: NDArray, b: NDArray) => NDArray][] = [
    ['exp', (a) => a.exp()],
    ['tanh', (a) => a.tanh()],
    ['log', (_a, b) => b.log()],
    ['sqrt', (_a, b) => b.sqrt()],
    ['add', (a, b) => a.add(b)],
    ['mul broadcast', (a, b) => a.mul(b.at(0))],
    ['div by a number', (a) => a.div(3)],
    ['sub', (a, b) => a.sub(b)],
    ['sum', (a) => a.sum({ axis: 1 })],
    ['mean', (a) => a.mean()],
    ['max', (a) => a.max({ axis: 0 })],
    ['softmax', (a) => a.softmax()],
    ['logSoftmax', (a) => a.logSoftmax()],
    ['relu', (a) => nd.Activation(a, { actType: 'relu' })],
    ['sigmoid', (a) => nd.Activation(a, { actType: 'sigmoid' })],
    ['FullyConnected of float32 x and bfloat16 weight', (a, b) => nd.FullyConnected(a.astype('float32'), b, null, { numHidden: 4, noBias: true })],
    ['Convolution', (a, b) => nd.Convolution(a.reshape([1, 1, 4, 6]), b.reshape([2, 1, 3, 4]).slice([0, 0, 0, 0], [2, 1, 3, 3]), null, { kernel: [3, 3], noBias: true })],
    ['Pooling', (a) => nd.Pooling(a.reshape([1, 1, 4, 6]), { kernel: [2, 2], stride: [2, 2], poolType: 'max' })],
    ['softmaxCrossEntropy', (a) => nd.softmaxCrossEntropy(a, nd.array([0, 5, 2, 1]))],
    ['transpose', (a) => a.T],
    ['concat', (a, b) => nd.concat([a, b], { dim: 0 })],
  ];
  test.each(cases)('%s equals the float32 op rounded to bfloat16', (_name, f) => {
    nd.tidy(() => {
      const a = x(), b = y();
      const r = f(a, b);
      expect(r.dtype).toBe('bfloat16');
      expect(r.toArray()).toEqual(viaFloat32(f, a, b).toArray());
    });
  });

  test('argmax gives float32 indices (not rounded), comparisons give bfloat16 0/1', () => {
    nd.tidy(() => {
      const big = nd.arange(0, 600).astype('bfloat16');
      const i = big.argmax();
      expect(i.dtype).toBe('float32');
      expect(i.item()).toBe(big.toArray() instanceof Array ? (big.toTypedArray() as Float32Array).indexOf(600) : -1);
      const c = bf([1, 2]).greater(bf([2, 1]));
      expect(c.dtype).toBe('bfloat16');
      expect(c.toArray()).toEqual([0, 1]);
    });
  });

  test('`out` of bfloat16 gets the rounded result; of another dtype is DTYPE_MISMATCH naming the op', () => {
    nd.tidy(() => {
      const a = bf([1, 2]), out = nd.zeros([2], { dtype: 'bfloat16' });
      nd.exp(a, { out });
      expect(out.toArray()).toEqual(viaFloat32((v) => v.exp(), a).toArray());
      const e = errorOf(() => nd.exp(a, { out: nd.zeros([2]) }));
      expect(e.code).toBe('DTYPE_MISMATCH');
      expect(e.message).toMatch(/^exp: .*bfloat16/);
    });
  });

  test('ops that cannot make bfloat16 refuse with DTYPE_MISMATCH naming the op and the dtype', () => {
    for (const [op, f] of [
      ['random_uniform', () => nd.random.uniform(0, 1, [2], { dtype: 'bfloat16' })],
      ['random_normal', () => nd.random.normal(0, 1, [2], { dtype: 'bfloat16' })],
      ['one_hot', () => nd.oneHot(nd.array([0, 1]), 3, { dtype: 'bfloat16' })],
    ] as const) {
      const e = errorOf(f);
      expect(e.code).toBe('DTYPE_MISMATCH');
      expect(e.message).toContain(op);
      expect(e.message).toContain('bfloat16');
    }
  });

  test('no memory is left behind by the float32 round trips', () => {
    const start = liveMemory();
    const a = bf([[1, 2], [3, 4]]);
    a.attachGrad();
    for (let i = 0; i < 50; i++)
      nd.tidy(() => {
        autograd.record(() => a.mul(a).exp().sum().backward());
        a.softmax().add(1);
      });
    a.dispose();
    expect(liveMemory()).toEqual(start);
  });
});

describe('gradients of bfloat16 variables', () => {
  test('the gradient is bfloat16 and matches the float32 gradient within bfloat16 rounding', () => {
    nd.tidy(() => {
      nd.random.seed(11);
      const x = nd.random.uniform(-1, 1, [8, 5]).astype('bfloat16');
      const w = nd.random.uniform(-1, 1, [3, 5]).astype('bfloat16');
      const loss = (xx: NDArray, ww: NDArray): NDArray =>
        nd.softmaxCrossEntropy(nd.FullyConnected(xx, ww, null, { numHidden: 3, noBias: true }).tanh(), nd.array([0, 1, 2, 0, 1, 2, 0, 1]));
      w.attachGrad();
      autograd.record(() => loss(x, w).backward());
      const w32 = w.astype('float32');
      w32.attachGrad();
      autograd.record(() => loss(x.astype('float32'), w32).backward());
      expect(w.grad!.dtype).toBe('bfloat16');
      const g = w.grad!.toTypedArray() as Float32Array, g32 = w32.grad!.toTypedArray() as Float32Array;
      const scale = Math.max(...Array.from(g32, Math.abs));
      // a few bfloat16 roundings (8-bit significand) on the way back: 2^-5 of the largest entry
      for (let i = 0; i < g.length; i++) expect(Math.abs(g[i] - g32[i])).toBeLessThanOrEqual(scale * 2 ** -5);
    });
  });
});
