// gluon.nn: the blocks and layers.
export { Block, HybridBlock, Sequential, HybridSequential } from './block';
export type { BlockOptions } from './block';
export { Dense, Dropout, BatchNorm, LayerNorm, Embedding, Flatten, Activation, LeakyReLU, ELU, GELU, Swish, Lambda, Lambda as HybridLambda } from './layers';
export type { DenseOptions, BatchNormOptions } from './layers';
export {
  Conv1D, Conv2D, MaxPool1D, MaxPool2D, AvgPool1D, AvgPool2D, GlobalMaxPool1D, GlobalMaxPool2D, GlobalAvgPool1D, GlobalAvgPool2D,
} from './conv_layers';
export type { ConvOptions, PoolOptions } from './conv_layers';
