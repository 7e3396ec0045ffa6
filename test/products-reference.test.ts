// Float32 products (dot, batchDot, FullyConnected, Convolution and their gradients) against an
// independent float64 reference: plain JS loops over the same float32 inputs, sharing nothing with
// ndgrad's GEMM driver or kernels. Sizes cross every blocking boundary of the GEMM (MC 192, KC 256,
// NC 3072 and the MR x NR tile edges of every ISA: 4x8 scalar, 6x16 AVX2, 8x32 AVX-512, 8x8 NEON),
// the deep-product chunks, the threading splits, and one-row (matrix-vector) products up to K = 2^20.
//
// The error bound is that of a blocked float32 sum, derived, not fitted to what the code gives:
// a sum of K terms computed in blocks of at most B terms (each block summed in float32, the block
// sums then added one after another) puts at most d = B + ceil(K / B) float32 roundings on any one
// term (K when K <= B); pairwise or double-precision combination of the blocks only lowers d. So
// |computed - exact| <= gamma_d * sum |a_i b_i| with gamma_d = d u / (1 - d u), u = 2^-24 (Higham,
// Accuracy and Stability of Numerical Algorithms, 2nd ed., eqs. 3.4-3.5 and section 4.2).
// B = 512 is the largest block a BLAS-style float32 kernel keeps in one accumulator (BLIS/OpenBLAS
// KC is 256-512; NumPy's pairwise sum uses blocks of 128). d gets +4: the rounding of the product
// itself (none with FMA), combining up to four partial accumulators (2), and the final rounding to
// float32 (1). A sum that accumulates K terms one at a time in float32 has d = K, and the data of
// the one-row cases below (large terms first, then terms below half an ulp of the running sum:
// stagnation) make it lose all the small terms, several times the bound.
import { nd, autograd, NDArray } from '../lib';

const native = nd._native;
// Hot loops read Math.abs through a local: a global lookup inside jest's vm context is ~50x slower.
const abs = Math.abs;
const U = 2 ** -24; // unit roundoff of float32
const BLOCK = 512;

function gamma(K: number): number {
  const d = (K <= BLOCK ? K : BLOCK + Math.ceil(K / BLOCK)) + 4;
  return (d * U) / (1 - d * U);
}

/** Deterministic float32 values in [lo, hi) from a seeded xorshift (independent of ndgrad's RNG). */
function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = lo + ((hi - lo) * s) / 4294967296;
  }
  return out;
}

/** Stagnation data: the first `big` entries 2^12 (products 2^24), the rest in [0.5, 1). */
function stagnating(n: number, seed: number, big = 64): Float32Array {
  const out = rand(n, seed, 0.5, 1);
  for (let i = 0; i < Math.min(big, n); i++) out[i] = 4096;
  return out;
}

const arr = (data: Float32Array, shape: number[]): NDArray => nd.array(data).reshape(shape);
const f32 = (x: NDArray): Float32Array => x.toTypedArray() as Float32Array;

interface Ref {
  val: Float64Array;
  mag: Float64Array; // sum |a_i b_i| of each element: the scale of the bound
  K: number;
}

/** C[i, j] = sum_p A(i, p) B(p, j) in float64; A(i, p) = a[i*ai + p*ap], B(p, j) = b[p*bp + j*bj]. */
function refProduct(m: number, n: number, k: number, a: Float32Array, ai: number, ap: number, b: Float32Array, bp: number, bj: number): Ref {
  const bc = new Float64Array(k * n); // B as contiguous [k, n] so the inner loop runs along j
  for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) bc[p * n + j] = b[p * bp + j * bj];
  const val = new Float64Array(m * n);
  const mag = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    const o = i * n;
    for (let p = 0; p < k; p++) {
      const av = a[i * ai + p * ap];
      const bo = p * n;
      for (let j = 0; j < n; j++) {
        const t = av * bc[bo + j];
        val[o + j] += t;
        mag[o + j] += abs(t);
      }
    }
  }
  return { val, mag, K: k };
}

/** op(A) op(B) for row-major A and B with transpose flags, as nd.dot reads them. */
function refDot(a: Float32Array, b: Float32Array, m: number, k: number, n: number, ta = false, tb = false): Ref {
  return refProduct(m, n, k, a, ta ? 1 : k, ta ? m : 1, b, tb ? 1 : n, tb ? k : 1);
}

