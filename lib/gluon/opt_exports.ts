// The namespaces of the optimization part of Gluon: optimizer, lrScheduler, and gluon's Trainer
// and utils (lib/index.ts merges them into `gluon` with the other parts).
import * as opt from './optimizer';
import * as sched from './lr_scheduler';
import { Trainer } from './trainer';
import { clipGlobalNorm } from './utils';

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

/** gluon's members from this part. */
export const gluonOpt = { Trainer, utils: { clipGlobalNorm } };
