// gluon.data and gluon.data.vision.
import { ArrayDataset, Dataset, SimpleDataset } from './dataset';
import { DataLoader, defaultBatchify } from './dataloader';
import { BatchSampler, RandomSampler, Sampler, SequentialSampler } from './sampler';
import { FashionMNIST, MNIST } from './vision/datasets';
import * as transforms from './vision/transforms';

export type { DataLoaderOptions } from './dataloader';
export type { LastBatch } from './sampler';
export type { MNISTOptions } from './vision/datasets';
export type { TransformLike } from './dataset';
export { ArrayDataset, Dataset, SimpleDataset, DataLoader, defaultBatchify, BatchSampler, RandomSampler, Sampler, SequentialSampler };
export const vision = { MNIST, FashionMNIST, transforms };
