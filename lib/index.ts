// The package entry: the nd namespace (creation, every op, memory control), autograd, NDArray and
// NDArrayError. Each nd function is defined in the module of its op family.
// The emitted types must be self-contained: `using` support (Disposable) is declared by TypeScript's
// esnext.disposable lib, which a consumer's tsconfig may not include.
/// <reference lib="esnext.disposable" preserve="true" />
import * as autograd from './autograd';
import { Backend, native, opTable } from './binding';
import * as engine from './engine';
import { contextFunctions } from './context';
import * as creation from './creation';
import { NDArrayError } from './errors';
import { indexingOps } from './indexing';
import { joinOps } from './join';
import { linalgOps } from './linalg';
import * as memory from './memory';
import * as files from './mxnet_file';
import * as npy from './npy';
import { nnOps } from './nn';
import { elementwiseOps, ops } from './ops';
import { rearrangeOps } from './rearrange';
import { sliceOps } from './slice';
import { sortOps } from './sort';
import { viewOps } from './views';
import { updateOps } from './gluon/update_ops';

export { NDArray } from './ndarray';
export { Context } from './context';
export type { ContextLike } from './context';
export type { DType, NestedArray, Operand, OutOption } from './ndarray';
export type { Backend } from './binding';
export { NDArrayError, autograd };
/** MXNet's Gluon (lib/gluon/) and its initializers. */
export * as gluon from './gluon/index';
export * as init from './gluon/init';
/** MXNet's KVStore: 'local', and 'dist_sync' (data-parallel over Open MPI; DIST.md). */
export * as kvstore from './kvstore';
export type { ErrorCode, NDArrayErrorCode } from './errors';
export { optimizer, lrScheduler } from './gluon/opt_exports';
export type { ParameterLike, OptimizerOptions, ParamMults, WarmupOptions } from './gluon/opt_exports';

const functions = {
  ...ops,
  ...elementwiseOps,
  ...viewOps,
  ...rearrangeOps,
  ...sliceOps,
  ...joinOps,
  ...linalgOps,
  ...indexingOps,
  ...sortOps,
  ...nnOps,
  ...updateOps,
  array: creation.array,
  zeros: creation.zeros,
  ones: creation.ones,
  full: creation.full,
  arange: creation.arange,
  eye: creation.eye,
  zerosLike: creation.zerosLike,
  onesLike: creation.onesLike,
  random: creation.random,
  ...contextFunctions,
  tidy: memory.tidy,
  keep: memory.keep,
  dispose: memory.dispose,
  memory: memory.memory,
  setMemoryLimit: memory.setMemoryLimit,
  emptyCache: memory.emptyCache,
  save: files.save,
  load: files.load,
  saveNpy: npy.saveNpy,
  loadNpy: npy.loadNpy,
  saveNpz: npy.saveNpz,
  loadNpz: npy.loadNpz,
  waitAll: engine.waitAll,
  ready: engine.ready,
  /** The ISA of the kernels in use, the size of the thread pool and the engine ('threaded' or 'naive'). */
  backend: (): Backend => native.backend(),
};

/** The nd namespace: creation, every op, memory control. */
export interface Nd extends Readonly<typeof functions> {
  /** @internal the native addon, for tests and benchmarks */
  readonly _native: typeof native;
  /** @internal the native op table, for tests */
  readonly _opTable: typeof opTable;
}

export const nd: Nd = { ...functions, _native: native, _opTable: opTable };

