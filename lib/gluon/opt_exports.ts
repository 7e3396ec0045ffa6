// The optimizer and lrScheduler namespaces (gluon's Trainer and utils are exported by gluon/index.ts).
import * as opt from './optimizer';
import * as sched from './lr_scheduler';

export type { ParameterLike } from './trainer';
export type { OptimizerOptions, ParamMults } from './optimizer';
export type { WarmupOptions } from './lr_scheduler';

/** MXNet's mxnet.optimizer: the optimizers and create(name, opts). */
export const optimizer = {
  Optimizer: opt.Optimizer,
  SGD: opt.SGD,
  NAG: opt.NAG,
  Adam: opt.Adam,
  AdamW: opt.AdamW,
  RMSProp: opt.RMSProp,
  AdaGrad: opt.AdaGrad,
  create: opt.create,
};

/** MXNet's mxnet.lr_scheduler. */
export const lrScheduler = {
  LRScheduler: sched.LRScheduler,
  FactorScheduler: sched.FactorScheduler,
  MultiFactorScheduler: sched.MultiFactorScheduler,
  PolyScheduler: sched.PolyScheduler,
  CosineScheduler: sched.CosineScheduler,
};

