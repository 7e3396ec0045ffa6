// Convolution's blocked direct path (ops/conv_blocked.cc, kernels/conv_blocked.inc: filters in the
// vector lanes), taken for float32 with enough channels and filters: forward (with bias), data and
// weight gradients under every ISA against float64 loops over the same float32 inputs, with tails of
// filter blocks, batch 1, strides (the data gradient's one phase of rows and columns at a time: a 1x1
// kernel's phases without taps, a dropped remainder), padding and a partial chunk of images; and the
// same bits at 1 and 2 threads.
import { autograd, nd } from '../lib';
import { ConvCase as Case, convReference as reference, withThreads } from './conv-reference';

const native = nd._native;
const ISAS: string[] = native.availableIsas();
const ORIGINAL = nd.backend().isa;
const U = 2 ** -24;

afterEach(() => {
  native.selectIsa(ORIGINAL);
});

const cases: [string, Case][] = [
  ['the CNN step\'s second layer, batch 3', { x: [3, 32, 13, 13], w: [64, 32, 3, 3], stride: [1, 1], pad: [0, 0] }],
  ['odd channels and filters (tail blocks), pad 1', { x: [3, 13, 9, 11], w: [21, 13, 3, 3], stride: [1, 1], pad: [1, 1] }],
  ['batch 1, 5x5, pad 2', { x: [1, 4, 12, 17], w: [17, 4, 5, 5], stride: [1, 1], pad: [2, 2] }],
  ['stride 2, pad 1', { x: [3, 8, 11, 10], w: [24, 8, 3, 3], stride: [2, 2], pad: [1, 1] }],
  ['stride 2 across, 1 down', { x: [2, 16, 7, 16], w: [16, 16, 3, 3], stride: [1, 2], pad: [0, 1] }],
  ['stride 2, 1x1 (phases without taps), 32 -> 32', { x: [2, 32, 9, 20], w: [32, 32, 1, 1], stride: [2, 2], pad: [0, 0] }],
  ['stride 2, 5x5, pad 2, odd sizes, 24 -> 20', { x: [2, 20, 13, 21], w: [24, 20, 5, 5], stride: [2, 2], pad: [2, 2] }],
  ['strides 3 down, 2 across, 4x3, pad 1 (a dropped remainder)', { x: [2, 17, 12, 19], w: [16, 17, 4, 3], stride: [3, 2], pad: [1, 1] }],
  ['17 images (a partial chunk of the weight gradient)', { x: [17, 32, 6, 6], w: [16, 32, 3, 3], stride: [1, 1], pad: [1, 1] }],
];

describe('blocked direct convolution', () => {
  test.each(cases)('%s: y, dx, dw against float64 under each ISA, the same bits at 1 and 2 threads', (_name, c) => {
    nd.random.seed(3);
    const x = nd.random.uniform(-1, 1, c.x), w = nd.random.uniform(-1, 1, c.w), b = nd.random.uniform(-1, 1, [c.w[0]]);
    const opts = { kernel: c.w.slice(2), numFilter: c.w[0], stride: c.stride, pad: c.pad };
    const head = nd.random.uniform(-1, 1, nd.Convolution(x, w, b, opts).shape);
    const ref = reference(x.toTypedArray() as Float32Array, w.toTypedArray() as Float32Array, b.toTypedArray() as Float32Array,
      head.toTypedArray() as Float32Array, c);
    const run = (): Float32Array[] =>
      nd.tidy(() => {
        const [xa, wa] = [x.copy(), w.copy()];
        xa.attachGrad();
        wa.attachGrad();
        const y = autograd.record(() => nd.Convolution(xa, wa, b, opts));
        y.backward(head);
        return [y, xa.grad!, wa.grad!].map((t) => t.toTypedArray() as Float32Array);
      });
    for (const isa of ISAS) {
      expect(native.selectIsa(isa)).toBe(true);
      const one = withThreads(1, run), two = withThreads(2, run);
      (['y', 'dx', 'dw'] as const).forEach((what, k) => {
        expect(Buffer.from(two[k].buffer).equals(Buffer.from(one[k].buffer))).toBe(true);
        const [want, mag] = ref[what], terms = ref.terms[what];
        for (let i = 0; i < want.length; i++) {
          const bound = 2 * terms * U * mag[i] + 1e-30;
          if (!(Math.abs(one[k][i] - want[i]) <= bound))
            throw new Error(`${isa} ${what}[${i}]: ${one[k][i]} vs ${want[i]} (bound ${bound})`);
        }
      });
    }
    nd.dispose([x, w, b, head]);
  });
});