/** Throws (naming the first element outside it) unless every element is within the bound. */
function expectWithin(what: string, got: Float32Array, ref: Ref, extraTerms = 0): void {
  expect(got.length).toBe(ref.val.length);
  const g = gamma(ref.K + extraTerms);
  for (let i = 0; i < got.length; i++) {
    const err = abs(got[i] - ref.val[i]);
    const bound = g * ref.mag[i];
    if (!(err <= bound))
      throw new Error(
        `${what}: element ${i} = ${got[i]}, float64 reference ${ref.val[i]}: error ${err.toExponential(3)} > bound ` +
          `${bound.toExponential(3)} (K = ${ref.K}, sum |a b| = ${ref.mag[i].toExponential(3)}, ` +
          `${(err / (U * ref.mag[i])).toFixed(1)} u vs ${(g / U).toFixed(1)} u allowed)`,
      );
  }
}

function withThreads<T>(threads: number, f: () => T): T {
  const prev = native.setNumThreads(threads);
  try {
    return nd.tidy(f);
  } finally {
    native.setNumThreads(prev);
  }
}

/** y = f(a, b) recorded; returns [y, dL/da, dL/db] for the head gradient g. */
function withGrads(f: (a: NDArray, b: NDArray) => NDArray, a: NDArray, b: NDArray, g: NDArray): Float32Array[] {
  a.attachGrad();
  b.attachGrad();
  const y = autograd.record(() => f(a, b));
  const [ga, gb] = autograd.grad(y, [a, b], g);
  return [f32(y), f32(ga), f32(gb)];
}

