// What the convolution tests share: a float64 reference of Convolution's three results and a
// thread-count switch.
import { nd } from '../lib';

export interface ConvCase {
  x: number[];
  w: number[];
  stride: [number, number];
  pad: [number, number];
}

// y, dx, dw of sum(y * head) in float64, with sum |terms| per element (the rounding bound's scale).
export function convReference(X: Float32Array, Wt: Float32Array, B: Float32Array, G: Float32Array, c: ConvCase) {
  const [N, C, H, W] = c.x, [F, , KH, KW] = c.w, [sh, sw] = c.stride, [ph, pw] = c.pad;
  const OH = Math.floor((H + 2 * ph - KH) / sh) + 1, OW = Math.floor((W + 2 * pw - KW) / sw) + 1;
  const y = new Float64Array(N * F * OH * OW), ym = new Float64Array(y.length);
  const dx = new Float64Array(X.length), dxm = new Float64Array(X.length);
  const dw = new Float64Array(Wt.length), dwm = new Float64Array(Wt.length);
  for (let n = 0; n < N; n++)
    for (let f = 0; f < F; f++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          const o = ((n * F + f) * OH + oh) * OW + ow, g = G[o];
          y[o] = B[f];
          ym[o] = Math.abs(B[f]);
          for (let ch = 0; ch < C; ch++)
            for (let i = 0; i < KH; i++)
              for (let j = 0; j < KW; j++) {
                const h = oh * sh - ph + i, v = ow * sw - pw + j;
                if (h < 0 || h >= H || v < 0 || v >= W) continue;
                const xi = ((n * C + ch) * H + h) * W + v, wi = ((f * C + ch) * KH + i) * KW + j;
                y[o] += X[xi] * Wt[wi];
                ym[o] += Math.abs(X[xi] * Wt[wi]);
                dx[xi] += g * Wt[wi];
                dxm[xi] += Math.abs(g * Wt[wi]);
                dw[wi] += g * X[xi];
                dwm[wi] += Math.abs(g * X[xi]);
              }
        }
  return { y: [y, ym], dx: [dx, dxm], dw: [dw, dwm], terms: { y: C * KH * KW + 1, dx: F * KH * KW, dw: N * OH * OW } };
}

export function withThreads<T>(threads: number, f: () => T): T {
  const prev = nd._native.setNumThreads(threads);
  try {
    return f();
  } finally {
    nd._native.setNumThreads(prev);
  }
}
