// The SIMD kernels (AVX2+FMA, AVX-512, NEON: whatever this machine runs) agree with the scalar
// reference, with tolerances that allow for FMA contraction and a different summation order.
import { execFileSync } from 'child_process';
import * as path from 'path';
import { autograd, nd, NDArray } from '../lib';
import { binaryRows, jsName, unaryRows } from './op-defs';

const native = nd._native;
const ISAS = native.availableIsas();
const SIMD = ISAS.filter((i) => i !== 'scalar');
const ORIGINAL = nd.backend().isa;
const EPS = 2 ** -23; // float32 machine epsilon
const SIZES = [1, 7, 17, 1023, 4099];

afterEach(() => {
  native.selectIsa(ORIGINAL);
});
afterAll(() => {
  expect(nd.backend().isa).toBe(ORIGINAL);
});

/** Runs f under each ISA and returns the results (as Float32Arrays) by ISA name. */
function underEachIsa(f: () => NDArray): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const isa of ISAS) {
    expect(native.selectIsa(isa)).toBe(true);
    expect(nd.backend().isa).toBe(isa);
    const r = f();
    out[isa] = r.toTypedArray() as Float32Array;
    r.dispose();
  }
  native.selectIsa(ORIGINAL);
  return out;
}

/** Deterministic float32 data in [lo, hi). */
function data(n: number, lo: number, hi: number, seed: number): NDArray {
  nd.random.seed(seed);
  return nd.random.uniform(lo, hi, [n]);
}

function compare(res: Record<string, Float32Array>, tol: (i: number, ref: number) => number, what: string): void {
  const ref = res.scalar;
  for (const isa of SIMD) {
    const got = res[isa];
    expect(got.length).toBe(ref.length);
    for (let i = 0; i < ref.length; i++) {
      const r = ref[i];
      const g = got[i];
      if (Number.isNaN(r) && Number.isNaN(g)) continue;
      if (r === g) continue;
      const d = Math.abs(r - g);
      if (!(d <= tol(i, r))) throw new Error(`${what} [${isa}] element ${i}: scalar ${r}, ${isa} ${g} (diff ${d}, tol ${tol(i, r)})`);
    }
  }
}

test('this machine has the expected kernel tables', () => {
  expect(ISAS[0]).toBe('scalar');
  expect(ISAS).toContain(ORIGINAL);
  // Where the OS lists the CPU's flags, every table the CPU can run must be offered.
  const flags = (() => {
    try {
      return require('fs').readFileSync('/proc/cpuinfo', 'utf8') as string;
    } catch {
      return '';
    }
  })();
  if (process.arch === 'x64' && / avx2 /.test(flags) && / fma /.test(flags)) expect(ISAS).toContain('avx2');
  if (process.arch === 'x64' && ['avx512f', 'avx512bw', 'avx512dq', 'avx512vl'].every((f) => flags.includes(` ${f} `)))
    expect(ISAS).toContain('avx512');
  expect(native.selectIsa('no-such-isa')).toBe(false);
  expect(nd.backend().isa).toBe(ORIGINAL);
});

// Inputs per op inside its domain: the `lo, hi` columns of native/src/defs/*.def.
const UNARY_ROWS = unaryRows();
const BINARY_ROWS = binaryRows();

describe.each(UNARY_ROWS.map((r) => [r.name, r]))('unary %s', (op, row) => {
  test.each(SIZES)('n = %i', (n) => {
    const [lo, hi] = row.range;
    const x = data(n, lo, hi, 1000 + n);
    const res = underEachIsa(() => (nd as any)[jsName(row)](x));
    // a few ulps of the result, plus a few ulps of the input's scale for results near 0
    const scale = Math.max(Math.abs(lo), Math.abs(hi));
    compare(res, (_i, r) => 8 * EPS * Math.abs(r) + 4 * EPS * Math.min(1, scale), `${op} n=${n}`);
    x.dispose();
  });
});

