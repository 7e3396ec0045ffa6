// gluon.data.vision.transforms: ToTensor, Normalize, Resize, Compose. Each takes one image (HWC or CHW
// as MXNet) or a whole batch (one more leading axis) and runs as a few native ops on it, so DataLoader
// applies them once per batch of an ArrayDataset instead of once per sample.
import { NDArrayError } from '../../../errors';
import { describeValue, options } from '../../../args';
import { array } from '../../../creation';
import { take } from '../../../indexing';
import { tidy } from '../../../memory';
import { NDArray } from '../../../ndarray';
import { ops } from '../../../ops';
import { transpose } from '../../../rearrange';

/** A built-in transform: `forward(x)` on one sample or on a batch. */
export abstract class Transform {
  /** true: DataLoader may run it once on a gathered batch instead of per sample */
  readonly batchable: boolean = true;
  abstract forward(x: NDArray): NDArray;
}

function checkInput(x: NDArray, name: string, ranks: number[]): void {
  if (!(x instanceof NDArray)) throw new NDArrayError(`${name}: expected an NDArray, got ${describeValue(x)}`, 'BAD_ARGUMENT');
  if (!ranks.includes(x.ndim))
    throw new NDArrayError(`${name}: expected a ${ranks.join('-d or ')}-d array, got shape [${x.shape.join(', ')}]`, 'SHAPE_MISMATCH');
}

/** HWC (or NHWC) uint8 in [0, 255] -> CHW (NCHW) float32 in [0, 1] (MXNet ToTensor). */
export class ToTensor extends Transform {
  forward(x: NDArray): NDArray {
    checkInput(x, 'ToTensor', [3, 4]);
    return tidy(() => {
      const axes = x.ndim === 3 ? [2, 0, 1] : [0, 3, 1, 2];
      // transposed while still uint8 (a quarter of the bytes), then one convert and one scale
      return ops.divide(transpose(x, axes).astype('float32'), 255);
    });
  }
}

function channelValues(v: number | number[], what: string): number[] {
  const list = typeof v === 'number' ? [v] : v;
  if (!Array.isArray(list) || list.length === 0 || !list.every((e) => typeof e === 'number' && Number.isFinite(e)))
    throw new NDArrayError(`Normalize: ${what} must be a number or a list of numbers, got ${describeValue(v)}`, 'BAD_ARGUMENT');
  return list;
}

/** (x - mean) / std per channel of CHW (NCHW) float input (MXNet Normalize). */
export class Normalize extends Transform {
  readonly mean: number[];
  readonly std: number[];
  constructor(mean: number | number[] = 0, std: number | number[] = 1) {
    super();
    this.mean = channelValues(mean, 'mean');
    this.std = channelValues(std, 'std');
    if (this.std.some((s) => s === 0)) throw new NDArrayError('Normalize: std must not be 0', 'BAD_ARGUMENT');
  }
  forward(x: NDArray): NDArray {
    checkInput(x, 'Normalize', [3, 4]);
    const c = x.shape[x.ndim - 3];
    for (const [name, v] of [['mean', this.mean], ['std', this.std]] as const)
      if (v.length !== 1 && v.length !== c)
        throw new NDArrayError(`Normalize: ${name} has ${v.length} values for ${c} channels`, 'SHAPE_MISMATCH');
    return tidy(() => {
      const shape = [this.mean.length === 1 && this.std.length === 1 ? 1 : c, 1, 1];
      const per = (v: number[]): NDArray =>
        array(Float64Array.from({ length: shape[0] }, (_, i) => v[v.length === 1 ? 0 : i]), { dtype: x.dtype }).reshape(shape);
      return ops.divide(ops.subtract(x, per(this.mean)), per(this.std));
    });
  }
}

/**
 * Resizes HWC (NHWC) images to `size` (a number: size x size, or with keepRatio the shorter side; or
 * [width, height], as MXNet) by bilinear interpolation at pixel centres: the rule of OpenCV's INTER_LINEAR,
 * which MXNet's image resize calls, and of PyTorch's interpolate(align_corners=False). It is computed in
 * float32 (float64 for float64 input); uint8 input is rounded back to uint8, where OpenCV's fixed-point
 * weights can differ by one level.
 */
