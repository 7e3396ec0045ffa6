// The bfloat16 GEMM (dot / batch_dot on bfloat16 operands): float32 sums of exact bfloat16 products,
// rounded once to bfloat16, against a float64 reference, under every kernel table this machine runs
// (vdpbf16ps under avx512 where the CPU has AVX512_BF16, the portable micro-kernel elsewhere), with
// odd sizes that leave partial tiles, odd depth (a half-filled pair) and both transposes.
import * as fs from 'fs';
import { nd, NDArray } from '../lib';

const native = nd._native;
const ISAS: string[] = native.availableIsas();
const ORIGINAL = nd.backend().isa;
const EPS32 = 2 ** -24; // float32 unit roundoff
const EPS16 = 2 ** -8; // bfloat16 unit roundoff
// Linux says whether the CPU has the instruction (elsewhere only the portable kernel is checked)
const CPU_BF16 = fs.existsSync('/proc/cpuinfo') && /\bavx512_bf16\b/.test(fs.readFileSync('/proc/cpuinfo', 'utf8'));

afterEach(() => {
  native.selectIsa(ORIGINAL);
});

function bf16(shape: number[], seed: number): NDArray {
  nd.random.seed(seed);
  return nd.tidy(() => nd.random.uniform(-2, 2, shape).astype('bfloat16'));
}

/** |y - ref| within one bfloat16 rounding of the sum plus float32 accumulation error of |a||b|. */
function expectClose(y: NDArray, a: NDArray, b: NDArray, ta: boolean, tb: boolean, k: number): void {
  nd.tidy(() => {
    const a64 = a.astype('float64'), b64 = b.astype('float64');
    const ref = nd.dot(a64, b64, { transposeA: ta, transposeB: tb });
    const mag = nd.dot(a64.abs(), b64.abs(), { transposeA: ta, transposeB: tb });
    const err = y.astype('float64').sub(ref).abs();
    const tol = ref.abs().mul(EPS16).add(mag.mul(k * EPS32 * 2)).add(1e-30);
    const worst = err.sub(tol).max().item();
    expect(worst).toBeLessThanOrEqual(0);
  });
}

