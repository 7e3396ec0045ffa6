// gluon.nn convolution and pooling layers (1-D NCW, 2-D NCHW) over the native Convolution and Pooling ops.
import { NDArrayError } from '../errors';
import type { nd as ND } from '../index';
import { DType, NDArray } from '../ndarray';
import { Initializer } from './initializer';
import { BlockOptions, HybridBlock } from './block';
import { Parameter } from './parameter';
import { activate, exposeParams, layerOpts } from './layers';

type Tuple = number | number[];
type F = typeof ND;

function tuple(v: Tuple, n: number, what: string, who: string): number[] {
  const t = typeof v === 'number' ? new Array(n).fill(v) : [...v];
  if (t.length !== n || t.some((d) => !Number.isInteger(d) || d < 0))
    throw new NDArrayError(`${who}: ${what} must be an integer or ${n} integers, got ${JSON.stringify(v)}`, 'BAD_ARGUMENT');
  return t;
}

export interface ConvOptions extends BlockOptions {
  strides?: Tuple;
  padding?: Tuple;
  dilation?: Tuple;
  groups?: number;
  activation?: 'relu' | 'sigmoid' | 'tanh' | 'softrelu' | 'softsign' | null;
  useBias?: boolean;
  inChannels?: number;
  layout?: 'NCW' | 'NCHW';
  weightInitializer?: Initializer | string | null;
  biasInitializer?: Initializer | string | null;
  dtype?: DType;
}
const CONV_KEYS = ['strides', 'padding', 'dilation', 'groups', 'activation', 'useBias', 'inChannels', 'layout', 'weightInitializer', 'biasInitializer', 'dtype'];

class Conv extends HybridBlock {
  static alias(): string {
    return 'conv';
  }
  readonly kernel: number[];
  readonly strides: number[];
  readonly padding: number[];
  readonly dilation: number[];
  readonly groups: number;
  readonly act: ConvOptions['activation'];
  constructor(readonly channels: number, kernelSize: Tuple, dims: number, o: ConvOptions | undefined, who: string) {
    const opts = layerOpts(o, CONV_KEYS, who);
    super(opts);
    const layout = dims === 1 ? 'NCW' : 'NCHW';
    if (opts.layout !== undefined && opts.layout !== layout)
      throw new NDArrayError(`${who}: layout '${opts.layout}' is not supported (only ${layout})`, 'BAD_ARGUMENT');
    if (!Number.isInteger(channels) || channels <= 0) throw new NDArrayError(`${who}: channels must be a positive integer`, 'BAD_ARGUMENT');
    this.kernel = tuple(kernelSize, dims, 'kernelSize', who);
    this.strides = tuple(opts.strides ?? 1, dims, 'strides', who);
    this.padding = tuple(opts.padding ?? 0, dims, 'padding', who);
    this.dilation = tuple(opts.dilation ?? 1, dims, 'dilation', who);
    this.groups = opts.groups ?? 1;
    this.act = opts.activation ?? null;
    const inC = opts.inChannels ?? 0;
    const dtype = opts.dtype ?? 'float32';
    this.params.get('weight', { shape: [channels, inC / this.groups, ...this.kernel], init: opts.weightInitializer, dtype });
    if (opts.useBias ?? true) this.params.get('bias', { shape: [channels], init: opts.biasInitializer ?? 'zeros', dtype });
  }
  /** MXNet 1.x's layer.weight / layer.bias (null without a bias) */
  declare readonly weight: Parameter;
  declare readonly bias: Parameter | null;
  inferShape(x: NDArray): void {
    this.params.get('weight').shape = [this.channels, x.shape[1] / this.groups, ...this.kernel];
  }
  hybridForward(F: F, x: NDArray, p: { weight: NDArray; bias?: NDArray }): NDArray {
    // a ReLU goes into the convolution's output pass (one op, _conv_relu); other activations follow it
    const relu = this.act === 'relu';
    const o = { kernel: this.kernel, stride: this.strides, pad: this.padding, dilate: this.dilation, numFilter: this.channels, numGroup: this.groups, act: relu ? 'relu' as const : null };
    const y = p.bias ? F.Convolution(x, p.weight, p.bias, o) : F.Convolution(x, p.weight, { ...o, noBias: true });
    return this.act && !relu ? activate(F, y, this.act) : y;
  }
}
exposeParams(Conv, { weight: 'weight', bias: 'bias' });