describe.each(BINARY_ROWS.map((r) => [r.name, r]))('binary %s', (op, row) => {
  const fn = (nd as any)[jsName(row)];
  const [alo, ahi, blo, bhi] = row.range;
  // comparisons need exact ties sometimes: round the inputs so equal values occur
  const round = op.includes('equal') ? (x: NDArray) => x.round() : (x: NDArray) => x;
  // mod is computed as a - floor(a/b)*b: a rounding flip of a/b near an integer changes the result by b.
  const tol = (r: number) => (op === 'mod' ? 8 * EPS * 20 : op === 'power' ? 16 * EPS * Math.abs(r) + 1e-30 : 4 * EPS * Math.abs(r));

  test.each(SIZES)('contiguous, n = %i', (n) => {
    const a = round(data(n, alo, ahi, 1 + n));
    const b = round(data(n, blo, bhi, 2 + n));
    compare(underEachIsa(() => fn(a, b)), (_i, r) => tol(r), `${op} n=${n}`);
    // a number on either side (stride-0 operand)
    compare(underEachIsa(() => fn(a, 1.5)), (_i, r) => tol(r), `${op} n=${n} scalar right`);
    compare(underEachIsa(() => fn(op === 'power' ? 1.5 : -1.5, b)), (_i, r) => tol(r), `${op} n=${n} scalar left`);
    nd.dispose([a, b]);
  });

  test.each(SIZES)('non-contiguous broadcasts, n = %i', (n) => {
    const a = round(data(n, alo, ahi, 3 + n)).reshape(n, 1);
    const b = round(data(5, blo, bhi, 4 + n)).reshape(1, 5);
    compare(underEachIsa(() => fn(a, b)), (_i, r) => tol(r), `${op} [${n},1] x [1,5]`);
    const c = round(data(3 * n, alo, ahi, 5 + n)).reshape(3, 1, n);
    const d = round(data(2 * n, blo, bhi, 6 + n)).reshape(2, n);
    compare(underEachIsa(() => fn(c, d)), (_i, r) => tol(r), `${op} [3,1,${n}] x [2,${n}]`);
    // a transposed (strided) operand
    const e = round(data(4 * n, alo, ahi, 7 + n)).reshape(n, 4);
    const f = round(data(4 * n, blo, bhi, 8 + n)).reshape(4, n);
    compare(underEachIsa(() => fn(e.T, f)), (_i, r) => tol(r), `${op} transpose`);
    nd.dispose([a, b, c, d, e, f]);
  });
});

describe.each(['sum', 'mean', 'prod', 'max', 'min', 'norm', 'argmax', 'argmin'])('reduce %s', (op) => {
  const [lo, hi] = op === 'prod' ? [0.999, 1.001] : [-3, 3];
  test.each(SIZES)('n = %i, every axis', (n) => {
    const flat = data(n * 6, lo, hi, 77 + n);
    const shapes: number[][] = [[6 * n], [6, n], [n, 6], [2, n, 3]];
    for (const shape of shapes) {
      const x = flat.reshape(shape);
      const absx = x.abs();
      const axes: (number | undefined)[] = [undefined, ...shape.map((_, i) => i)];
      for (const axis of axes) {
        const res = underEachIsa(() => (nd as any)[op](x, axis === undefined ? {} : { axis }));
        // summation-order bound: 2 (n-1) eps sum|x| along the reduced axis (norm: of x^2)
        const len = axis === undefined ? x.size : shape[axis];
        const bound = (axis === undefined ? absx.sum() : absx.sum({ axis })).toTypedArray();
        const maxAbs = Math.max(Math.abs(lo), Math.abs(hi));
        const tol = (i: number, r: number) => {
          if (op === 'max' || op === 'min' || op.startsWith('arg')) return 0;
          if (op === 'prod') return 4 * len * EPS * Math.abs(r);
          if (op === 'norm') return 4 * len * EPS * maxAbs * maxAbs + 8 * EPS * Math.abs(r);
          const s = bound[i] * 2 * len * EPS + 4 * EPS * Math.abs(r);
          return op === 'mean' ? s / len + 4 * EPS * Math.abs(r) : s;
        };
        compare(res, tol, `${op} shape [${shape}] axis ${axis}`);
      }
      absx.dispose();
    }
    flat.dispose();
  });
});

describe('dot', () => {
  const CASES: [number, number, number][] = [
    [1, 1, 1], [7, 17, 1], [17, 7, 23], [1, 1023, 7], [1, 777, 513], [33, 65, 17], [64, 64, 64], [129, 31, 70], [4099, 3, 5], [5, 4099, 3],
  ];
  test.each(CASES)('[%i x %i] @ [.. x %i] with and without transposes', (m, k, n) => {
    const a = data(m * k, -1, 1, m * 7 + k).reshape(m, k);
    const b = data(k * n, -1, 1, n * 11 + k).reshape(k, n);
    const aT = a.T.copy();
    const bT = b.T.copy();
    // |C - C'| <= 2 k eps sum_p |a_ip| |b_pj|
    const bound = nd.dot(a.abs(), b.abs()).toTypedArray();
    const tol = (i: number, r: number) => 2 * k * EPS * bound[i] + 2 * EPS * Math.abs(r);
    compare(underEachIsa(() => nd.dot(a, b)), tol, `dot ${m}x${k}x${n}`);
    compare(underEachIsa(() => nd.dot(aT, b, { transposeA: true })), tol, `dot^T_a ${m}x${k}x${n}`);
    compare(underEachIsa(() => nd.dot(a, bT, { transposeB: true })), tol, `dot^T_b ${m}x${k}x${n}`);
    compare(underEachIsa(() => nd.dot(aT, bT, { transposeA: true, transposeB: true })), tol, `dot^T_ab ${m}x${k}x${n}`);
    nd.dispose([a, b, aT, bT]);
  });

  test('vector . vector and matrix . vector', () => {
    for (const n of SIZES) {
      const u = data(n, -1, 1, n);
      const v = data(n, -1, 1, n + 1);
      const bound = u.abs().mul(v.abs()).sum().item();
      compare(underEachIsa(() => nd.dot(u, v)), () => 2 * n * EPS * bound + 1e-30, `vdot ${n}`);
      const M = data(3 * n, -1, 1, n + 2).reshape(3, n);
      const mb = nd.dot(M.abs(), v.abs()).toTypedArray();
      compare(underEachIsa(() => nd.dot(M, v)), (i) => 2 * n * EPS * mb[i] + 1e-30, `mv ${n}`);
      nd.dispose([u, v, M]);
    }
  });
});

