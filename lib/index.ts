import * as autograd from './autograd';
import { NDArrayError } from './errors';
import * as nda from './ndarray';
import * as creation from './creation';
import * as opsModule from './ops';
import { shapeOps } from './shape_ops';
import { nnOps } from './nn_ops';
import * as nnModule from './nn';
import { opTable } from './binding';
import { native } from './binding';

export { NDArray } from './ndarray';
export type { DType, Operand } from './ndarray';
export { NDArrayError, autograd };
export type { ErrorCode } from './errors';

/** The nd namespace: creation, every op, memory control. */
export const nd = {
  ...opsModule.ops,
  ...shapeOps,
  ...nnOps,
  clip: opsModule.clip,
  where: opsModule.where,
  dot: opsModule.dot,
  reshape: opsModule.reshape,
  transpose: opsModule.transpose,
  expandDims: opsModule.expandDims,
  squeeze: opsModule.squeeze,
  flatten: opsModule.flatten,
  broadcastTo: opsModule.broadcastTo,
  broadcastLike: opsModule.broadcastLike,
  astype: opsModule.astype,
  Dropout: nnModule.Dropout,
  FullyConnected: nnModule.FullyConnected,
  array: creation.array,
  zeros: creation.zeros,
  ones: creation.ones,
  full: creation.full,
  arange: creation.arange,
  eye: creation.eye,
  zerosLike: creation.zerosLike,
  onesLike: creation.onesLike,
  random: creation.random,
  tidy: nda.tidy,
  keep: nda.keep,
  dispose: nda.dispose,
  memory: nda.memory,
  setMemoryLimit: nda.setMemoryLimit,
  emptyCache: nda.emptyCache,
  backend: nda.backend,
  /** @internal for tests and benchmarks */
  _native: native,
  _opTable: opTable,
};
