// relu(FullyConnected(...)) as one op (_fc_relu: nd.FullyConnected's internal `act: 'relu'`, taken by
// Gluon's Dense with activation 'relu'): the ReLU applied to the product while it is in cache, its mask
// read from the saved output in backward (_relu_mask). The same bits as FullyConnected followed by
// relu, values and gradients, under every ISA and float dtype; float64 gradients against finite
// differences; one node on the tape.
import { autograd, gluon, nd, NDArray } from '../lib';
import { check, checkSecondOrder, float64Bits, isasRestoredAfterEach } from './helpers';

const native = nd._native;
const ISAS = isasRestoredAfterEach();
const bits = float64Bits;

interface Case {
  x: number[];
  w: number[];
  noBias?: boolean;
  flatten?: boolean;
}
const cases: [string, Case][] = [
  ['an MLP layer (128 x 784 -> 64)', { x: [128, 784], w: [64, 784] }],
  ['odd sizes (5 x 37 -> 23)', { x: [5, 37], w: [23, 37] }],
  ['flattened 3-D input, no bias', { x: [3, 4, 5], w: [7, 20], noBias: true }],
  ['last axis only (flatten false)', { x: [3, 4, 5], w: [6, 5], flatten: false }],
];

describe('FullyConnected with a fused ReLU', () => {
  test.each(cases)('%s: the bits of FullyConnected + relu (values and gradients) under each ISA and dtype', (_name, c) => {
    const opts = { numHidden: c.w[0], flatten: c.flatten ?? true };
    for (const dtype of ['float32', 'bfloat16', 'float64'] as const) {
      nd.random.seed(21);
      const shapes = c.noBias ? [c.x, c.w] : [c.x, c.w, [c.w[0]]];
      const arrays = shapes.map((s) => nd.keep(nd.tidy(() => nd.random.uniform(-1, 1, s).astype(dtype))));
      const fc = (a: NDArray[], act: 'relu' | null): NDArray =>
        a.length === 3 ? nd.FullyConnected(a[0], a[1], a[2], { ...opts, act }) : nd.FullyConnected(a[0], a[1], { ...opts, noBias: true, act });
      const head = nd.keep(nd.tidy(() => nd.random.uniform(-1, 1, fc(arrays, null).shape).astype(dtype)));
      const run = (fused: boolean): Buffer[] =>
        nd.tidy(() => {
          const copies = arrays.map((a) => a.copy());
          for (const a of copies) a.attachGrad();
          const y = autograd.record(() => (fused ? fc(copies, 'relu') : nd.relu(fc(copies, null))));
          y.backward(head);
          expect(y.dtype).toBe(dtype);
          return [y, ...copies.map((a) => a.grad!)].map(bits);
        });
      for (const isa of ISAS) {
        expect(native.selectIsa(isa)).toBe(true);
        const want = run(false), got = run(true);
        got.forEach((g, k) => expect(g.equals(want[k])).toBe(true));
        // the ReLU did something: some outputs are zero, some positive
        const y = nd.tidy(() => fc(arrays, 'relu').astype('float64').toTypedArray() as Float64Array);
        expect(y.some((v) => v === 0) && y.some((v) => v > 0)).toBe(true);
      }
      nd.dispose([...arrays, head]);
    }
  });

  test('NaN and both zeros come out as relu makes them', () => {
    nd.tidy(() => {
      const x = nd.array([[1, 0], [0, 1], [1, 1]]);
      const w = nd.array([[NaN, 0], [-0, 0], [-1, 0], [2, 0]]);
      const y = nd.FullyConnected(x, w, { noBias: true, act: 'relu' });
      expect(bits(y).equals(bits(nd.relu(nd.FullyConnected(x, w, { noBias: true }))))).toBe(true);
    });
  });

  test('float64 gradients of x, weight and bias, and second order, against finite differences (away from the kink)', () => {
    nd.random.seed(22);
    const x = nd.random.uniform(-1, 1, [4, 6]).astype('float64'), w = nd.random.uniform(-1, 1, [5, 6]).astype('float64');
    const b = nd.random.uniform(-1, 1, [5]).astype('float64');
    const z = nd.FullyConnected(x, w, b).toTypedArray() as Float64Array;
    expect(Math.min(...Array.from(z, Math.abs))).toBeGreaterThan(1e-4); // no output within the differences' reach of 0
    check((xa, wa, ba) => nd.FullyConnected(xa, wa, ba, { act: 'relu' }), [x, w, b]);
    checkSecondOrder((xa) => nd.FullyConnected(xa, w, b, { act: 'relu' }), x); // createGraph through the mask and the products
    nd.dispose([x, w, b]);
  });

  test('one node on the tape; Gluon Dense with activation relu records it; other activations follow the product', () => {
    nd.random.seed(23);
    const x = nd.random.uniform(-1, 1, [3, 8]);
    const ops = (y: NDArray): string[] => autograd.getSymbol(y).toJSON().nodes.map((n: { op: string }) => n.op).filter((o: string) => !['null', 'variable', 'constant'].includes(o));
    const relu = new gluon.nn.Dense(4, { activation: 'relu', inUnits: 8 }), tanh = new gluon.nn.Dense(4, { activation: 'tanh', inUnits: 8 });
    const plain = new gluon.nn.Dense(4, { activation: 'relu', inUnits: 8, useBias: false });
    for (const l of [relu, tanh, plain]) l.initialize();
    nd.tidy(() => {
      const a = autograd.record(() => relu.forward(x) as NDArray), t = autograd.record(() => tanh.forward(x) as NDArray);
      expect(ops(a)).toEqual(['_fc_relu']);
      expect(ops(t)).toEqual(['FullyConnected', 'Activation']);
      const want = nd.relu(nd.FullyConnected(x, relu.weight.data(), relu.bias!.data()));
      expect(bits(a).equals(bits(want))).toBe(true);
      const p = plain.forward(x) as NDArray;
      expect(bits(p).equals(bits(nd.relu(nd.FullyConnected(x, plain.weight.data(), { noBias: true }))))).toBe(true);
    });
    expect(() => nd.FullyConnected(x, x, { noBias: true, act: 'tanh' as never })).toThrow(/act must be 'relu'/);
    x.dispose();
  });
});