describe('bfloat16 GEMM', () => {
  test('the avx512 table uses vdpbf16ps where the CPU has AVX512_BF16, other tables the portable kernel', () => {
    for (const isa of ISAS) {
      expect(native.selectIsa(isa)).toBe(true);
      const k = nd.backend().bf16Gemm;
      if (isa === 'avx512') expect(k).toBe(CPU_BF16 ? 'avx512_bf16' : 'portable');
      else expect(k).toBe('portable');
    }
  });

  const cases: [number, number, number, boolean, boolean][] = [
    [1, 1, 1, false, false],
    [13, 31, 7, false, false],
    [15, 33, 9, true, false],
    [29, 65, 130, false, true],
    [43, 47, 513, true, true],
    [14, 32, 2, false, false],
    [100, 97, 1025, false, false],
  ];
  test.each(cases)('dot (%i x %i) depth %i, transposeA %s, transposeB %s, under every ISA', (m, n, k, ta, tb) => {
    const a = bf16(ta ? [k, m] : [m, k], m * 7 + k);
    const b = bf16(tb ? [n, k] : [k, n], n * 3 + k);
    for (const isa of ISAS) {
      expect(native.selectIsa(isa)).toBe(true);
      const y = nd.dot(a, b, { transposeA: ta, transposeB: tb });
      expect(y.dtype).toBe('bfloat16');
      expect(y.shape).toEqual([m, n]);
      expectClose(y, a, b, ta, tb, k);
      y.dispose();
    }
    a.dispose();
    b.dispose();
  });

  test('large enough to be split over threads, and batch_dot', () => {
    const a = bf16([3, 70, 300], 1), b = bf16([3, 300, 90], 2);
    for (const isa of ISAS) {
      native.selectIsa(isa);
      nd.tidy(() => {
        const y = nd.batchDot(a, b);
        expect(y.dtype).toBe('bfloat16');
        for (let i = 0; i < 3; i++) expectClose(y.at(i), a.at(i), b.at(i), false, false, 300);
      });
    }
    a.dispose();
    b.dispose();
  });

  test('the same bits at 1 and 2 threads: several row blocks, depth blocks and a partial pair', () => {
    // 400 rows are two A blocks, depth 1101 three depth blocks (the last odd), 300 columns partial strips
    const a = bf16([400, 1101], 8), b = bf16([1101, 300], 9);
    for (const isa of ISAS) {
      native.selectIsa(isa);
      const run = (threads: number) => {
        const prev = native.setNumThreads(threads);
        try {
          return nd.tidy(() => nd.dot(a, b).astype('float32').toTypedArray());
        } finally {
          native.setNumThreads(prev);
        }
      };
      const one = run(1), two = run(2);
      expect(Buffer.compare(Buffer.from(one.buffer), Buffer.from(two.buffer))).toBe(0);
      nd.tidy(() => expectClose(nd.array(Array.from(one), { dtype: 'float32' }).reshape([400, 300]), a, b, false, false, 1101));
    }
    nd.dispose([a, b]);
  });

  test('the sums are rounded as astype rounds float32 (ties to even, overflow, NaN, Inf), under every ISA', () => {
    // C = [1, 1] . [x; y] = x + y, exact in float32: only the rounding to bfloat16 can differ
    const max = (2 - 2 ** -7) * 2 ** 127; // the largest finite bfloat16
    const pairs = [
      [1, 2 ** -8], [1 + 2 ** -7, 2 ** -8], [1, 3 * 2 ** -9], [-1, -(2 ** -8)], [1.5, 2 ** -9], [NaN, 1],
      [Infinity, 1], [-Infinity, 1], [max, 2 ** 119], [max, 2 ** 118], [-max, -(2 ** 119)], [0, 0], [3, 2 ** -6],
    ];
    const n = 37; // two full vectors of 16 and a tail
    const cols = Array.from({ length: n }, (_, j) => pairs[j % pairs.length]);
    nd.tidy(() => {
      const a = nd.ones([5, 2], { dtype: 'bfloat16' });
      const b = nd.array([cols.map((p) => p[0]), cols.map((p) => p[1])], { dtype: 'bfloat16' });
      const want = Array.from(nd.dot(a.astype('float32'), b.astype('float32')).astype('bfloat16').astype('float32').toTypedArray());
      expect(want.slice(0, 4)).toEqual([1, 1 + 2 ** -6, 1 + 2 ** -7, -1]); // the pairs mean what they say
      expect(want[8]).toBe(Infinity);
      for (const isa of ISAS) {
        native.selectIsa(isa);
        expect(Array.from(nd.dot(a, b).astype('float32').toTypedArray())).toEqual(want);
      }
    });
  });

  test('NaN and Inf propagate; an empty depth gives zeros', () => {
    nd.tidy(() => {
      const a = nd.array([[1, NaN], [Infinity, 1]], { dtype: 'bfloat16' });
      const b = nd.array([[1, 2], [3, 4]], { dtype: 'bfloat16' });
      const y = nd.dot(a, b).toArray() as number[][];
      expect(y[0][0]).toBeNaN();
      expect(y[1][0]).toBe(Infinity);
      const e = nd.dot(nd.zeros([2, 0], { dtype: 'bfloat16' }), nd.zeros([0, 3], { dtype: 'bfloat16' }));
      expect(e.toArray()).toEqual([[0, 0, 0], [0, 0, 0]]);
    });
  });

  test('FullyConnected on bfloat16 x, weight and bias, under every ISA', () => {
    const x = bf16([37, 3, 5, 7], 3), w = bf16([45, 105], 4), b = bf16([45], 5);
    for (const isa of ISAS) {
      native.selectIsa(isa);
      nd.tidy(() => {
        const y = nd.FullyConnected(x, w, b, { numHidden: 45 });
        expect(y.dtype).toBe('bfloat16');
        // the bias is one more term of each sum: a column of ones against it
        const x1 = nd.concat([x.reshape([37, 105]), nd.ones([37, 1], { dtype: 'bfloat16' })], { dim: 1 });
        const w1 = nd.concat([w, b.reshape([45, 1])], { dim: 1 });
        expectClose(y, x1, w1, false, true, 106);
      });
    }
    nd.dispose([x, w, b]);
  });

  test('bfloat16 mixed with float32 operands computes in float32 and gives bfloat16', () => {
    nd.tidy(() => {
      const a = bf16([3, 4], 1), b = nd.random.uniform(-1, 1, [4, 5]);
      const y = nd.dot(a, b);
      expect(y.dtype).toBe('bfloat16');
      expect(y.toArray()).toEqual(nd.dot(a.astype('float32'), b).astype('bfloat16').toArray());
    });
  });
});
