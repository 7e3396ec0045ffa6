// Shared helpers of the MXNet test ports (mxnet.test_utils and test_autograd.py's helpers).
import { autograd, nd, NDArray } from '../../lib';

/** mxnet.test_utils.same: exact equality of shape and every element. */
export function same(a: NDArray | number[] | number[][], b: NDArray | number[] | number[][]): boolean {
  const A = a instanceof NDArray ? a : nd.array(a as any);
  const B = b instanceof NDArray ? b : nd.array(b as any);
  if (A.shape.length !== B.shape.length || A.shape.some((d, i) => d !== B.shape[i])) return false;
  const x = A.toTypedArray();
  const y = B.toTypedArray();
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

export function expectSame(a: NDArray, b: NDArray | number[] | number[][]): void {
  const B = b instanceof NDArray ? b : nd.array(b as any);
  expect(a.shape).toEqual(B.shape);
  expect(Array.from(a.toTypedArray())).toEqual(Array.from(B.toTypedArray()));
}

/** assert_almost_equal: |a-b| <= atol + rtol*|b| elementwise (float32 defaults rtol 1e-4, atol 1e-3). */
export function assertAlmostEqual(
  a: NDArray | ArrayLike<number>,
  b: NDArray | ArrayLike<number>,
  rtol = 1e-4,
  atol = 1e-3,
  what = '',
): void {
  const x = a instanceof NDArray ? a.toTypedArray() : a;
  const y = b instanceof NDArray ? b.toTypedArray() : b;
  if (a instanceof NDArray && b instanceof NDArray) expect(a.shape).toEqual(b.shape);
  expect(x.length).toBe(y.length);
  for (let i = 0; i < x.length; i++) {
    const ok = Math.abs(x[i] - y[i]) <= atol + rtol * Math.abs(y[i]);
    if (!ok) throw new Error(`${what} element ${i}: ${x[i]} vs expected ${y[i]} (rtol ${rtol}, atol ${atol})`);
  }
}

/** test_autograd.py's grad_and_loss: marks (selected) args with zero buffers, records, backward. */
export function gradAndLoss(func: (...args: any[]) => NDArray | NDArray[], argnum?: number | number[]) {
  return (...args: any[]): [NDArray[], NDArray | NDArray[]] => {
    let variables = args;
    if (argnum !== undefined) {
      const nums = Array.isArray(argnum) ? argnum : [argnum];
      variables = nums.map((i) => args[i]);
    }
    for (const v of variables) expect(v).toBeInstanceOf(NDArray);
    const grads = variables.map((v: NDArray) => nd.zerosLike(v));
    autograd.markVariables(variables, grads);
    const outputs = autograd.record(() => func(...args));
    autograd.backward(Array.isArray(outputs) ? outputs : [outputs]);
    return [grads, outputs];
  };
}

/** test_autograd.py's autograd_assert: exact forward and exact gradients. */
export function autogradAssert(
  args: any[],
  func: (...args: any[]) => NDArray,
  gradFunc: (...args: any[]) => NDArray[],
  argnum?: number | number[],
): void {
  const [grads, output] = gradAndLoss(func, argnum)(...args);
  const res = func(...args);
  expect(same(output as NDArray, res)).toBe(true);
  const expected = gradFunc(...args);
  expect(grads.length).toBe(expected.length);
  for (let i = 0; i < grads.length; i++) expectSame(grads[i], expected[i]);
}

/** A small deterministic PRNG (mulberry32, the DataLoader's shuffle generator) for shapes and JS-side data. */
export { mulberry32 as rng } from '../../lib/gluon/data/sampler';

/** rand_shape_nd(ndim, dim): ndim sizes each uniform in 1..dim. */
export function randShapeNd(r: () => number, ndim: number, dim = 10): number[] {
  return Array.from({ length: ndim }, () => 1 + Math.floor(r() * dim));
}
