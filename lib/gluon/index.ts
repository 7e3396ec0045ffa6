// The gluon namespace of gcore's part: Parameter, ParameterDict, blocks, gluon.nn layers, gluon.loss.
import { Block, HybridBlock, Sequential, HybridSequential } from './block';
import { Parameter, ParameterDict } from './parameter';
import * as layers from './layers';
import * as conv from './conv_layers';
import * as losses from './loss';

export type { ParameterLike, ParameterOptions, InitializeOptions, GradReq } from './parameter';
export type { BlockOptions } from './block';

export const nn = {
  Block, HybridBlock, Sequential, HybridSequential,
  Dense: layers.Dense, Dropout: layers.Dropout, BatchNorm: layers.BatchNorm, LayerNorm: layers.LayerNorm,
  Embedding: layers.Embedding, Flatten: layers.Flatten, Activation: layers.Activation, LeakyReLU: layers.LeakyReLU,
  ELU: layers.ELU, GELU: layers.GELU, Swish: layers.Swish, Lambda: layers.Lambda, HybridLambda: layers.Lambda,
  Conv1D: conv.Conv1D, Conv2D: conv.Conv2D, MaxPool1D: conv.MaxPool1D, MaxPool2D: conv.MaxPool2D,
  AvgPool1D: conv.AvgPool1D, AvgPool2D: conv.AvgPool2D, GlobalMaxPool1D: conv.GlobalMaxPool1D,
  GlobalMaxPool2D: conv.GlobalMaxPool2D, GlobalAvgPool1D: conv.GlobalAvgPool1D, GlobalAvgPool2D: conv.GlobalAvgPool2D,
};

export const loss = {
  Loss: losses.Loss, L2Loss: losses.L2Loss, L1Loss: losses.L1Loss, SoftmaxCrossEntropyLoss: losses.SoftmaxCrossEntropyLoss,
  SoftmaxCELoss: losses.SoftmaxCrossEntropyLoss, SigmoidBinaryCrossEntropyLoss: losses.SigmoidBinaryCrossEntropyLoss,
  SigmoidBCELoss: losses.SigmoidBinaryCrossEntropyLoss, HuberLoss: losses.HuberLoss, HingeLoss: losses.HingeLoss,
  KLDivLoss: losses.KLDivLoss,
};

export const gluonCore = { Parameter, ParameterDict, Block, HybridBlock, nn, loss };
export { init } from './initializer';
