'use strict';
// Float64 references in plain JS for the benchmark workloads. Every worker checks its result once,
// before timing, against these (computed from the same input data it read back), so that a wrong
// fast kernel reports "wrong result" instead of a figure. Independent of every library measured.

const U = 2 ** -24; // float32 unit roundoff

/** Largest normwise relative error accepted for a whole training step's loss and gradients: well above
 * the float32 error of its sums (K·u = 4.7e-5 at worst for K = 784, about sqrt(K)·u in practice) and
 * far below what a wrong kernel gives. */
const STEP_RTOL = 1e-4;

/** y[m×n] = a[m×k] · b[n×k]ᵀ (+ bias[n]) in float64; also the sum of |terms| per entry. */
function matmulT(a, b, m, k, n, bias) {
  const y = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = bias ? bias[j] : 0;
      const ai = i * k, bj = j * k;
      for (let p = 0; p < k; p++) s += a[ai + p] * b[bj + p];
      y[i * n + j] = s;
    }
  return y;
}

/** Checks `got` (float32 entries of a sum of k products each) against the float64 value, within the
 * float32 summation bound (k + 2)·u·sum|terms|. Returns an error message or ''. */
function checkSums(what, got, want, mags, k, resultU = 0) {
  for (let i = 0; i < want.length; i++) {
    const bound = (k + 2) * U * mags[i] + resultU * Math.abs(want[i]) + 1e-30;
    if (!(Math.abs(got[i] - want[i]) <= bound)) return `${what}: element ${i} is ${got[i]}, reference ${want[i]} (bound ${bound.toPrecision(3)})`;
  }
  return '';
}

/** C = A·B (n×n, row-major): checks `samples` entries (a fixed spread of rows and columns);
 * `resultU`: the unit roundoff of a result rounded to a narrower type (2^-8 for bfloat16). */
function checkMatmul(A, B, C, n, samples = 256, resultU = 0) {
  return checkProduct(A, B, C, { m: n, n, k: n }, samples, `matmul n=${n}`, resultU);
}

/** C (m x n) = op(A) op(B) with op(A) = A (m x k) or, when ta, A stored (k x m); B likewise (tb: n x k). */
function checkProduct(A, B, C, { m, n, k, ta = false, tb = false }, samples = 256, what = `product ${m}x${k}x${n}`, resultU = 0) {
  const want = [], got = [], mags = [];
  for (let s = 0; s < samples; s++) {
    const i = (s * 7919) % m, j = (s * 104729 + 13) % n;
    let v = 0, mag = 0;
    for (let p = 0; p < k; p++) {
      const t = (ta ? A[p * m + i] : A[i * k + p]) * (tb ? B[j * k + p] : B[p * n + j]);
      v += t;
      mag += Math.abs(t);
    }
    want.push(v);
    mags.push(mag);
    got.push(C[i * n + j]);
  }
  return checkSums(what, got, want, mags, k, resultU);
}

/** Elementwise add (exact: one float32 rounding) or exp (within 8 float32 ulps), every element. */
function checkElementwise(op, a, b, c) {
  for (let i = 0; i < c.length; i++) {
    if (op === 'add') {
      const want = Math.fround(a[i] + b[i]);
      if (c[i] !== want) return `add: element ${i} is ${c[i]}, reference ${want}`;
    } else {
      const want = Math.exp(a[i]);
      if (!(Math.abs(c[i] - want) <= 8 * U * Math.abs(want))) return `exp: element ${i} is ${c[i]}, reference ${want}`;
    }
  }
  return '';
}

/** FullyConnected y = x·Wᵀ + b (x m×k, W n×k), every element within the float32 summation bound. */
function checkFullyConnected(x, W, b, y, m, k, n) {
  const want = matmulT(x, W, m, k, n, b);
  const mags = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = Math.abs(b[j]);
      for (let p = 0; p < k; p++) s += Math.abs(x[i * k + p] * W[j * k + p]);
      mags[i * n + j] = s;
    }
  return checkSums(`FullyConnected ${k}->${n}`, y, want, mags, k);
}

function relNormError(got, want) {
  let d = 0, r = 0;
  for (let i = 0; i < want.length; i++) {
    d += (got[i] - want[i]) ** 2;
    r += want[i] ** 2;
  }
  return Math.sqrt(d) / Math.max(Math.sqrt(r), 1e-30);
}

/** Compares { loss, grads: { name: array } } with the reference, normwise. */
function checkStep(what, got, want, rtol = STEP_RTOL) {
  const le = Math.abs(got.loss - want.loss) / Math.max(Math.abs(want.loss), 1e-30);
  if (!(le <= rtol)) return `${what}: loss ${got.loss}, reference ${want.loss}`;
  for (const k of Object.keys(want.grads)) {
    if (!got.grads[k]) return `${what}: no gradient for ${k}`;
    if (got.grads[k].length !== want.grads[k].length) return `${what}: gradient of ${k} has ${got.grads[k].length} elements, expected ${want.grads[k].length}`;
    const e = relNormError(got.grads[k], want.grads[k]);
    if (!(e <= rtol)) return `${what}: gradient of ${k} off by ${e.toPrecision(3)} (normwise), bound ${rtol}`;
  }
  return '';
}

