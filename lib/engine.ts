// Waiting for the asynchronous engine (ENGINE.md). Ops return at once with their data pending; the
// blocking reads of NDArray (toArray, item, asnumpy, waitToRead...) wait in native code. Here: the
// waits for the whole queue, blocking (waitAll) and not (ready), and NDArray's non-blocking reads.
import { native } from './binding';
import { NDArrayError } from './errors';
import { NDArray, NestedArray } from './ndarray';

/** Blocks until every operation this thread issued has run; throws the first error found while computing that no read or wait has thrown yet. */
export function waitAll(): void {
  native.waitAll();
}

/**
 * Resolves, on a later turn of the event loop, once the given arrays are computed (or, with no
 * arrays, once everything issued so far has run); rejects with an error found while computing them
 * (with no arrays: the first one not thrown yet). The event loop stays free meanwhile.
 */
export function ready(...arrays: NDArray[]): Promise<void> {
  const handles = arrays.map((a, i) => {
    if (!(a instanceof NDArray)) throw new NDArrayError(`ready: argument ${i} is not an NDArray`, 'BAD_ARGUMENT');
    return a.hFor('ready');
  });
  // Queued work keeps the arrays' memory alive; holding the objects keeps the GC backstop away too.
  return new Promise<void>((resolve, reject) => {
    const settle = () => {
      try {
        native.checkReady(arrays.map((a, i) => (a.isDisposed ? -1 : handles[i])).filter((h) => h >= 0));
        resolve();
      } catch (e) {
        reject(e);
      }
    };
    // Settled from setImmediate, not from the thread-safe function's callback: Node runs up to 1000
    // of those callbacks in one go, each one's microtasks included, so a `step(); await nd.ready()`
    // loop whose next wait was queued meanwhile would run a thousand steps without letting I/O in.
    native.whenReady(() => setImmediate(settle));
  });
}

declare module './ndarray' {
  interface NDArray {
    /** Blocks until this array is computed; throws an error found while computing it. */
    waitToRead(): void;
    /** A typed-array copy of the values, without blocking the event loop. */
    data(): Promise<Float32Array | Float64Array | Int32Array | Uint8Array>;
    /** The values as nested lists, without blocking the event loop. */
    array(): Promise<NestedArray>;
  }
}

NDArray.prototype.waitToRead = function waitToRead(this: NDArray): void {
  native.waitToRead(this.hFor('waitToRead'));
};
// Misuse (a disposed array) throws at the call, as every other call's checks do (ready and waitToRead
// too); only what computing finds arrives as a rejection.
NDArray.prototype.data = function data(this: NDArray) {
  this.hFor('data');
  return ready(this).then(() => this.toTypedArray());
};
NDArray.prototype.array = function array(this: NDArray) {
  this.hFor('array');
  return ready(this).then(() => this.toArray());
};
