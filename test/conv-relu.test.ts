// relu(Convolution(...)) as one op (_conv_relu: nd.Convolution's internal `act: 'relu'`, taken by
// Gluon's Conv2D with activation 'relu'): the ReLU in the convolution's output pass, its mask read
// from the saved output in backward. The same bits as Convolution followed by relu, values and
// gradients, under every ISA and on each kernel path (blocked, direct, im2col, bfloat16); float64
// gradients against finite differences; one node on the tape.
import { autograd, gluon, nd, NDArray } from '../lib';
import { check, checkSecondOrder, float64Bits, isasRestoredAfterEach } from './helpers';

const native = nd._native;
const ISAS = isasRestoredAfterEach();
const bits = float64Bits;

interface Case {
  x: number[];
  w: number[];
  stride?: number[];
  pad?: number[];
  dilate?: number[];
  numGroup?: number;
}
const cases: [string, Case][] = [
  ['blocked (32 -> 64 on 13x13)', { x: [2, 32, 13, 13], w: [64, 32, 3, 3] }],
  ['direct (one channel, 28x28)', { x: [2, 1, 28, 28], w: [32, 1, 3, 3] }],
  ['tail blocks, stride 2, pad 1', { x: [2, 13, 9, 11], w: [21, 13, 3, 3], stride: [2, 2], pad: [1, 1] }],
  ['im2col (dilated, grouped)', { x: [2, 4, 9, 9], w: [6, 2, 3, 3], dilate: [2, 2], numGroup: 2 }],
];

describe('Convolution with a fused ReLU', () => {
  test.each(cases)('%s: the bits of Convolution + relu (values and gradients) under each ISA and dtype', (_name, c) => {
    const opts = { kernel: c.w.slice(2), numFilter: c.w[0], stride: c.stride, pad: c.pad, dilate: c.dilate, numGroup: c.numGroup ?? 1 };
    for (const dtype of ['float32', 'bfloat16', 'float64'] as const) {
      nd.random.seed(11);
      const [x, w, b] = [c.x, c.w, [c.w[0]]].map((s) => nd.keep(nd.tidy(() => nd.random.uniform(-1, 1, s).astype(dtype))));
      const head = nd.keep(nd.tidy(() => nd.random.uniform(-1, 1, nd.Convolution(x, w, b, opts).shape).astype(dtype)));
      const run = (fused: boolean): Buffer[] =>
        nd.tidy(() => {
          const [xa, wa, ba] = [x.copy(), w.copy(), b.copy()];
          for (const a of [xa, wa, ba]) a.attachGrad();
          const y = autograd.record(() => (fused ? nd.Convolution(xa, wa, ba, { ...opts, act: 'relu' }) : nd.relu(nd.Convolution(xa, wa, ba, opts))));
          y.backward(head);
          expect(y.dtype).toBe(dtype);
          return [y, xa.grad!, wa.grad!, ba.grad!].map(bits);
        });
      for (const isa of ISAS) {
        expect(native.selectIsa(isa)).toBe(true);
        const want = run(false), got = run(true);
        got.forEach((g, k) => expect(g.equals(want[k])).toBe(true));
        // the ReLU did something: some outputs are zero, some positive
        const y = nd.tidy(() => nd.Convolution(x, w, b, { ...opts, act: 'relu' }).astype('float64').toTypedArray() as Float64Array);
        expect(y.some((v) => v === 0) && y.some((v) => v > 0)).toBe(true);
      }
      nd.dispose([x, w, b, head]);
    }
  });

  test('float64 gradients of x, weight and bias, and second order, against finite differences (away from the kink)', () => {
    nd.random.seed(12);
    const x = nd.random.uniform(-1, 1, [2, 3, 6, 7]).astype('float64'), w = nd.random.uniform(-1, 1, [5, 3, 3, 3]).astype('float64');
    const b = nd.random.uniform(-1, 1, [5]).astype('float64');
    const opts = { kernel: [3, 3], numFilter: 5, pad: [1, 1], act: 'relu' as const };
    const z = nd.Convolution(x, w, b, { ...opts, act: null }).toTypedArray() as Float64Array;
    expect(Math.min(...Array.from(z, Math.abs))).toBeGreaterThan(1e-4); // no output within the differences' reach of 0
    check((xa, wa, ba) => nd.Convolution(xa, wa, ba, opts), [x, w, b]);
    checkSecondOrder((xa) => nd.Convolution(xa, w, b, opts), x); // createGraph through the mask and the gradient ops
    nd.dispose([x, w, b]);
  });

  test('one node on the tape; Gluon Conv2D with activation relu records it; other activations follow the convolution', () => {
    nd.random.seed(13);
    const x = nd.random.uniform(-1, 1, [1, 2, 5, 5]);
    const ops = (y: NDArray): string[] => autograd.getSymbol(y).toJSON().nodes.map((n: { op: string }) => n.op).filter((o: string) => !['null', 'variable', 'constant'].includes(o));
    const relu = new gluon.nn.Conv2D(4, 3, { activation: 'relu', inChannels: 2 }), tanh = new gluon.nn.Conv2D(4, 3, { activation: 'tanh', inChannels: 2 });
    relu.initialize();
    tanh.initialize();
    nd.tidy(() => {
      const a = autograd.record(() => relu.forward(x) as NDArray), t = autograd.record(() => tanh.forward(x) as NDArray);
      expect(ops(a)).toEqual(['_conv_relu']);
      expect(ops(t)).toEqual(['Convolution', 'Activation']);
      const want = nd.relu(nd.Convolution(x, relu.weight.data(), relu.bias!.data(), { kernel: [3, 3], numFilter: 4 }));
      expect(bits(a).equals(bits(want))).toBe(true);
    });
    expect(() => nd.Convolution(x, x, { kernel: [3, 3], noBias: true, act: 'tanh' as never })).toThrow(/act must be 'relu'/);
    relu.dispose?.();
    tanh.dispose?.();
    x.dispose();
  });
});