export class Conv1D extends Conv {
  constructor(channels: number, kernelSize: Tuple, opts?: ConvOptions) {
    super(channels, kernelSize, 1, opts, 'Conv1D');
  }
}
export class Conv2D extends Conv {
  constructor(channels: number, kernelSize: Tuple, opts?: ConvOptions) {
    super(channels, kernelSize, 2, opts, 'Conv2D');
  }
}

export interface PoolOptions extends BlockOptions {
  strides?: Tuple | null;
  padding?: Tuple;
  ceilMode?: boolean;
  countIncludePad?: boolean;
  layout?: 'NCW' | 'NCHW';
}
class Pool extends HybridBlock {
  static alias(): string {
    return 'pool';
  }
  /** @internal */
  private readonly attrs: object;
  constructor(poolSize: Tuple, dims: number, type: 'max' | 'avg', o: PoolOptions | undefined, who: string) {
    const opts = layerOpts(o, ['strides', 'padding', 'ceilMode', 'countIncludePad', 'layout'], who);
    super(opts);
    const kernel = tuple(poolSize, dims, 'poolSize', who);
    this.attrs = {
      kernel, poolType: type, stride: tuple(opts.strides ?? kernel, dims, 'strides', who),
      pad: tuple(opts.padding ?? 0, dims, 'padding', who), poolingConvention: opts.ceilMode ? 'full' : 'valid',
      countIncludePad: opts.countIncludePad ?? true,
    };
  }
  hybridForward(F: F, x: NDArray): NDArray {
    return F.Pooling(x, this.attrs);
  }
}
export class MaxPool1D extends Pool { constructor(poolSize: Tuple = 2, opts?: PoolOptions) { super(poolSize, 1, 'max', opts, 'MaxPool1D'); } }
export class MaxPool2D extends Pool { constructor(poolSize: Tuple = 2, opts?: PoolOptions) { super(poolSize, 2, 'max', opts, 'MaxPool2D'); } }
export class AvgPool1D extends Pool { constructor(poolSize: Tuple = 2, opts?: PoolOptions) { super(poolSize, 1, 'avg', opts, 'AvgPool1D'); } }
export class AvgPool2D extends Pool { constructor(poolSize: Tuple = 2, opts?: PoolOptions) { super(poolSize, 2, 'avg', opts, 'AvgPool2D'); } }

class GlobalPool extends HybridBlock {
  static alias(): string {
    return 'pool';
  }
  /** @internal */
  readonly type: 'max' | 'avg';
  constructor(type: 'max' | 'avg', o?: BlockOptions) {
    super(layerOpts(o, ['layout'], 'GlobalPool'));
    this.type = type;
  }
  /** (N, C, ...) -> (N, C, 1, ...) as MXNet */
  hybridForward(F: F, x: NDArray): NDArray {
    return F.Pooling(x, { globalPool: true, poolType: this.type, kernel: new Array(x.shape.length - 2).fill(1) });
  }
}
export class GlobalMaxPool1D extends GlobalPool { constructor(opts?: BlockOptions) { super('max', opts); } }
export class GlobalMaxPool2D extends GlobalPool { constructor(opts?: BlockOptions) { super('max', opts); } }
export class GlobalAvgPool1D extends GlobalPool { constructor(opts?: BlockOptions) { super('avg', opts); } }
export class GlobalAvgPool2D extends GlobalPool { constructor(opts?: BlockOptions) { super('avg', opts); } }