describe('one-row products (matrix-vector) are blocked sums', () => {
  const K = (1 << 20) + 37; // past several dot/axpy blocks, with vector tails
  test.each([1, 2])('dot of two vectors of 2^20 + 37 terms is within the blocked-sum bound, at %i thread(s)', (threads) => {
    const x = stagnating(K, 1);
    const y = stagnating(K, 2);
    withThreads(threads, () => {
      const ref = refDot(x, y, 1, K, 1);
      expectWithin('dot(x, y)', f32(nd.dot(arr(x, [K]), arr(y, [K]))), ref);
      expectWithin('dot([1,K], [K,1])', f32(nd.dot(arr(x, [1, K]), arr(y, [K, 1]))), ref);
      expectWithin('dot([1,K], [1,K]^T)', f32(nd.dot(arr(x, [1, K]), arr(y, [1, K]), { transposeB: true })), ref);
      expectWithin('dot([K,1]^T, [K,1])', f32(nd.dot(arr(x, [K, 1]), arr(y, [K, 1]), { transposeA: true })), ref);
    });
  });

  test('the 1-D dot of 2e7 ones is 2e7', () => {
    // One pass in float32 stops at 2^24 = 16777216 (adding 1 no longer changes the sum).
    withThreads(1, () => {
      const a = nd.ones([2e7]);
      expect(f32(nd.dot(a, a))[0]).toBe(2e7);
    });
  });

  test.each([1, 2])('x [1, K] . B [K, 3] and its transposed layout are within the bound at %i thread(s)', (threads) => {
    const KB = (1 << 19) + 3;
    const N = 3;
    const x = stagnating(KB, 3);
    const b = new Float32Array(KB * N); // column j: stagnating data for j = 0, 1; random signs for j = 2
    const c0 = stagnating(KB, 4);
    const c1 = stagnating(KB, 5, 1000);
    const c2 = rand(KB, 6);
    for (let p = 0; p < KB; p++) {
      b[p * N] = c0[p];
      b[p * N + 1] = c1[p];
      b[p * N + 2] = c2[p];
    }
    const bt = new Float32Array(KB * N);
    for (let p = 0; p < KB; p++) for (let j = 0; j < N; j++) bt[j * KB + p] = b[p * N + j];
    withThreads(threads, () => {
      const ref = refDot(x, b, 1, KB, N);
      expectWithin('dot([1,K], [K,3])', f32(nd.dot(arr(x, [1, KB]), arr(b, [KB, N]))), ref);
      expectWithin('dot([1,K], [3,K]^T)', f32(nd.dot(arr(x, [1, KB]), arr(bt, [N, KB]), { transposeB: true })), ref);
    });
  });

  test('batchDot with M = 1 (both layouts of b) is within the bound', () => {
    const KB = (1 << 18) + 11;
    const batch = 2;
    const N = 2;
    const a = new Float32Array(batch * KB);
    const b = new Float32Array(batch * KB * N);
    const bt = new Float32Array(batch * KB * N);
    for (let i = 0; i < batch; i++) {
      a.set(stagnating(KB, 10 + i), i * KB);
      const cols = [stagnating(KB, 20 + i), rand(KB, 30 + i, 0, 1)];
      for (let p = 0; p < KB; p++)
        for (let j = 0; j < N; j++) {
          b[(i * KB + p) * N + j] = cols[j][p];
          bt[(i * N + j) * KB + p] = cols[j][p];
        }
    }
    withThreads(2, () => {
      const y = f32(nd.batchDot(arr(a, [batch, 1, KB]), arr(b, [batch, KB, N])));
      const yt = f32(nd.batchDot(arr(a, [batch, 1, KB]), arr(bt, [batch, N, KB]), { transposeB: true }));
      for (let i = 0; i < batch; i++) {
        const ref = refDot(a.subarray(i * KB, (i + 1) * KB), b.subarray(i * KB * N, (i + 1) * KB * N), 1, KB, N);
        expectWithin(`batchDot entry ${i}`, y.subarray(i * N, (i + 1) * N), ref);
        expectWithin(`batchDot transposeB entry ${i}`, yt.subarray(i * N, (i + 1) * N), ref);
      }
    });
  });

  test('the weight gradient of FullyConnected with one output over a batch of 2^19 is within the bound', () => {
    // dW = dY^T X is a one-row product over the batch (a regression head trained on a big batch).
    const batch = (1 << 19) + 1;
    const F = 4;
    const xcols = [stagnating(batch, 40), stagnating(batch, 41, 0), rand(batch, 42), rand(batch, 43, 0, 1)];
    const x = new Float32Array(batch * F);
    for (let i = 0; i < batch; i++) for (let f = 0; f < F; f++) x[i * F + f] = xcols[f][i];
    const g = stagnating(batch, 44);
    withThreads(2, () => {
      const xv = arr(x, [batch, F]);
      const w = arr(rand(F, 45), [1, F]);
      const bias = nd.zeros([1]);
      for (const v of [xv, w, bias]) v.attachGrad();
      const y = autograd.record(() => nd.FullyConnected(xv, w, bias, { numHidden: 1 }));
      const [gw, gb] = autograd.grad(y, [w, bias], arr(g, [batch, 1]));
      expectWithin('FullyConnected dW', f32(gw), refProduct(1, F, batch, g, 0, 1, x, F, 1));
      expectWithin('FullyConnected dbias', f32(gb), refProduct(1, 1, batch, g, 0, 1, new Float32Array(batch).fill(1), 1, 0));
    });
  });

  test('the weight gradient of a one-filter 1-D convolution over 2^19 positions is within the bound', () => {
    // _conv_weight_grad with one filter is a one-row product over every (image, position) pair.
    const N = 2;
    const W = (1 << 18) + 7;
    const kw = 3;
    const OW = W - kw + 1;
    const x = new Float32Array(N * W);
    const dy = new Float32Array(N * OW);
    x.set(stagnating(W, 50, 66), 0);
    x.set(rand(W, 51, 0.5, 1), W);
    dy.set(stagnating(OW, 52), 0);
    dy.set(rand(OW, 53, 0.5, 1), OW);
    withThreads(2, () => {
      const xv = arr(x, [N, 1, W]);
      const w = arr(rand(kw, 54), [1, 1, kw]);
      xv.attachGrad();
      w.attachGrad();
      const y = autograd.record(() => nd.Convolution(xv, w, { kernel: [kw], noBias: true }));
      const [gw] = autograd.grad(y, [w], arr(dy, [N, 1, OW]));
      // dW[t] = sum over (n, o) of dy[n, o] x[n, o + t]
      const val = new Float64Array(kw);
      const mag = new Float64Array(kw);
      for (let t = 0; t < kw; t++)
        for (let n = 0; n < N; n++)
          for (let o = 0; o < OW; o++) {
            const v = dy[n * OW + o] * x[n * W + o + t];
            val[t] += v;
            mag[t] += abs(v);
          }
      expectWithin('Convolution dW (one filter)', f32(gw), { val, mag, K: N * OW });
    });
  });
});