describe('environment variables (child processes)', () => {
  const loader = path.join(__dirname, 'fixtures', 'load-lib.js');
  const run = (env: Record<string, string>) =>
    JSON.parse(
      execFileSync(process.execPath, ['-e', `const {nd}=require(${JSON.stringify(loader)}); console.log(JSON.stringify(nd.backend()))`], {
        env: { ...process.env, ...env },
        encoding: 'utf8',
      }).trim(),
    );

  test('NDGRAD_ISA=scalar gives backend().isa === "scalar"', () => {
    expect(run({ NDGRAD_ISA: 'scalar' }).isa).toBe('scalar');
  });

  test.each(SIMD)('NDGRAD_ISA=%s is honoured', (isa) => {
    expect(run({ NDGRAD_ISA: isa }).isa).toBe(isa);
  });

  test('without NDGRAD_ISA the best table is chosen', () => {
    const env = { ...process.env };
    delete env.NDGRAD_ISA;
    const out = JSON.parse(
      execFileSync(process.execPath, ['-e', `const {nd}=require(${JSON.stringify(loader)}); console.log(JSON.stringify(nd.backend()))`], {
        env,
        encoding: 'utf8',
      }).trim(),
    );
    expect(out.isa).toBe(ISAS[ISAS.length - 1]);
  });

  test('NDGRAD_NUM_THREADS sets the pool size', () => {
    expect(run({ NDGRAD_NUM_THREADS: '1' }).threads).toBe(1);
    expect(run({ NDGRAD_NUM_THREADS: '3' }).threads).toBe(3);
  });
});

describe('large outputs (non-temporal stores above 4M floats)', () => {
  const N = (1 << 22) + 37;
  test.each([1, 2])('exp, add, mul by a number agree with scalar at %i thread(s)', (threads) => {
    const prev = native.setNumThreads(threads);
    try {
      const x = data(N, -4, 4, 11);
      const y = data(N, -4, 4, 12);
      compare(underEachIsa(() => nd.exp(x)), (_i, r) => 4 * EPS * Math.abs(r), 'exp');
      compare(underEachIsa(() => nd.add(x, y)), () => 0, 'add');
      compare(underEachIsa(() => nd.multiply(x, 3)), () => 0, 'mul');
      // an output view that is not vector-aligned takes the ordinary store path
      const big = nd.zeros([2, N]);
      const out = big.at(1); // starts 4*N bytes in: not a multiple of the vector size
      compare(
        underEachIsa(() => {
          nd.add(x, y, { out });
          return out.copy();
        }),
        () => 0,
        'add out',
      );
      nd.dispose([x, y, big, out]);
    } finally {
      native.setNumThreads(prev);
    }
  });
});

// Activation's relu / sigmoid / tanh run the elementwise ops' kernels: the same values as those ops
// under every ISA, and the SIMD ones within the unary tolerance of the scalar reference.
describe.each(['relu', 'sigmoid', 'tanh'] as const)('Activation %s', (act) => {
  test.each(SIZES)('n = %i', (n) => {
    const x = data(n, -8, 8, 500 + n);
    const res = underEachIsa(() => nd.Activation(x, { actType: act }));
    compare(res, (_i, r) => 8 * EPS * Math.abs(r) + 4 * EPS, `Activation ${act} n=${n}`);
    for (const isa of ISAS) {
      native.selectIsa(isa);
      const same = (nd as any)[act](x);
      expect(Array.from(res[isa])).toEqual(Array.from(same.toTypedArray()));
      same.dispose();
    }
    x.dispose();
  });
});

