// Elementwise and reduction ops: unary math, binary arithmetic and comparisons (with MXNet's second
// spellings), where, clip, and sum/mean/... over axes (math in native/src/ops/elementwise.cc,
// reduce.cc, activation.cc for clip). Every op reaches native code through dispatch.ts.
import { options } from './args';
import { addMethods, binaryOp, invoke, unaryOp } from './dispatch';
import { NDArrayError } from './errors';
import { NDArray, Operand, OutOption } from './ndarray';
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

// ---- methods ----

declare module './ndarray' {
  interface NDArray extends MethodsOf<UnaryFns>, BinaryMethods, ReduceMethods {
    clip(aMin: number | null, aMax: number | null, opts?: OutOption): NDArray;
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
addMethods({ clip });

export const elementwiseOps = { clip, where };