/** Summed softmax cross-entropy of logits z (m×c) for class indices; returns [loss, dz]. */
function softmaxCE(z, m, c, labels) {
  let loss = 0;
  const dz = new Float64Array(m * c);
  for (let i = 0; i < m; i++) {
    let mx = -Infinity;
    for (let j = 0; j < c; j++) mx = Math.max(mx, z[i * c + j]);
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.exp(z[i * c + j] - mx);
    loss += mx + Math.log(s) - z[i * c + labels[i]];
    for (let j = 0; j < c; j++) dz[i * c + j] = Math.exp(z[i * c + j] - mx) / s - (j === labels[i] ? 1 : 0);
  }
  return [loss, dz];
}

/** dW (n×k) = dyᵀ·x and db = column sums of dy (dy m×n, x m×k); dx (m×k) = dy·W when W is given. */
function linearBackward(dy, x, W, m, k, n) {
  const dW = new Float64Array(n * k), db = new Float64Array(n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      const g = dy[i * n + j];
      if (g === 0) continue;
      db[j] += g;
      for (let p = 0; p < k; p++) dW[j * k + p] += g * x[i * k + p];
    }
  let dx = null;
  if (W) {
    dx = new Float64Array(m * k);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        const g = dy[i * n + j];
        if (g === 0) continue;
        for (let p = 0; p < k; p++) dx[i * k + p] += g * W[j * k + p];
      }
  }
  return { dW, db, dx };
}

/** MLP 784-512-512-10 (relu, summed softmax cross-entropy): loss and the gradients of w0..w2, b0..b2. */
function mlpStep(x, ws, bs, labels, batch) {
  const dims = [784, 512, 512, 10];
  const acts = [x], pre = [];
  for (let l = 0; l < 3; l++) {
    const z = matmulT(acts[l], ws[l], batch, dims[l], dims[l + 1], bs[l]);
    pre.push(z);
    acts.push(l < 2 ? z.map((v) => (v > 0 ? v : 0)) : z);
  }
  const [loss, dz3] = softmaxCE(acts[3], batch, 10, labels);
  const grads = {};
  let dz = dz3;
  for (let l = 2; l >= 0; l--) {
    const { dW, db, dx } = linearBackward(dz, acts[l], l > 0 ? ws[l] : null, batch, dims[l], dims[l + 1]);
    grads[`w${l}`] = dW;
    grads[`b${l}`] = db;
    if (l > 0) dz = dx.map((g, i) => (pre[l - 1][i] > 0 ? g : 0));
  }
  return { loss, grads };
}

// ---- CNN: conv3x3(32)-relu-maxpool2-conv3x3(64)-relu-maxpool2-dense(10), NCHW, no padding ----
function conv(x, n, c, h, w, W, b, f) {
  const oh = h - 2, ow = w - 2, y = new Float64Array(n * f * oh * ow);
  for (let i = 0; i < n; i++)
    for (let o = 0; o < f; o++)
      for (let r = 0; r < oh; r++)
        for (let s = 0; s < ow; s++) {
          let v = b[o];
          for (let ch = 0; ch < c; ch++)
            for (let p = 0; p < 3; p++)
              for (let q = 0; q < 3; q++) v += x[((i * c + ch) * h + r + p) * w + s + q] * W[((o * c + ch) * 3 + p) * 3 + q];
          y[((i * f + o) * oh + r) * ow + s] = v;
        }
  return y;
}
function convBackward(dy, x, n, c, h, w, W, f, needDx) {
  const oh = h - 2, ow = w - 2;
  const dW = new Float64Array(f * c * 9), db = new Float64Array(f), dx = needDx ? new Float64Array(n * c * h * w) : null;
  for (let i = 0; i < n; i++)
    for (let o = 0; o < f; o++)
      for (let r = 0; r < oh; r++)
        for (let s = 0; s < ow; s++) {
          const g = dy[((i * f + o) * oh + r) * ow + s];
          if (g === 0) continue;
          db[o] += g;
          for (let ch = 0; ch < c; ch++)
            for (let p = 0; p < 3; p++)
              for (let q = 0; q < 3; q++) {
                const xi = ((i * c + ch) * h + r + p) * w + s + q, wi = ((o * c + ch) * 3 + p) * 3 + q;
                dW[wi] += g * x[xi];
                if (dx) dx[xi] += g * W[wi];
              }
        }
  return { dW, db, dx };
}
/** relu then 2x2 max pooling, stride 2 (floor); returns [y, argmax index into the input]. */
function reluPool(x, n, c, h, w) {
  const oh = h >> 1, ow = w >> 1, y = new Float64Array(n * c * oh * ow), arg = new Int32Array(y.length);
  for (let i = 0; i < n * c; i++)
    for (let r = 0; r < oh; r++)
      for (let s = 0; s < ow; s++) {
        let best = -Infinity, bi = -1;
        for (let p = 0; p < 2; p++)
          for (let q = 0; q < 2; q++) {
            const k = (i * h + 2 * r + p) * w + 2 * s + q;
            const v = Math.max(x[k], 0);
            if (v > best) { best = v; bi = k; }
          }
        y[(i * oh + r) * ow + s] = best;
        arg[(i * oh + r) * ow + s] = bi;
      }
  return [y, arg];
}
function reluPoolBackward(dy, arg, x, size) {
  const dx = new Float64Array(size);
  for (let k = 0; k < dy.length; k++) if (x[arg[k]] > 0) dx[arg[k]] += dy[k];
  return dx;
}

