// Convolution on bfloat16 arrays (ops/conv_bf16.cc, kernels/bf16_avx512.cc): forward, data and
// weight gradient on vdpbf16ps where the avx512 table runs on a CPU with AVX512_BF16, elsewhere the
// float32 kernels on float32 copies, rounded once. Under every ISA: y, dx,
// dw and db against float64 sums of the same bfloat16 values within one bfloat16 rounding plus
// float32 accumulation; the same bits at 1 and 2 threads; and where no bfloat16 kernel runs,
// exactly the float32 path's numbers rounded (what bfloat16 gave before it had a kernel).
import * as fs from 'fs';
import { autograd, nd, NDArray } from '../lib';
import { ConvCase, convReference, withThreads } from './conv-reference';

const native = nd._native;
const ISAS: string[] = native.availableIsas();
const ORIGINAL = nd.backend().isa;
const EPS32 = 2 ** -24;
const EPS16 = 2 ** -8;
const CPU_BF16 = fs.existsSync('/proc/cpuinfo') && /\bavx512_bf16\b/.test(fs.readFileSync('/proc/cpuinfo', 'utf8'));

afterEach(() => {
  native.selectIsa(ORIGINAL);
});

const cases: [string, ConvCase][] = [
  ['the CNN step\'s first layer (one channel: float32 kernels), batch 2', { x: [2, 1, 28, 28], w: [32, 1, 3, 3], stride: [1, 1], pad: [0, 0] }],
  ['the CNN step\'s second layer, batch 3', { x: [3, 32, 13, 13], w: [64, 32, 3, 3], stride: [1, 1], pad: [0, 0] }],
  ['odd channels and filters (a half pair, tail blocks), pad 1', { x: [3, 13, 9, 11], w: [21, 13, 3, 3], stride: [1, 1], pad: [1, 1] }],
  ['three channels, 5x5, pad 2, batch 1', { x: [1, 3, 12, 17], w: [17, 3, 5, 5], stride: [1, 1], pad: [2, 2] }],
  ['stride 2, pad 1', { x: [3, 8, 11, 10], w: [24, 8, 3, 3], stride: [2, 2], pad: [1, 1] }],
  ['stride 2 across, 1 down, rows longer than a tile', { x: [2, 7, 5, 40], w: [9, 7, 3, 3], stride: [1, 2], pad: [0, 1] }],
];

function bf16(shape: number[]): NDArray {
  return nd.tidy(() => nd.random.uniform(-1, 1, shape).astype('bfloat16'));
}
const f32 = (a: NDArray): Float32Array => nd.tidy(() => a.astype('float32').toTypedArray() as Float32Array);

describe('bfloat16 convolution', () => {
  test.each(cases)('%s: y, dx, dw, db against float64 under each ISA, the same bits at 1 and 2 threads', (_name, c) => {
    nd.random.seed(5);
    const x = bf16(c.x), w = bf16(c.w), b = bf16([c.w[0]]);
    const opts = { kernel: c.w.slice(2), numFilter: c.w[0], stride: c.stride, pad: c.pad };
    const head = bf16(nd.tidy(() => nd.Convolution(x, w, b, opts).shape));
    const G = f32(head);
    const ref = convReference(f32(x), f32(w), f32(b), G, c);
    const dbRef = new Float64Array(c.w[0]), dbMag = new Float64Array(c.w[0]), plane = G.length / (c.x[0] * c.w[0]);
    G.forEach((g, i) => {
      const f = Math.floor(i / plane) % c.w[0];
      dbRef[f] += g;
      dbMag[f] += Math.abs(g);
    });
    const grads = (xa: NDArray, wa: NDArray, ba: NDArray, h: NDArray): Float32Array[] =>
      nd.tidy(() => {
        for (const a of [xa, wa, ba]) a.attachGrad();
        const y = autograd.record(() => nd.Convolution(xa, wa, ba, opts));
        y.backward(h);
        return [y, xa.grad!, wa.grad!, ba.grad!].map((t) => {
          expect(t.dtype).toBe(y.dtype);
          return f32(t);
        });
      });
    const run = (): Float32Array[] => nd.tidy(() => grads(x.copy(), w.copy(), b.copy(), head));
    // the float32 path on the same values, each result rounded to bfloat16 once
    const viaFloat32 = (): Float32Array[] =>
      nd.tidy(() => grads(x.astype('float32'), w.astype('float32'), b.astype('float32'), head.astype('float32'))
        .map((a) => f32(nd.array(a).astype('bfloat16'))));
    for (const isa of ISAS) {
      expect(native.selectIsa(isa)).toBe(true);
      const one = withThreads(1, run), two = withThreads(2, run), wide = viaFloat32();
      const kernel = isa === 'avx512' && CPU_BF16;
      (['y', 'dx', 'dw', 'db'] as const).forEach((what, k) => {
        expect(Buffer.from(two[k].buffer).equals(Buffer.from(one[k].buffer))).toBe(true);
        // the bias gradient has no bfloat16 kernel: float32 numbers rounded
        if (!kernel || what === 'db') expect(Buffer.from(one[k].buffer).equals(Buffer.from(wide[k].buffer))).toBe(true);
        const [want, mag] = what === 'db' ? [dbRef, dbMag] : ref[what], terms = what === 'db' ? plane * c.x[0] : ref.terms[what];
        for (let i = 0; i < want.length; i++) {
          const bound = EPS16 * Math.abs(want[i]) + 2 * terms * EPS32 * mag[i] + 1e-30;
          if (!(Math.abs(one[k][i] - want[i]) <= bound))
            throw new Error(`${isa} ${what}[${i}]: ${one[k][i]} vs ${want[i]} (bound ${bound})`);
        }
      });
    }
    nd.dispose([x, w, b, head]);
  });

  test('an Inf in a column no output reads (stride 2) stays out of the weight gradient (odd rows pair their last pixel with nothing)', () => {
    nd.random.seed(7);
    const xs = nd.random.uniform(-1, 1, [2, 8, 5, 8]).toTypedArray() as Float32Array;
    for (let k = 7; k < xs.length; k += 8) xs[k] = Infinity; // column 7: outputs 0..2 read columns 0..6
    const x = nd.tidy(() => nd.array(xs).reshape([2, 8, 5, 8]).astype('bfloat16')), w = bf16([16, 8, 3, 3]);
    const opts = { kernel: [3, 3], numFilter: 16, stride: [2, 2], noBias: true };
    for (const isa of ISAS) {
      expect(native.selectIsa(isa)).toBe(true);
      const dw = nd.tidy(() => {
        const wa = w.copy();
        wa.attachGrad();
        autograd.record(() => nd.Convolution(x, wa, opts)).backward();
        return f32(wa.grad!);
      });
      expect(dw.every(Number.isFinite)).toBe(true);
    }
    nd.dispose([x, w]);
  });

  test('mixed with float32 (a bfloat16 x, float32 weights) computes in float32 and rounds once, as before', () => {
    nd.random.seed(6);
    const x = bf16([2, 4, 6, 6]), w = nd.random.uniform(-1, 1, [5, 4, 3, 3]);
    const y = nd.Convolution(x, w, { kernel: [3, 3], numFilter: 5, noBias: true });
    const want = nd.tidy(() => nd.Convolution(x.astype('float32'), w, { kernel: [3, 3], numFilter: 5, noBias: true }).astype('bfloat16'));
    expect(y.dtype).toBe('bfloat16');
    expect(Buffer.from(f32(y).buffer).equals(Buffer.from(f32(want).buffer))).toBe(true);
    nd.dispose([x, w, y, want]);
  });
});
