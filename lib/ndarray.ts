// The NDArray class: a plain object holding an integer handle into the native handle table.
// Data lives in C++; JS sees it only through copies (toArray / toTypedArray / item). Most methods are
// added by the op modules (ops.ts, shape.ts, ...), each next to its nd function.
// memory.ts, dispatch.ts and args.ts import this module and it imports them; none of them uses
// another's exports while loading, so the cycle is harmless.
import { native } from './binding';
import { options } from './args';
import { BACKWARD_KEYS, runBackward } from './backward';
import { binaryOp, invoke, wrap } from './dispatch';
import { NDArrayError } from './errors';
import { formatArray } from './format';
import { ownHandle, register, track, unregister } from './memory';

/**
 * Element types. 'bfloat16' (the upper half of a float32: float32's range, 8 significant bits) is
 * stored in 2 bytes; ops compute on it in float32 and round each result to bfloat16 (ties to even).
 */
export type DType = 'float32' | 'float64' | 'int32' | 'uint8' | 'bfloat16';
/** @internal the dtypes in the order of their native codes */
export const DTYPES: DType[] = ['float32', 'float64', 'int32', 'uint8', 'bfloat16'];
/** @internal the native dtype codes */
export const DTYPE_CODE: Record<DType, number> = { float32: 0, float64: 1, int32: 2, uint8: 3, bfloat16: 4 };

export type Operand = NDArray | number;
export interface OutOption {
  out?: NDArray;
}

/** What toArray() gives: a number for a 0-d array, else nested lists of numbers, one level per axis. */
export type NestedArray = number | NestedArray[];

export class NDArray {
  /** @internal native handle; -1 once disposed */
  _h: number;
  readonly shape: number[];
  readonly dtype: DType;
  /** @internal the gradient buffer object, while marked */
  _grad: NDArray | null = null;
  /** @internal never disposed by tidy (kept, or a variable's gradient) */
  _kept = false;

  // Users make arrays with nd.array / nd.zeros / ops, never with `new`.
  private constructor(h: number, shape: number[], dtype: DType) {
    this._h = h;
    this.shape = shape;
    this.dtype = dtype;
    track(this);
  }
  /** @internal wraps a native handle (dispatch.ts's wrap) */
  static _make(h: number, shape: number[], dtype: DType): NDArray {
    return new NDArray(h, shape, dtype);
  }

  get size(): number {
    let n = 1;
    for (const d of this.shape) n *= d;
    return n;
  }
  get ndim(): number {
    return this.shape.length;
  }
  get context(): string {
    return 'cpu(0)';
  }
  get isDisposed(): boolean {
    return this._h < 0;
  }

  /** @internal the handle, or DISPOSED */
  get h(): number {
    return this.hFor('NDArray');
  }
  /** @internal the handle, or DISPOSED naming the op that needed it */
  hFor(op: string): number {
    if (this._h < 0)
      throw new NDArrayError(`${op}: NDArray ${this.shape.join('x') || '()'} ${this.dtype} was disposed`, 'DISPOSED');
    return this._h;
  }

  /** @internal true when _grad was allocated by attachGrad (then it is freed with this array) */
  _ownsGrad = false;
  /** @internal registered with the GC backstop */
  _registered = false;