// The direct convolution kernels (2-D float32, stride 1; scalar runs im2col + GEMM, the reference):
// forward (with a bias), data and weight gradients, with odd sizes, pads, groups, rows of several vectors and
// batches that leave a partial chunk of images. Tolerance: both sides are sums of the same products
// in different orders, each within n eps sum|products|, which the same op on |x|, |w| gives.
describe('direct convolution', () => {
  const cases: [string, number[], number[], { pad?: number[]; numGroup?: number }][] = [
    ['LeNet conv1', [19, 1, 28, 28], [6, 1, 5, 5], { pad: [2, 2] }],
    ['LeNet conv2', [17, 6, 14, 14], [16, 6, 5, 5], {}],
    ['3x3 pad 1, odd channels', [3, 3, 9, 11], [7, 3, 3, 3], { pad: [1, 1] }],
    ['wide rows (several tiles)', [2, 2, 5, 75], [5, 2, 2, 4], { pad: [1, 3] }],
    ['1x1', [3, 5, 4, 3], [9, 5, 1, 1], {}],
    ['tall kernel 7x1, kw 8', [2, 2, 10, 12], [3, 2, 7, 8], { pad: [3, 0] }],
    ['groups', [4, 6, 8, 9], [9, 2, 3, 2], { pad: [2, 1], numGroup: 3 }],
  ];
  test.each(cases)('%s', (_name, xs, ws, o) => {
    nd.random.seed(7);
    const x = nd.random.uniform(-1, 1, xs), w = nd.random.uniform(-1, 1, ws), bias = nd.random.uniform(-1, 1, [ws[0]]);
    const biasAbs = bias.abs();
    const opts = { kernel: ws.slice(2), numFilter: ws[0], ...o };
    const y0 = nd.Convolution(x, w, bias, opts);
    const dy = nd.random.uniform(-1, 1, y0.shape);
    const run = (a: NDArray, b: NDArray, head: NDArray) => {
      const [ag, bg] = [a.copy(), b.copy()];
      ag.attachGrad();
      bg.attachGrad();
      const y = autograd.record(() => nd.Convolution(ag, bg, a === x ? bias : biasAbs, opts));
      y.backward(head);
      return [y, ag.grad!, bg.grad!].map((t) => t.copy());
    };
    for (const threads of [1, 2]) {
      const prev = native.setNumThreads(threads);
      try {
        const bound = run(x.abs(), w.abs(), dy.abs()).map((t) => t.toTypedArray());
        // terms per output: C/G*kh*kw (y), F/G*kh*kw (dx), N*OH*OW (dw)
        const terms = [(xs[1] / (o.numGroup ?? 1)) * ws[2] * ws[3], (ws[0] / (o.numGroup ?? 1)) * ws[2] * ws[3], xs[0] * y0.size / (xs[0] * ws[0])];
        ['y', 'dx', 'dw'].forEach((what, k) => {
          const res: Record<string, Float32Array> = {};
          for (const isa of ISAS) {
            native.selectIsa(isa);
            const outs = run(x, w, dy);
            res[isa] = outs[k].toTypedArray() as Float32Array;
            nd.dispose(outs);
          }
          native.selectIsa(ORIGINAL);
          compare(res, (i) => 2 * terms[k] * EPS * bound[k][i] + 1e-30, `${_name} ${what} (${threads} threads)`);
        });
      } finally {
        native.setNumThreads(prev);
      }
    }
    nd.dispose([x, w, bias, biasAbs, y0, dy]);
  });

  test('non-finite inputs reach only the outputs they feed', () => {
    const x = nd.ones([2, 2, 6, 20]);
    const w = nd.ones([3, 2, 3, 3]);
    const xv = x.toTypedArray() as Float32Array;
    xv[1 * 120 + 3 * 20 + 19] = Infinity; // image 0, channel 1, row 3, last column
    const xi = nd.array(xv).reshape([2, 2, 6, 20]);
    const opts = { kernel: [3, 3], numFilter: 3, noBias: true, pad: [1, 1] };
    const res = underEachIsa(() => nd.Convolution(xi, w, opts));
    compare(res, () => 0, 'Convolution with an infinity');
    const [ag, wg] = [xi.copy(), w.copy()];
    wg.attachGrad();
    ag.attachGrad();
    const gw = underEachIsa(() => {
      autograd.record(() => nd.Convolution(ag, wg, opts)).backward();
      return wg.grad!.copy();
    });
    compare(gw, () => 0, 'weight gradient with an infinity');
    // channel 0's weights never meet the infinity
    for (const isa of ISAS) expect(Array.from(gw[isa].slice(0, 9)).every(Number.isFinite)).toBe(true);
    nd.dispose([x, w, xi, ag, wg]);
  });
});
