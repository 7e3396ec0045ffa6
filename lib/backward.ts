// The JS side of a backward pass: the pass frames that own the handles ndgrad makes for a pass
// (a custom Function's output gradients and saved tensors), shared by NDArray.backward and autograd.
import { native } from './binding';
import { handleOf } from './args';
import { NDArrayError } from './errors';
import type { NDArray } from './ndarray';

/** @internal autograd.backward's and NDArray.backward's option keys */
export const BACKWARD_KEYS: ReadonlySet<string> = new Set(['retainGraph', 'trainMode']);

// One frame per running backward pass (passes nest: Function.backward may start one): the handles
// ndgrad made for it, a Function's output gradients and saved tensors, freed when that pass ends.
// Nothing else is freed: what Function.backward returns belongs to the user.
const passFrames: NDArray[][] = [];

/** @internal hands arrays to the innermost running pass, which frees them when it ends */
export function forPass(arrays: NDArray[]): void {
  if (passFrames.length === 0) {
    for (const a of arrays) a.dispose();
    throw new NDArrayError('Function.backward: called outside a backward pass', 'BAD_ARGUMENT');
  }
  passFrames[passFrames.length - 1].push(...arrays);
}

/** @internal runs one backward pass (native call) in its own frame */
export function inPass<T>(run: () => T): T {
  const frame: NDArray[] = [];
  passFrames.push(frame);
  try {
    return run();
  } finally {
    passFrames.splice(passFrames.lastIndexOf(frame), 1);
    for (const a of frame) a.dispose();
  }
}

/** @internal */
export function runBackward(heads: NDArray[], headGrads: (NDArray | null | undefined)[], retainGraph: boolean, trainMode: boolean): void {
  const hs = heads.map((h) => handleOf(h, 'backward'));
  const hg = headGrads.map((g) => (g ? handleOf(g, 'backward') : -1));
  inPass(() => native.backward(hs, hg, retainGraph, trainMode));
}