export class Resize extends Transform {
  readonly size: number | [number, number];
  readonly keepRatio: boolean;
  constructor(size: number | [number, number], opts: { keepRatio?: boolean; interpolation?: number } = {}) {
    super();
    const o = options(opts, 'Resize', new Set(['keepRatio', 'interpolation']));
    const [w, h] = typeof size === 'number' ? [size, size] : Array.isArray(size) && size.length === 2 ? size : [NaN, NaN];
    if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1)
      throw new NDArrayError(`Resize: size must be a positive integer or [width, height], got ${describeValue(size)}`, 'BAD_ARGUMENT');
    if ((o.interpolation ?? 1) !== 1)
      throw new NDArrayError(`Resize: only bilinear interpolation (1) is implemented, got ${describeValue(o.interpolation)}`, 'BAD_ARGUMENT');
    this.size = typeof size === 'number' ? size : [w, h];
    this.keepRatio = !!o.keepRatio;
  }
  forward(x: NDArray): NDArray {
    checkInput(x, 'Resize', [3, 4]);
    const hAxis = x.ndim - 3;
    let [width, height] = typeof this.size === 'number' ? [this.size, this.size] : this.size;
    if (typeof this.size === 'number' && this.keepRatio) {
      // the shorter side becomes size (MXNet keep_ratio; the other side truncated as int() does)
      const [ih, iw] = [x.shape[hAxis], x.shape[hAxis + 1]];
      if (ih > iw) height = Math.max(1, Math.trunc((ih * width) / iw));
      else width = Math.max(1, Math.trunc((iw * height) / ih));
    }
    return tidy(() => {
      let y = x.dtype === 'float64' ? x : x.astype('float32');
      y = interpolate(y, hAxis, height);
      y = interpolate(y, hAxis + 1, width);
      if (x.dtype === 'float32' || x.dtype === 'float64') return y;
      const hi = x.dtype === 'uint8' ? 255 : 2147483647;
      return ops.floor(ops.add(ops.minimum(ops.maximum(y, 0), hi), 0.5)).astype(x.dtype);
    });
  }
}

// Linear interpolation along one axis: two gathers and a weighted sum (weights broadcast along the rest).
function interpolate(x: NDArray, axis: number, out: number): NDArray {
  const n = x.shape[axis];
  if (n === out) return x;
  const i0 = new Int32Array(out);
  const i1 = new Int32Array(out);
  const w1 = new Float64Array(out);
  const scale = n / out;
  for (let i = 0; i < out; i++) {
    const src = Math.max(0, (i + 0.5) * scale - 0.5);
    const lo = Math.min(Math.floor(src), n - 1);
    i0[i] = lo;
    i1[i] = Math.min(lo + 1, n - 1);
    w1[i] = src - lo;
  }
  const wShape = x.shape.map((d, k) => (k === axis ? out : 1));
  const w = array(w1, { dtype: x.dtype }).reshape(wShape);
  const a = take(x, array(i0), { axis });
  const b = take(x, array(i1), { axis });
  return ops.add(a, ops.multiply(ops.subtract(b, a), w));
}

/** Runs transforms in order (MXNet Compose). */
export class Compose extends Transform {
  readonly transforms: readonly (Transform | ((x: NDArray) => NDArray))[];
  readonly batchable: boolean;
  constructor(transforms: (Transform | ((x: NDArray) => NDArray))[]) {
    super();
    if (!Array.isArray(transforms)) throw new NDArrayError(`Compose: expected a list of transforms, got ${describeValue(transforms)}`, 'BAD_ARGUMENT');
    for (const t of transforms)
      if (typeof t !== 'function' && !(t instanceof Transform))
        throw new NDArrayError(`Compose: expected transforms or functions, got ${describeValue(t)}`, 'BAD_ARGUMENT');
    this.transforms = transforms.slice();
    this.batchable = transforms.every((t) => t instanceof Transform && t.batchable);
  }
  forward(x: NDArray): NDArray {
    return tidy(() => this.transforms.reduce((y, t) => (typeof t === 'function' ? t(y) : t.forward(y)), x));
  }
}
