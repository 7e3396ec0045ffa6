// How every op reaches native code: one generic entry point by op id (ids from the native op table),
// with fast paths for one- and two-input ops, and the wrapping of the handles that come back.
// This module and ndarray.ts import each other; neither uses the other's exports while loading.
import { meta, native, opId } from './binding';
import { checkList, handleOf, options } from './args';
import { DTYPES, NDArray, Operand, OutOption } from './ndarray';

/** @internal wraps a fresh native handle whose shape/dtype are in `meta` */
export function wrap(h: number): NDArray {
  const nd = meta[1];
  const shape = new Array<number>(nd);
  for (let i = 0; i < nd; i++) shape[i] = meta[2 + i];
  return NDArray._make(h, shape, DTYPES[meta[0]]);
}

/** @internal wraps a handle whose meta has not been written yet */
export function wrapHandle(h: number): NDArray {
  native.meta(h);
  return wrap(h);
}

/** @internal runs an op with one output by name through the one generic entry point (into `out` if given) */
export function invoke(name: string, inputs: NDArray[], attrs: object | null = null, out?: NDArray): NDArray {
  return invokeN(name, inputs, attrs, out) as NDArray;
}

/** @internal runs any op by name; an op with several outputs gives a list */
export function invokeN(name: string, inputs: NDArray[], attrs: object | null = null, out?: NDArray): NDArray | NDArray[] {
  checkList(inputs, name, 'the list of arrays');
  const hs = inputs.map((x) => handleOf(x, name));
  if (out !== undefined && out !== null) {
    native.opN(opId(name), hs, attrs, handleOf(out, name));
    return out;
  }
  const r = native.opN(opId(name), hs, attrs, -1);
  if (typeof r === 'number') return wrap(r);
  return r.map(wrapHandle);
}

/** @internal a one-input op without attributes (the fast path) */
export function unaryOp(name: string, x: NDArray, opts?: OutOption, id = opId(name)): NDArray {
  if (opts !== undefined && opts !== null) opts = options(opts, name);
  if (opts && opts.out) return invoke(name, [x], null, opts.out);
  return wrap(native.op1(id, handleOf(x, name)));
}

/**
 * @internal a two-input op, either of which may be a number (the fast paths). `user`: the name the
 * user called (notEqual), when `name` is the native one (not_equal); `id`: the op's id, when the caller
 * looked it up once.
 */
export function binaryOp(name: string, a: Operand, b: Operand, opts?: OutOption, user = name, id = opId(name)): NDArray {
  if (opts !== undefined && opts !== null) opts = options(opts, user, name);
  const out = opts && opts.out;
  if (typeof b === 'number' && a instanceof NDArray) {
    if (out) return invoke(name, [a], { scalar: b }, out);
    return wrap(native.opScalar(id, a.hFor(name), b, false));
  }
  if (typeof a === 'number' && b instanceof NDArray) {
    if (out) return invoke(name, [b], { scalar: a, reverse: true }, out);
    return wrap(native.opScalar(id, b.hFor(name), a, true));
  }
  if (out) return invoke(name, [a as NDArray, b as NDArray], null, out);
  return wrap(native.op2(id, handleOf(a, name), handleOf(b, name)));
}

/**
 * @internal makes each nd function f(x, ...rest) a method x.name(...rest) (its type is declared by
 * the module that defines f, in a `declare module './ndarray'` block).
 */
export function addMethods(fns: Record<string, (x: any, ...rest: any[]) => unknown>): void {
  const proto = NDArray.prototype as unknown as Record<string, unknown>;
  for (const [name, f] of Object.entries(fns))
    proto[name] = function (this: NDArray, ...rest: unknown[]) {
      return f(this, ...rest);
    };
}