function cnnStep(x, p, labels, batch) {
  const z1 = conv(x, batch, 1, 28, 28, p.w1, p.b1, 32); // 26x26
  const [h1, a1] = reluPool(z1, batch, 32, 26, 26); // 13x13
  const z2 = conv(h1, batch, 32, 13, 13, p.w2, p.b2, 64); // 11x11
  const [h2, a2] = reluPool(z2, batch, 64, 11, 11); // 5x5
  const z3 = matmulT(h2, p.w3, batch, 1600, 10, p.b3);
  const [loss, dz3] = softmaxCE(z3, batch, 10, labels);
  const l3 = linearBackward(dz3, h2, p.w3, batch, 1600, 10);
  const dz2 = reluPoolBackward(l3.dx, a2, z2, z2.length);
  const c2 = convBackward(dz2, h1, batch, 32, 13, 13, p.w2, 64, true);
  const dz1 = reluPoolBackward(c2.dx, a1, z1, z1.length);
  const c1 = convBackward(dz1, x, batch, 1, 28, 28, p.w1, 32, false);
  return { loss, grads: { w1: c1.dW, b1: c1.db, w2: c2.dW, b2: c2.db, w3: l3.dW, b3: l3.db } };
}

// The benchmark CNN's parameters, in creation order: name, shape in ndgrad's and PyTorch's layout
// (OIHW filters, [out, in] dense weight), and the He-normal scale (0: zeros).
const CNN_PARAMS = [
  ['w1', [32, 1, 3, 3], Math.sqrt(2 / 9)], ['b1', [32], 0],
  ['w2', [64, 32, 3, 3], Math.sqrt(2 / 288)], ['b2', [64], 0],
  ['w3', [10, 1600], Math.sqrt(2 / 1600)], ['b3', [10], 0],
];

// A convolution (stride 1, no padding; `grad` 'none': y = conv(x, w) + b, 'data': dX of dY, 'weight':
// dW) at 64 sampled elements of `got` against float64 sums of the same float32 inputs, within the
// float32 bound of the sum's terms. Returns '' or what is wrong.
// resultU: the unit roundoff of a result rounded to a narrower type (2^-8 for bfloat16).
function checkConvSamples(grad, [x, w, b, dy], got, [N, C, H, W], [F, , KH, KW], resultU = 0) {
  const OH = H - KH + 1, OW = W - KW + 1;
  const X = (n, c, h, v) => x[((n * C + c) * H + h) * W + v], Wt = (f, c, i, j) => w[((f * C + c) * KH + i) * KW + j];
  const DY = (n, f, h, v) => (h < 0 || h >= OH || v < 0 || v >= OW ? 0 : dy[((n * F + f) * OH + h) * OW + v]);
  for (let s = 0; s < 64; s++) {
    const e = Math.floor(((s * 2654435761) % 4294967296) / 4294967296 * got.length);
    let acc = 0, mag = 0, terms = 0;
    const add = (t) => { acc += t; mag += Math.abs(t); terms++; };
    if (grad === 'none') {
      const ow = e % OW, oh = Math.floor(e / OW) % OH, f = Math.floor(e / (OW * OH)) % F, n = Math.floor(e / (OW * OH * F));
      add(b[f]);
      for (let c = 0; c < C; c++) for (let i = 0; i < KH; i++) for (let j = 0; j < KW; j++) add(X(n, c, oh + i, ow + j) * Wt(f, c, i, j));
    } else if (grad === 'data') {
      const v = e % W, h = Math.floor(e / W) % H, c = Math.floor(e / (W * H)) % C, n = Math.floor(e / (W * H * C));
      for (let f = 0; f < F; f++) for (let i = 0; i < KH; i++) for (let j = 0; j < KW; j++) add(DY(n, f, h - i, v - j) * Wt(f, c, i, j));
    } else {
      const j = e % KW, i = Math.floor(e / KW) % KH, c = Math.floor(e / (KW * KH)) % C, f = Math.floor(e / (KW * KH * C));
      for (let n = 0; n < N; n++) for (let h = 0; h < OH; h++) for (let v = 0; v < OW; v++) add(DY(n, f, h, v) * X(n, c, h + i, v + j));
    }
    if (!(Math.abs(got[e] - acc) <= 2 * (terms + 1) * 2 ** -24 * mag + resultU * Math.abs(acc) + 1e-30)) return `convolution (${grad}): element ${e} is ${got[e]}, float64 ${acc}`;
  }
  return '';
}

module.exports = { CNN_PARAMS, checkConvSamples, checkMatmul, checkProduct, checkElementwise, checkFullyConnected, checkStep, mlpStep, cnnStep, STEP_RTOL };
