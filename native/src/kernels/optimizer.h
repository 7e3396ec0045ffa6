// The optimizers' elementwise updates (MXNet 1.9's formulas, src/operator/optimizer_op-inl.h), one
// loop per optimizer over a contiguous range of one parameter. Each loop reads and writes every
// array once, in the weight's type (float32 math for float32, as MXNet's DType kernels), with no
// branches but the clip, so the compiler vectorises it (std::sqrt inline: binding.gyp builds with
// -fno-math-errno): the update is bound by memory bandwidth.
#pragma once
#include <cmath>
#include <cstdint>

namespace ndgrad {
namespace kernels {

// The scalars of one parameter's update; `clip` < 0 means no gradient clipping (MXNet's -1).
struct UpdateScalars {
  double lr = 0, wd = 0, rescale = 1, clip = -1;
  double momentum = 0, beta1 = 0, beta2 = 0, eps = 0, eta = 1, gamma1 = 0, gamma2 = 0, clip_weights = -1;
};

template <class T>
inline T clip_to(T x, T c) {
  return x > c ? c : (x < -c ? -c : x);
}

// rescale * g, clipped to [-clip, clip] when clip >= 0
template <class T>
inline T scaled(T g, T rescale, T c, bool do_clip) {
  T r = rescale * g;
  return do_clip ? clip_to(r, c) : r;
}

// SGD, with momentum when mom is given: mom = momentum * mom - lr * wd * w - lr * g; w += mom.
template <class T>
void sgd_update(T* w, const T* g, T* mom, int64_t n, const UpdateScalars& s) {
  const T lr = T(s.lr), wd = T(s.wd), rs = T(s.rescale), c = T(s.clip), m = T(s.momentum);
  const bool cl = s.clip >= 0;
  if (mom) {
    for (int64_t i = 0; i < n; ++i) {
      T v = m * mom[i] - lr * wd * w[i] - lr * scaled(g[i], rs, c, cl);
      mom[i] = v;
      w[i] = w[i] + v;
    }
  } else {
    for (int64_t i = 0; i < n; ++i) w[i] = w[i] - lr * wd * w[i] - lr * scaled(g[i], rs, c, cl);
  }
}

// NAG (nag_mom_update): G = g + wd * w; mom = momentum * mom - lr * G; w += momentum * mom - lr * G.
template <class T>
void nag_update(T* w, const T* g, T* mom, int64_t n, const UpdateScalars& s) {
  const T lr = T(s.lr), wd = T(s.wd), rs = T(s.rescale), c = T(s.clip), m = T(s.momentum);
  const bool cl = s.clip >= 0;
  for (int64_t i = 0; i < n; ++i) {
    T step = lr * (scaled(g[i], rs, c, cl) + wd * w[i]);
    T v = m * mom[i] - step;
    mom[i] = v;
    w[i] = w[i] + m * v - step;
  }
}

// Adam (adam_update; the caller folds bias correction into lr): G = clip(rescale * g + wd * w);
// mean, var moving averages; w -= lr * mean / (sqrt(var) + eps).
// AdamW (multi_adamw_update, decoupled): G = clip(rescale * g); the same averages;
// w -= eta * (lr * mean / (sqrt(var) + eps) + wd * w).
template <class T, bool kDecoupled>
void adam_update(T* w, const T* g, T* mean, T* var, int64_t n, const UpdateScalars& s) {
  const T lr = T(s.lr), wd = T(s.wd), rs = T(s.rescale), c = T(s.clip), b1 = T(s.beta1), b2 = T(s.beta2),
          eps = T(s.eps), eta = T(s.eta);
  const bool cl = s.clip >= 0;
  for (int64_t i = 0; i < n; ++i) {
    T gr = kDecoupled ? scaled(g[i], rs, c, cl) : scaled(g[i], rs, c, false) + wd * w[i];
    if (!kDecoupled && cl) gr = clip_to(gr, c);
    T m = b1 * mean[i] + (T(1) - b1) * gr;
    T v = b2 * var[i] + (T(1) - b2) * gr * gr;
    mean[i] = m;
    var[i] = v;
    T d = lr * m / (std::sqrt(v) + eps);
    w[i] = kDecoupled ? w[i] - eta * (d + wd * w[i]) : w[i] - d;
  }
}

template <class T>
inline T clip_weight(T x, T cw, bool on) {
  return on ? clip_to(x, cw) : x;
}

// RMSProp (rmsprop_update, Tieleman & Hinton): G = clip(rescale * g + wd * w);
// n = (1 - gamma1) * G^2 + gamma1 * n; w -= lr * G / sqrt(n + eps) (eps inside the root, as MXNet).
template <class T>
void rmsprop_update(T* w, const T* g, T* nacc, int64_t n, const UpdateScalars& s) {
  const T lr = T(s.lr), wd = T(s.wd), rs = T(s.rescale), c = T(s.clip), g1 = T(s.gamma1), eps = T(s.eps),
          cw = T(s.clip_weights);
  const bool cl = s.clip >= 0, cwo = s.clip_weights >= 0;
  for (int64_t i = 0; i < n; ++i) {
    T gr = rs * g[i] + wd * w[i];
    if (cl) gr = clip_to(gr, c);
    T v = (T(1) - g1) * (gr * gr) + g1 * nacc[i];
    nacc[i] = v;
    w[i] = clip_weight(w[i] - lr * (gr / std::sqrt(v + eps)), cw, cwo);
  }
}

// Centered RMSProp (rmspropalex_update, Graves 2013): n and gbar moving averages of G^2 and G;
// delta = gamma2 * delta - lr * G / sqrt(n - gbar^2 + eps); w += delta.
template <class T>
void rmspropalex_update(T* w, const T* g, T* nacc, T* gacc, T* delta, int64_t n, const UpdateScalars& s) {
  const T lr = T(s.lr), wd = T(s.wd), rs = T(s.rescale), c = T(s.clip), g1 = T(s.gamma1), g2 = T(s.gamma2),
          eps = T(s.eps), cw = T(s.clip_weights);
  const bool cl = s.clip >= 0, cwo = s.clip_weights >= 0;
  for (int64_t i = 0; i < n; ++i) {
    T gr = rs * g[i] + wd * w[i];
    if (cl) gr = clip_to(gr, c);
    T v = (T(1) - g1) * gr * gr + g1 * nacc[i];
    T gb = (T(1) - g1) * gr + g1 * gacc[i];
    T d = g2 * delta[i] - lr * gr / std::sqrt(v - gb * gb + eps);
    nacc[i] = v;
    gacc[i] = gb;
    delta[i] = d;
    w[i] = clip_weight(w[i] + d, cw, cwo);
  }
}

// AdaGrad (MXNet 1.9's dense AdaGrad.update): G = clip(rescale * g); history += G^2;
// w -= lr * (G / sqrt(history + eps) + wd * w).
template <class T>
void adagrad_update(T* w, const T* g, T* hist, int64_t n, const UpdateScalars& s) {
  const T lr = T(s.lr), wd = T(s.wd), rs = T(s.rescale), c = T(s.clip), eps = T(s.eps);
  const bool cl = s.clip >= 0;
  for (int64_t i = 0; i < n; ++i) {
    T gr = scaled(g[i], rs, c, cl);
    T h = hist[i] + gr * gr;
    hist[i] = h;
    w[i] = w[i] - lr * (gr / std::sqrt(h + eps) + wd * w[i]);
  }
}

}  // namespace kernels
}  // namespace ndgrad