describe('GEMM products match float64 across every blocking boundary and threading split', () => {
  test('dot [197, 333] x [333, 3100] and both gradients (MC, KC, NC and tile edges at once) at 1 thread', () => {
    const M = 197;
    const K = 333;
    const N = 3100;
    const a = rand(M * K, 60);
    const b = rand(K * N, 61);
    const g = rand(M * N, 62);
    withThreads(1, () => {
      const [y, ga, gb] = withGrads((p, q) => nd.dot(p, q), arr(a, [M, K]), arr(b, [K, N]), arr(g, [M, N]));
      expectWithin('Y = A B', y, refDot(a, b, M, K, N));
      expectWithin('dA = G B^T', ga, refDot(g, b, M, N, K, false, true));
      expectWithin('dB = A^T G', gb, refDot(a, g, K, M, N, true, false));
    });
  });

  // [m, k, n, transposeA, transposeB] at 3 threads: N split (uneven thirds), M split, the few-column
  // path (C^T = B^T A^T) and a deep product cut into chunks summed in double.
  const CASES: [number, number, number, boolean, boolean][] = [
    [50, 400, 1000, false, false],
    [1000, 350, 40, true, false],
    [500, 600, 3, false, true],
    [5, 25000, 7, true, true],
  ];
  test.each(CASES)('dot [%i x %i] x [.. x %i] (transposeA %s, transposeB %s) and its gradients at 3 threads', (M, K, N, ta, tb) => {
    const a = rand(M * K, M + 70);
    const b = rand(K * N, N + 71, 0, 1);
    const g = rand(M * N, 72);
    withThreads(3, () => {
      const av = arr(a, ta ? [K, M] : [M, K]);
      const bv = arr(b, tb ? [N, K] : [K, N]);
      const [y, ga, gb] = withGrads((p, q) => nd.dot(p, q, { transposeA: ta, transposeB: tb }), av, bv, arr(g, [M, N]));
      expectWithin('Y', y, refDot(a, b, M, K, N, ta, tb));
      // d op(A) = G op(B)^T, stored in A's layout; d op(B) = op(A)^T G, stored in B's layout
      const dopA = refProduct(M, K, N, g, N, 1, b, tb ? K : 1, tb ? 1 : N); // [M, K]
      const dopB = refProduct(K, N, M, a, ta ? M : 1, ta ? 1 : K, g, N, 1); // [K, N]
      const layout = (r: Ref, rows: number, cols: number, t: boolean): Ref => {
        if (!t) return r;
        const val = new Float64Array(rows * cols);
        const mag = new Float64Array(rows * cols);
        for (let i = 0; i < rows; i++)
          for (let j = 0; j < cols; j++) {
            val[j * rows + i] = r.val[i * cols + j];
            mag[j * rows + i] = r.mag[i * cols + j];
          }
        return { val, mag, K: r.K };
      };
      expectWithin('dA', ga, layout(dopA, M, K, ta));
      expectWithin('dB', gb, layout(dopB, K, N, tb));
    });
  });

  test('batchDot [3, 50, 333] x [3, 333, 70] and its gradients at 2 threads', () => {
    const [B, M, K, N] = [3, 50, 333, 70];
    const a = rand(B * M * K, 80);
    const b = rand(B * K * N, 81);
    const g = rand(B * M * N, 82);
    withThreads(2, () => {
      const [y, ga, gb] = withGrads((p, q) => nd.batchDot(p, q), arr(a, [B, M, K]), arr(b, [B, K, N]), arr(g, [B, M, N]));
      for (let i = 0; i < B; i++) {
        const ai = a.subarray(i * M * K, (i + 1) * M * K);
        const bi = b.subarray(i * K * N, (i + 1) * K * N);
        const gi = g.subarray(i * M * N, (i + 1) * M * N);
        expectWithin(`Y[${i}]`, y.subarray(i * M * N, (i + 1) * M * N), refDot(ai, bi, M, K, N));
        expectWithin(`dA[${i}]`, ga.subarray(i * M * K, (i + 1) * M * K), refDot(gi, bi, M, N, K, false, true));
        expectWithin(`dB[${i}]`, gb.subarray(i * K * N, (i + 1) * K * N), refDot(ai, gi, K, M, N, true, false));
      }
    });
  });
});

