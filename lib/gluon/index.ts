// The gluon namespace (each part adds its exports here).
export { Parameter, ParameterDict } from './parameter';
export type { ParameterLike, ParameterOptions, InitializeOptions, GradReq } from './parameter';
export type { LoadParametersOptions } from './params_io';
export { Block, HybridBlock } from './block';
export type { BlockOptions } from './block';
export * as nn from './nn';
export * as loss from './loss';
export { Trainer } from './trainer';
export * as data from './data/index';
export * as metric from './metric';
import { clipGlobalNorm } from './utils';
/** gluon.utils (MXNet's gluon.utils): clipGlobalNorm. */
export const utils = { clipGlobalNorm };
export { Estimator } from './estimator';
export type { EstimatorOptions, EstimatorBatch, EstimatorData, EstimatorCallbacks, BatchEnd, EpochEnd, FitOptions, ProgressOutput } from './estimator';
