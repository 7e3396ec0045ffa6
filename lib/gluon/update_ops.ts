// The optimizers' fused multi-tensor update ops (native/src/ops/optimizer.cc), MXNet's
// `nd.multi_sgd_update(*arrays, num_weights, lrs, wds)`: `arrays` interleaves one group per weight,
// (weight, grad, states...), and every weight and state is updated in place by one native call.
import { NDArrayError } from '../errors';
import { options } from '../args';
import { invoke } from '../dispatch';
import { NDArray } from '../ndarray';

/** Options every update op takes (MXNet's names in camelCase). */
export interface MultiUpdateOptions {
  /** learning rate of each weight */
  lrs: number[];
  /** weight decay of each weight */
  wds: number[];
  /** gradients are multiplied by this first (default 1) */
  rescaleGrad?: number;
  /** then clipped to [-clipGradient, clipGradient]; negative (default -1): no clipping */
  clipGradient?: number;
}
export interface MultiSgdMomOptions extends MultiUpdateOptions {
  momentum?: number;
}
export interface MultiAdamOptions extends MultiUpdateOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}
export interface MultiAdamWOptions extends MultiAdamOptions {
  /** per-weight multipliers of the whole step (MXNet's etas; default 1) */
  etas?: number[];
}
export interface MultiRmspropOptions extends MultiUpdateOptions {
  gamma1?: number;
  epsilon?: number;
  /** weights clipped to [-clipWeights, clipWeights] after the update; negative: none */
  clipWeights?: number;
}
export interface MultiRmspropAlexOptions extends MultiRmspropOptions {
  gamma2?: number;
}
export interface MultiAdagradOptions extends MultiUpdateOptions {
  epsilon?: number;
}

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());

function update(op: string, user: string, stride: number, arrays: NDArray[], opts: object): void {
  const o = options(opts, user, op) as Record<string, unknown>;
  if (o.out !== undefined) throw new NDArrayError(`${user}: updates its arrays in place; 'out' is not taken`, 'BAD_ARGUMENT');
  if (!Array.isArray(arrays))
    throw new NDArrayError(`${user}: expects a list of arrays (weight, grad, states... per weight)`, 'BAD_ARGUMENT');
  const attrs: Record<string, unknown> = { num_weights: Math.max(1, Math.ceil(arrays.length / stride)) };
  for (const k in o) attrs[snake(k)] = o[k];
  invoke(op, arrays, attrs);
}

/** An update op's TS face: `arrays` holds `stride` arrays per weight. */
const face = <O extends MultiUpdateOptions>(op: string, user: string, stride: number) =>
  (arrays: NDArray[], opts: O): void => update(op, user, stride, arrays, opts);

/** SGD without momentum over [w0, g0, w1, g1, ...]: w = w - lr * (clip(rescaleGrad * g) + wd * w). */
export const multiSgdUpdate = face<MultiUpdateOptions>('multi_sgd_update', 'multiSgdUpdate', 2);
/** SGD with momentum over [w, g, mom, ...]: mom = momentum * mom - lr * (clip(g) + wd * w); w += mom. */
export const multiSgdMomUpdate = face<MultiSgdMomOptions>('multi_sgd_mom_update', 'multiSgdMomUpdate', 3);
/** Nesterov momentum over [w, g, mom, ...] (MXNet's nag_mom_update). */
export const multiNagMomUpdate = face<MultiSgdMomOptions>('multi_nag_mom_update', 'multiNagMomUpdate', 3);
/** Adam over [w, g, mean, var, ...] (MXNet's adam_update: bias correction folded into lrs by the caller). */
export const multiAdamUpdate = face<MultiAdamOptions>('multi_adam_update', 'multiAdamUpdate', 4);
/** AdamW over [w, g, mean, var, ...]: w -= eta * (lr * mean / (sqrt(var) + epsilon) + wd * w). */
export const multiAdamWUpdate = face<MultiAdamWOptions>('multi_adamw_update', 'multiAdamWUpdate', 4);
/** RMSProp over [w, g, n, ...] (MXNet's rmsprop_update, epsilon inside the square root). */
export const multiRmspropUpdate = face<MultiRmspropOptions>('multi_rmsprop_update', 'multiRmspropUpdate', 3);
/** Centered RMSProp over [w, g, n, gAvg, delta, ...] (MXNet's rmspropalex_update). */
export const multiRmspropAlexUpdate = face<MultiRmspropAlexOptions>('multi_rmspropalex_update', 'multiRmspropAlexUpdate', 5);
/** AdaGrad over [w, g, history, ...]: history += G^2; w -= lr * (G / sqrt(history + epsilon) + wd * w). */
export const multiAdagradUpdate = face<MultiAdagradOptions>('multi_adagrad_update', 'multiAdagradUpdate', 3);

/** The update ops, as members of `nd`. */
export const updateOps = {
  multiSgdUpdate,
  multiSgdMomUpdate,
  multiNagMomUpdate,
  multiAdamUpdate,
  multiAdamWUpdate,
  multiRmspropUpdate,
  multiRmspropAlexUpdate,
  multiAdagradUpdate,
};
