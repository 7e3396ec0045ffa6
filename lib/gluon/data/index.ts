// gluon.data and gluon.data.vision.
import { ArrayDataset, Dataset, SimpleDataset } from './dataset';
import { DataLoader, defaultBatchify } from './dataloader';
import { FashionMNIST, MNIST } from './vision/datasets';
import * as transforms from './vision/transforms';

export type { DataLoaderOptions, LastBatch } from './dataloader';
export type { MNISTOptions } from './vision/datasets';
export type { TransformLike } from './dataset';
export { ArrayDataset, Dataset, SimpleDataset, DataLoader, defaultBatchify };
export const vision = { MNIST, FashionMNIST, transforms };
