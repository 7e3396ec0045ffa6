// nd.<op> functions and their NDArray methods. Every op reaches native code through the generic
// entry points in ndarray.ts (op ids from the native op table), so an op's math lives only in C++.
import { NDArrayError } from './errors';
import { binaryOp, handleOf, invoke, NDArray, Operand, OutOption, unaryOp, options } from './ndarray';
import { BINARY_OPS, REDUCE_OPS, UNARY_OPS } from './ops.generated';

export interface AxisOptions extends OutOption {
  axis?: number | number[];
  keepdims?: boolean;
}

type UnaryName = (typeof UNARY_OPS)[number]['names'][number];
type BinaryName = (typeof BINARY_OPS)[number]['names'][number];
type ReduceName = (typeof REDUCE_OPS)[number]['names'][number];

type UnaryFns = { [K in UnaryName]: (x: NDArray, opts?: OutOption) => NDArray };
type BinaryFns = { [K in BinaryName]: (a: Operand, b: Operand, opts?: OutOption) => NDArray };
type ReduceFns = { [K in ReduceName]: (x: NDArray, opts?: AxisOptions) => NDArray };

const table: Record<string, (...args: any[]) => NDArray> = {};
/** The elementwise and reduction ops of lib/ops.generated.ts, each under every name it goes by. */
export const ops = table as UnaryFns & BinaryFns & ReduceFns;

// One function per op, under each of its names (nd.neg is nd.negative).
for (const { native, names } of UNARY_OPS) {
  const f = (x: NDArray, opts?: OutOption) => unaryOp(native, x, opts);
  for (const n of names) table[n] = f;
}
for (const { native, names } of BINARY_OPS) {
  const name = names[0];
  const f = (a: Operand, b: Operand, opts?: OutOption) => {
    if (typeof a === 'number' && typeof b === 'number')
      throw new NDArrayError(`${name}: at least one operand must be an NDArray`, 'BAD_ARGUMENT');
    return binaryOp(native, a, b, opts, name);
  };
  for (const n of names) table[n] = f;
}
for (const { native, names } of REDUCE_OPS) {
  const f = (x: NDArray, opts?: AxisOptions | null) => {
    const o = options(opts, native);
    return invoke(native, [x], { axis: o.axis ?? null, keepdims: o.keepdims ?? false }, o.out);
  };
  for (const n of names) table[n] = f;
}

export function clip(x: NDArray, aMin: number | null, aMax: number | null, opts?: OutOption): NDArray {
  return invoke('clip', [x], { a_min: aMin ?? null, a_max: aMax ?? null }, options(opts, 'clip').out);
}

export function where(cond: NDArray, x: NDArray, y: NDArray, opts?: OutOption): NDArray {
  return invoke('where', [cond, x, y], null, options(opts, 'where').out);
}

export function dot(a: NDArray, b: NDArray, opts: { transposeA?: boolean; transposeB?: boolean } & OutOption = {}): NDArray {
  opts = options(opts, 'dot') as typeof opts;
  return invoke('dot', [a, b], { transpose_a: !!opts.transposeA, transpose_b: !!opts.transposeB }, opts.out);
}

export function reshape(x: NDArray, shape: number[], opts?: OutOption): NDArray {
  return invoke('reshape', [x], { shape }, options(opts, 'reshape').out);
}
export function transpose(x: NDArray, axes?: number[] | null, opts?: OutOption): NDArray {
  return invoke('transpose', [x], { axes: axes ?? null }, options(opts, 'transpose').out);
}
export function expandDims(x: NDArray, axis: number, opts?: OutOption): NDArray {
  return invoke('expand_dims', [x], { axis }, options(opts, 'expandDims').out);
}
export function squeeze(x: NDArray, axis?: number | number[] | null, opts?: OutOption): NDArray {
  return invoke('squeeze', [x], { axis: axis ?? null }, options(opts, 'squeeze').out);
}
export function flatten(x: NDArray, opts?: OutOption): NDArray {
  return invoke('flatten', [x], null, options(opts, 'flatten').out);
}
export function broadcastTo(x: NDArray, shape: number[], opts?: OutOption): NDArray {
  return invoke('broadcast_to', [x], { shape }, options(opts, 'broadcastTo').out);
}
export function broadcastLike(x: NDArray, y: NDArray, opts?: OutOption): NDArray {
  const o = options(opts, 'broadcastLike', 'broadcast_to');
  handleOf(y, 'broadcastLike');
  // y's shape is literal: a zero-size axis is not MXNet's "keep this axis" code 0
  return invoke('broadcast_to', [x], { shape: y.shape, exact: true }, o.out);
}
export function astype(x: NDArray, dtype: string, opts?: OutOption): NDArray {
  return invoke('astype', [x], { dtype }, options(opts, 'astype').out);
}

// ---- methods ----

declare module './ndarray' {
  interface NDArray extends MethodsOf<UnaryFns>, BinaryMethods, ReduceMethods {
    clip(aMin: number | null, aMax: number | null, opts?: OutOption): NDArray;
    dot(b: NDArray, opts?: { transposeA?: boolean; transposeB?: boolean } & OutOption): NDArray;
    transpose(axes?: number[] | null, opts?: OutOption): NDArray;
    T: NDArray;
    expandDims(axis: number, opts?: OutOption): NDArray;
    squeeze(axis?: number | number[] | null, opts?: OutOption): NDArray;
    flatten(opts?: OutOption): NDArray;
    broadcastTo(shape: number[], opts?: OutOption): NDArray;
    broadcastLike(y: NDArray, opts?: OutOption): NDArray;
  }
}
type MethodsOf<T> = { [K in keyof T]: (opts?: OutOption) => NDArray };
type BinaryMethods = { [K in BinaryName]: (b: Operand, opts?: OutOption) => NDArray };
type ReduceMethods = { [K in ReduceName]: (opts?: AxisOptions) => NDArray };

const proto = NDArray.prototype as any;
for (const name of UNARY_OPS.flatMap((o) => o.names))
  proto[name] = function (this: NDArray, opts?: OutOption) {
    return ops[name](this, opts);
  };
for (const name of BINARY_OPS.flatMap((o) => o.names))
  proto[name] = function (this: NDArray, b: Operand, opts?: OutOption) {
    return ops[name](this, b, opts);
  };
for (const name of REDUCE_OPS.flatMap((o) => o.names))
  proto[name] = function (this: NDArray, opts?: AxisOptions) {
    return ops[name](this, opts);
  };
proto.clip = function (this: NDArray, a: number | null, b: number | null, opts?: OutOption) {
  return clip(this, a, b, opts);
};
proto.dot = function (this: NDArray, b: NDArray, opts?: any) {
  return dot(this, b, opts);
};
proto.transpose = function (this: NDArray, axes?: number[], opts?: OutOption) {
  return transpose(this, axes, opts);
};
Object.defineProperty(proto, 'T', {
  get(this: NDArray) {
    return transpose(this);
  },
});
proto.expandDims = function (this: NDArray, axis: number, opts?: OutOption) {
  return expandDims(this, axis, opts);
};
proto.squeeze = function (this: NDArray, axis?: number | number[], opts?: OutOption) {
  return squeeze(this, axis, opts);
};
proto.flatten = function (this: NDArray, opts?: OutOption) {
  return flatten(this, opts);
};
proto.broadcastTo = function (this: NDArray, shape: number[], opts?: OutOption) {
  return broadcastTo(this, shape, opts);
};
proto.broadcastLike = function (this: NDArray, y: NDArray, opts?: OutOption) {
  return broadcastLike(this, y, opts);
};