describe('FullyConnected and Convolution match float64, with their gradients', () => {
  /** FullyConnected y = x W^T + b: returns y, dx, dW, db against the references. */
  function checkFc(batch: number, inF: number, outF: number, threads: number): void {
    const x = rand(batch * inF, batch + 90);
    const w = rand(outF * inF, inF + 91);
    const bias = rand(outF, 92);
    const g = rand(batch * outF, 93);
    withThreads(threads, () => {
      const xv = arr(x, [batch, inF]);
      const wv = arr(w, [outF, inF]);
      const bv = arr(bias, [outF]);
      for (const v of [xv, wv, bv]) v.attachGrad();
      const y = autograd.record(() => nd.FullyConnected(xv, wv, bv, { numHidden: outF }));
      const [gx, gw, gb] = autograd.grad(y, [xv, wv, bv], arr(g, [batch, outF]));
      const ry = refDot(x, w, batch, inF, outF, false, true);
      for (let i = 0; i < batch; i++)
        for (let j = 0; j < outF; j++) {
          ry.val[i * outF + j] += bias[j]; // the bias is one more term of each sum
          ry.mag[i * outF + j] += abs(bias[j]);
        }
      expectWithin('y = x W^T + b', f32(y), ry, 1);
      expectWithin('dx = G W', f32(gx), refDot(g, w, batch, outF, inF));
      expectWithin('dW = G^T x', f32(gw), refDot(g, x, outF, batch, inF, true, false));
      expectWithin('db = sum G', f32(gb), refProduct(1, outF, batch, new Float32Array(batch).fill(1), 0, 1, g, outF, 1));
    });
  }
  test('FullyConnected 784 -> 512 at batch 1 (matrix-vector) and its gradients', () => checkFc(1, 784, 512, 2));
  test('FullyConnected 700 -> 100 at batch 200 (past MC and KC) and its gradients', () => checkFc(200, 700, 100, 2));

  test('Convolution 2-D (K = C kh kw = 360 > KC, data-gradient rows 360 > MC) and its gradients', () => {
    const [N, C, H, W, F, kh, kw, pad] = [2, 40, 12, 13, 36, 3, 3, 1];
    const OH = H + 2 * pad - kh + 1;
    const OW = W + 2 * pad - kw + 1;
    const x = rand(N * C * H * W, 100);
    const w = rand(F * C * kh * kw, 101);
    const g = rand(N * F * OH * OW, 102);
    const K = C * kh * kw;
    // references: y[n,f,oh,ow] = sum_{c,i,j} w[f,c,i,j] x[n,c,oh+i-pad,ow+j-pad] (zero outside);
    // dx[n,c,h,w] = sum_{f,i,j} w[f,c,i,j] g[n,f,h-i+pad,w-j+pad]; dW[f,c,i,j] = sum_{n,oh,ow} g x
    const y = { val: new Float64Array(N * F * OH * OW), mag: new Float64Array(N * F * OH * OW), K };
    const dx = { val: new Float64Array(N * C * H * W), mag: new Float64Array(N * C * H * W), K: F * kh * kw };
    const dw = { val: new Float64Array(F * K), mag: new Float64Array(F * K), K: N * OH * OW };
    for (let n = 0; n < N; n++)
      for (let f = 0; f < F; f++)
        for (let oh = 0; oh < OH; oh++)
          for (let ow = 0; ow < OW; ow++) {
            const yo = ((n * F + f) * OH + oh) * OW + ow;
            const gv = g[yo];
            for (let c = 0; c < C; c++)
              for (let i = 0; i < kh; i++) {
                const ih = oh + i - pad;
                if (ih < 0 || ih >= H) continue;
                for (let j = 0; j < kw; j++) {
                  const iw = ow + j - pad;
                  if (iw < 0 || iw >= W) continue;
                  const wo = ((f * C + c) * kh + i) * kw + j;
                  const xo = ((n * C + c) * H + ih) * W + iw;
                  const t = w[wo] * x[xo];
                  y.val[yo] += t;
                  y.mag[yo] += abs(t);
                  const u = w[wo] * gv;
                  dx.val[xo] += u;
                  dx.mag[xo] += abs(u);
                  const v = gv * x[xo];
                  dw.val[wo] += v;
                  dw.mag[wo] += abs(v);
                }
              }
          }
    withThreads(2, () => {
      const [yv, gx, gw] = withGrads(
        (p, q) => nd.Convolution(p, q, { kernel: [kh, kw], pad: [pad, pad], noBias: true }),
        arr(x, [N, C, H, W]),
        arr(w, [F, C, kh, kw]),
        arr(g, [N, F, OH, OW]),
      );
      expectWithin('Convolution y', yv, y);
      expectWithin('Convolution dx', gx, dx);
      expectWithin('Convolution dW', gw, dw);
    });
  });
});