  dispose(): void {
    if (this._h >= 0) {
      native.release(this._h);
      this._h = -1;
      if (this._registered) unregister(this);
      if (this._grad && this._ownsGrad) this._grad.dispose();
    }
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** A copy of the elements in their dtype's typed array; a bfloat16 array gives a Float32Array (each value exact). */
  toTypedArray(): Float32Array | Float64Array | Int32Array | Uint8Array {
    return native.toTyped(this.hFor('toTypedArray')) as Float32Array | Float64Array | Int32Array | Uint8Array;
  }
  /** The values as nested lists, one level per axis (a number for a 0-d array). */
  toArray(): NestedArray {
    const flat = Array.from(this.toTypedArray() as ArrayLike<number>);
    if (this.shape.length === 0) return flat[0];
    const build = (axis: number, offset: number): NestedArray[] => {
      const n = this.shape[axis];
      let stride = 1;
      for (let i = axis + 1; i < this.shape.length; i++) stride *= this.shape[i];
      const out: NestedArray[] = [];
      for (let i = 0; i < n; i++) out.push(axis === this.shape.length - 1 ? flat[offset + i] : build(axis + 1, offset + i * stride));
      return out;
    };
    return build(0, 0);
  }
  item(): number {
    return native.item(this.hFor('item'));
  }
  /** MXNet's spelling of item(). */
  asscalar(): number {
    return native.item(this.hFor('asscalar'));
  }
  /** MXNet's spelling (NumPy's array there) of toArray(). */
  asnumpy(): NestedArray {
    return this.toArray();
  }
  toString(): string {
    if (this._h < 0) return `<NDArray ${this.shape.join('x')} @cpu(0) (disposed)>`;
    return `${formatArray(this.toTypedArray(), this.shape, this.dtype)}\n<NDArray ${this.shape.join('x')} @cpu(0)>`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  // ---- autograd ----
  /** The gradient buffer while the array is marked (attachGrad / markVariables), else null. */
  get grad(): NDArray | null {
    return this._grad;
  }
  attachGrad(gradReq: 'write' | 'add' | 'null' = 'write'): void {
    const h = this.hFor('attachGrad');
    const g = ownHandle(invoke('full', [], { shape: this.shape, value: 0, dtype: this.dtype }));
    g._kept = true;
    try {
      native.markVariables([h], [g.h], [gradReq]);
    } catch (e) {
      g.dispose(); // not attached: nobody else can free it
      throw e;
    }
    if (this._grad && this._grad !== g) {
      // the replaced buffer: left to the GC backstop (the caller may still hold it)
      this._grad._kept = false;
      if (this._ownsGrad && this._grad._h >= 0) register(this._grad);
    }
    this._grad = g;
    this._ownsGrad = true;
  }
  dropGrad(): void {
    native.dropGrad(this.hFor('dropGrad'));
    if (this._grad && this._ownsGrad) this._grad.dispose();
    this._grad = null;
    this._ownsGrad = false;
  }
  detach(): NDArray {
    return wrap(native.detach(this.hFor('detach')));
  }
  backward(outGrad?: NDArray | null, opts?: { retainGraph?: boolean; trainMode?: boolean } | null): void {
    const o = options(opts, 'backward', BACKWARD_KEYS);
    runBackward([this], [outGrad ?? null], o.retainGraph ?? false, o.trainMode ?? true);
  }
  /** MXNet's _fresh_grad: set by backward on every variable it wrote. */
  get freshGrad(): boolean {
    return native.freshGrad(this.hFor('freshGrad'));
  }
  set freshGrad(v: boolean) {
    native.freshGrad(this.hFor('freshGrad'), v);
  }

  // ---- shape ----
  reshape(...shape: (number | number[])[]): NDArray {
    const s = shape.length === 1 && Array.isArray(shape[0]) ? (shape[0] as number[]) : (shape as number[]);
    return invoke('reshape', [this], { shape: s });
  }
  at(i: number): NDArray {
    return invoke('at', [this], { index: i });
  }
  astype(dtype: DType, opts?: OutOption): NDArray {
    return invoke('astype', [this], { dtype }, options(opts, 'astype').out);
  }
  copy(): NDArray {
    return invoke('copy', [this]);
  }
  /** MXNet's `copy()` under the name of PyTorch's: a new array with x's values (differentiable). */
  clone(): NDArray {
    return invoke('copy', [this]);
  }
  asType(dtype: DType, opts?: OutOption): NDArray {
    return this.astype(dtype, opts);
  }

  // ---- in place (MXNet's x[:] = v, +=, -=, *=, /=) ----
  set(value: Operand): this {
    if (typeof value === 'number') invoke('full', [], { shape: this.shape, dtype: this.dtype, value }, this);
    else invoke('broadcast_to', [value], { shape: this.shape, exact: true }, this);  // literal shape (0 = size 0)
    return this;
  }
  iadd(v: Operand): this { return inPlace(this, 'add', v); }
  isub(v: Operand): this { return inPlace(this, 'subtract', v); }
  imul(v: Operand): this { return inPlace(this, 'multiply', v); }
  idiv(v: Operand): this { return inPlace(this, 'divide', v); }
}

function inPlace<T extends NDArray>(x: T, op: string, v: Operand): T {
  binaryOp(op, x, v, { out: x });
  return x;
}
