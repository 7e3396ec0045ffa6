// Elementwise and reduction ops: unary math, binary arithmetic and comparisons (with MXNet's second
// spellings), where, clip, and sum/mean/... over axes (math in native/src/ops/elementwise.cc,
// reduce.cc, activation.cc for clip). Every op reaches native code through dispatch.ts.
import { options } from './args';
import { opId } from './binding';
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
/** A reduction's axis, given positionally as MXNet allows (`x.sum(1)`), or its options. */
export type AxisOrOptions = number | number[] | AxisOptions | null;
type ReduceFns = { [K in ReduceName]: (x: NDArray, axis?: AxisOrOptions, opts?: AxisOptions) => NDArray };

const table: Record<string, (...args: any[]) => NDArray> = {};
/** The elementwise and reduction ops of lib/ops.generated.ts, each under every name it goes by. */
export const ops = table as UnaryFns & BinaryFns & ReduceFns;

// One function per op, under each of its names (nd.neg is nd.negative).
// Each op's id is looked up at its first call (a Map lookup per call was 2% of a tiny op).
for (const { native, names } of UNARY_OPS) {
  let id = -1;
  const f = (x: NDArray, opts?: OutOption) => unaryOp(native, x, opts, id >= 0 ? id : (id = opId(native)));
  for (const n of names) table[n] = f;
}
for (const { native, names } of BINARY_OPS) {
  const name = names[0];
  let id = -1;
  const f = (a: Operand, b: Operand, opts?: OutOption) => {
    if (typeof a === 'number' && typeof b === 'number')
      throw new NDArrayError(`${name}: at least one operand must be an NDArray`, 'BAD_ARGUMENT');
    return binaryOp(native, a, b, opts, name, id >= 0 ? id : (id = opId(native)));
  };
  for (const n of names) table[n] = f;
}
for (const { native, names } of REDUCE_OPS) {
  const f = (x: NDArray, axis?: AxisOrOptions, opts?: AxisOptions | null) => {
    const o = reduceOptions(names[0], native, axis, opts);
    return invoke(native, [x], { axis: o.axis ?? null, keepdims: o.keepdims ?? false }, o.out);
  };
  for (const n of names) table[n] = f;
}

// (axis, opts) or (opts): the axis either positionally or as an option, never both.
function reduceOptions(name: string, native: string, axis: AxisOrOptions | undefined, opts: AxisOptions | null | undefined): AxisOptions {
  if (typeof axis !== 'number' && !Array.isArray(axis)) {
    if (opts !== undefined && opts !== null)
      throw new NDArrayError(`${name}: options come after an axis; got options in both places`, 'BAD_ARGUMENT');
    return options(axis, native);
  }
  const o = options(opts, native);
  if (o.axis !== undefined)
    throw new NDArrayError(`${name}: the axis is given twice (positionally and as the 'axis' option)`, 'BAD_ARGUMENT');
  return { ...o, axis };
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
type ReduceMethods = { [K in ReduceName]: (axis?: AxisOrOptions, opts?: AxisOptions) => NDArray };

// Each method calls its function directly (looking it up by name per call was a polymorphic keyed
// load, a tenth of a tiny op).
const proto = NDArray.prototype as any;
for (const name of UNARY_OPS.flatMap((o) => o.names)) {
  const f = table[name];
  proto[name] = function (this: NDArray, opts?: OutOption) {
    return f(this, opts);
  };
}
for (const name of BINARY_OPS.flatMap((o) => o.names)) {
  const f = table[name];
  proto[name] = function (this: NDArray, b: Operand, opts?: OutOption) {
    return f(this, b, opts);
  };
}
for (const name of REDUCE_OPS.flatMap((o) => o.names)) {
  const f = table[name];
  proto[name] = function (this: NDArray, axis?: AxisOrOptions, opts?: AxisOptions) {
    return f(this, axis, opts);
  };
}
addMethods({ clip });

export const elementwiseOps = { clip, where };
