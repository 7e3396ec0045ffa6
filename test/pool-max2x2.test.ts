// Max pooling 2x2 / 2 without clipped windows has loops of its own (ops/pool.cc, max_2x2): its values,
// gradient (_pool_grad) and gradient's gradient (_pool_gather) against a JS reference of the generic
// rule: the max in window order (NaN wins), the gradient routed to the first position holding it.
import { nd, autograd, NDArray } from '../lib';

type DT = 'float32' | 'float64' | 'int32' | 'uint8';

// Per output element: [max, index of the first position holding it] (indices into x).
function reference(x: number[], shape: number[]): Array<[number, number]> {
  const [N, C, H, W] = shape;
  const OH = Math.floor(H / 2), OW = Math.floor(W / 2), out: Array<[number, number]> = [];
  for (let p = 0; p < N * C; p++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        const at = [0, 1, W, W + 1].map((o) => p * H * W + 2 * oh * W + 2 * ow + o);
        let m = x[at[0]];
        for (const i of at.slice(1)) if (x[i] > m || Number.isNaN(x[i])) m = x[i];
        const first = at.find((i) => x[i] === m || (Number.isNaN(m) && Number.isNaN(x[i])))!;
        out.push([m, first]);
      }
  return out;
}

// Small integers (many ties), with NaN and -Infinity in the float dtypes.
function data(shape: number[], dtype: DT): number[] {
  const n = shape.reduce((a, b) => a * b, 1), v: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = (i * 7919 + 13) % 97;
    if (dtype.startsWith('float') && r === 5) v.push(NaN);
    else if (dtype.startsWith('float') && r === 6) v.push(-Infinity);
    else v.push(r % 5);
  }
  return v;
}

const same = (got: ArrayLike<number>, want: number[]) => expect(Array.from(got)).toEqual(want);
const pool = (x: NDArray) => nd.Pooling(x, { kernel: [2, 2], stride: [2, 2], poolType: 'max' });

// even sizes (the windows tile x), odd sizes (a last row and column outside every window), one window
const shapes = [[2, 3, 6, 8], [1, 2, 7, 5], [1, 1, 2, 2], [3, 1, 3, 33]];

describe('max pooling 2x2 / 2', () => {
  test.each(['float32', 'float64', 'int32', 'uint8'] as DT[])('values in %s: window order, NaN wins', (dtype) => {
    for (const s of shapes) {
      const v = data(s, dtype);
      same(pool(nd.array(v, { dtype }).reshape(s)).toTypedArray(), reference(v, s).map(([m]) => m));
    }
  });

  test.each(['float32', 'float64'] as DT[])('gradient in %s goes to the first position holding the max', (dtype) => {
    for (const s of shapes) {
      const v = data(s, dtype), ref = reference(v, s);
      const x = nd.array(v, { dtype }).reshape(s);
      const dy = nd.arange(1, ref.length + 1, 1, { dtype }).reshape(pool(x).shape);
      dy.attachGrad();
      const want = new Array<number>(v.length).fill(0);
      ref.forEach(([, i], o) => { want[i] = o + 1; });
      // _pool_grad (dy, x) through Pooling's backward; its own gradient in dy is _pool_gather
      x.attachGrad();
      let dx: NDArray;
      const gy = autograd.record(() => {
        [dx] = autograd.grad(nd.sum(nd.Pooling(x, { kernel: [2, 2], stride: [2, 2] }).mul(dy)), [x], null, { createGraph: true });
        return nd.sum(dx.mul(nd.arange(0, v.length, 1, { dtype }).reshape(s)));
      });
      same(dx!.toTypedArray(), want);
      gy.backward();
      same(dy.grad!.toTypedArray(), ref.map(([, i]) => i));
    }
  });
});
