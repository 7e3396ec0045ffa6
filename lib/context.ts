// MXNet's device arguments, ported unchanged (GLUON.md "Porting conveniences"): `nd.cpu()` is the
// one context ndgrad has; `ctx` options, `x.asInContext(ctx)`, `x.copyto(ctxOrArray)` and
// `x.context` / `x.ctx` (the string 'cpu(0)') accept it, and a GPU context is BAD_ARGUMENT saying that ndgrad runs on the CPU only.
import { describeValue } from './args';
import { NDArrayError } from './errors';
import { NDArray } from './ndarray';

/** A device, as MXNet's `mx.Context`: ndgrad has one, `cpu(0)`. */
export class Context {
  readonly deviceType = 'cpu' as const;
  readonly deviceId = 0 as const;
  toString(): string {
    return 'cpu(0)';
  }
}

const CPU = new Context();

/** What a `ctx` argument takes: `nd.cpu()` (a Context), or its name 'cpu' / 'cpu(0)'. */
export type ContextLike = Context | 'cpu' | 'cpu(0)';

function noGpu(op: string, what: string): NDArrayError {
  return new NDArrayError(`${op}: ${what} is a GPU context; ndgrad runs on the CPU only (use nd.cpu())`, 'BAD_ARGUMENT');
}

/** MXNet's `mx.cpu(deviceId)`: the CPU context; a deviceId other than 0 is BAD_ARGUMENT. */
export function cpu(deviceId = 0): Context {
  if (deviceId !== 0)
    throw new NDArrayError(`cpu: ndgrad has one CPU context, cpu(0); got cpu(${typeof deviceId === 'number' ? deviceId : describeValue(deviceId)})`, 'BAD_ARGUMENT');
  return CPU;
}

/** MXNet's `mx.gpu(deviceId)`: always BAD_ARGUMENT, as ndgrad has no GPU. */
export function gpu(deviceId = 0): never {
  throw noGpu('gpu', `gpu(${typeof deviceId === 'number' ? deviceId : describeValue(deviceId)})`);
}

/** @internal BAD_ARGUMENT unless ctx names cpu(0) (undefined/null: the default, cpu(0)) */
export function checkContext(ctx: unknown, op: string): Context {
  if (ctx === undefined || ctx === null || ctx instanceof Context || ctx === 'cpu' || ctx === 'cpu(0)') return CPU;
  if (typeof ctx === 'string' && /^gpu(\(\d+\))?$/.test(ctx)) throw noGpu(op, `'${ctx}'`);
  const type = typeof ctx === 'object' ? (ctx as { deviceType?: unknown }).deviceType : undefined;
  if (type === 'gpu') throw noGpu(op, 'the context');
  throw new NDArrayError(`${op}: ctx must be nd.cpu() (the one context), got ${describeValue(ctx)}`, 'BAD_ARGUMENT');
}

/**
 * @internal opts without its `ctx` key, which is checked to name cpu(0); anything that is not a
 * plain options object is returned as it is, for the op's own options check to refuse.
 */
export function withoutCtx<T extends object>(opts: T | null | undefined, op: string): T | null | undefined {
  if (opts === null || typeof opts !== 'object' || Object.getPrototypeOf(opts) !== Object.prototype || !('ctx' in opts))
    return opts;
  const { ctx, ...rest } = opts as T & { ctx?: unknown };
  checkContext(ctx, op);
  return rest as T;
}

/** `x.copyto(other)`: other's values become x's (converted to other's dtype); shapes must match. */
function copyto(x: NDArray, target: NDArray | ContextLike): NDArray {
  if (!(target instanceof NDArray)) {
    checkContext(target, 'copyto');
    return x.copy();
  }
  if (target.shape.length !== x.shape.length || target.shape.some((d, i) => d !== x.shape[i]))
    throw new NDArrayError(
      `copyto: the target's shape (${target.shape.join(',')}) differs from the source's (${x.shape.join(',')})`,
      'SHAPE_MISMATCH',
    );
  return x.astype(target.dtype, { out: target });
}

declare module './ndarray' {
  interface NDArray {
    /** MXNet's `x.ctx`: 'cpu(0)', as `x.context` (API.md); either is accepted wherever a ctx is. */
    readonly ctx: 'cpu(0)';
    /** MXNet's `x.as_in_context(ctx)`: x itself (the one context); a GPU context is BAD_ARGUMENT. */
    asInContext(ctx: ContextLike): NDArray;
    /** MXNet's `x.copyto(ctxOrArray)`: a copy in ctx, or x's values written into the array (returned). */
    copyto(target: NDArray | ContextLike): NDArray;
  }
}
const proto = NDArray.prototype as unknown as Record<string, unknown>;
Object.defineProperty(proto, 'ctx', { get: () => 'cpu(0)', configurable: true });
proto.asInContext = function (this: NDArray, ctx: ContextLike): NDArray {
  checkContext(ctx, 'asInContext');
  this.hFor('asInContext');  // a disposed array is DISPOSED here as everywhere
  return this;
};
proto.copyto = function (this: NDArray, target: NDArray | ContextLike): NDArray {
  return copyto(this, target);
};

export const contextFunctions = { cpu, gpu };
