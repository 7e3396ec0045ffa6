// What the array file formats (MXNet's .params, NumPy's .npy/.npz) share: reading a whole file as
// BAD_FILE-or-bytes, atomic writes, and moving an array's bytes in and out of native memory.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { native } from './binding';
import { NDArrayError } from './errors';
import { describeValue } from './args';
import { wrap } from './dispatch';
import { DType, DTYPE_CODE, NDArray } from './ndarray';

// Every format here is little-endian and the arrays are handed over as they lie in the file.
if (os.endianness() !== 'LE') throw new Error('ndgrad: array files need a little-endian host');

/** @internal */
export const ELEMENT_BYTES: Record<DType, number> = { float32: 4, float64: 8, int32: 4, uint8: 1, bfloat16: 2 };

const VIEW = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  uint8: Uint8Array,
  bfloat16: Uint16Array, // the raw bits
} as const;

/** @internal a BAD_FILE error whose message starts with the operation and names the file */
export function badFile(op: string, file: string, what: string): NDArrayError {
  return new NDArrayError(`${op}: ${file}: ${what}`, 'BAD_FILE');
}

/** a failed system call's errno code (ENOENT), or the error's message */
const reason = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** @internal checks a path argument */
export function pathArg(op: string, p: unknown): string {
  if (typeof p !== 'string' || p === '')
    throw new NDArrayError(`${op}: expected a file path, got ${describeValue(p)}`, 'BAD_ARGUMENT');
  return p;
}

/** @internal bytes of a file by position: an open file read on demand, or a buffer in memory */
export interface ByteSource {
  readonly size: number;
  /** n bytes at `at` (within size); from a file, a fresh buffer (so typed views of it are aligned) */
  read(at: number, n: number): Buffer;
  close(): void;
}

/** @internal a buffer as a ByteSource */
export function bufferSource(buf: Buffer): ByteSource {
  return { size: buf.length, read: (at, n) => buf.subarray(at, at + n), close: () => undefined };
}

/**
 * @internal An open file as a ByteSource (BAD_FILE when it cannot be opened or is not a file): large
 * files are never held whole in JS memory, only the array being created.
 */
export function fileSource(op: string, file: string): ByteSource {
  const cannot = (e: unknown): NDArrayError =>
    badFile(op, file, `cannot read the file (${reason(e)})`);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw cannot(e);
  }
  let size: number;
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error('not a regular file');
    size = st.size;
  } catch (e) {
    fs.closeSync(fd);
    throw cannot(e);
  }
  return {
    size,
    read(at: number, n: number): Buffer {
      const b = Buffer.allocUnsafeSlow(n);
      let done = 0;
      try {
        while (done < n) {
          const got = fs.readSync(fd, b, done, n - done, at + done);
          if (got === 0) throw new Error('the file became shorter while it was read');
          done += got;
        }
      } catch (e) {
        throw cannot(e);
      }
      return b;
    },
    close: () => fs.closeSync(fd),
  };
}

/** @internal the element count of a shape, or -1 when it passes 2^53 */
export function elementCount(shape: number[]): number {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) return -1;
  }
  return n;
}

/**
 * @internal A new array holding `bytes` (exactly the array's element bytes, little-endian): one copy
 * into native memory. Bytes at an offset the element type cannot be viewed at are first copied to an
 * aligned buffer.
 */
export function arrayFromBytes(bytes: Uint8Array, dtype: DType, shape: number[]): NDArray {
  const size = ELEMENT_BYTES[dtype];
  let b = bytes;
  if (b.byteOffset % size !== 0) b = new Uint8Array(b); // a copy starts at offset 0
  const view = new VIEW[dtype](b.buffer as ArrayBuffer, b.byteOffset, b.byteLength / size);
  return wrap(native.fromTyped(view, shape, DTYPE_CODE[dtype]));
}

/**
 * @internal Creates every array of a validated file, or none: an allocation refused part way
 * (OUT_OF_MEMORY) disposes those already made.
 */
export function createAll<T>(items: T[], make: (item: T) => NDArray): NDArray[] {
  const made: NDArray[] = [];
  try {
    for (const item of items) made.push(make(item));
  } catch (e) {
    for (const a of made) a.dispose();
    throw e;
  }
  return made;
}

/** @internal an array's element bytes (a copy out of native memory) */
export function bytesOf(x: NDArray): Uint8Array {
  const t = native.toTyped(x.hFor('save'), true);
  return new Uint8Array(t.buffer, t.byteOffset, t.byteLength);
}

/** @internal checks that x is a live NDArray (before a save opens its file) */
export function liveArray(op: string, x: unknown, what: string): NDArray {
  if (!(x instanceof NDArray)) throw new NDArrayError(`${op}: ${what} is not an NDArray (${describeValue(x)})`, 'BAD_ARGUMENT');
  x.hFor(op);
  return x;
}

/**
 * @internal Writes a file atomically: `write` appends chunks to a temporary file in the target's
 * directory, which is flushed and renamed over `file` only when all went well. Whatever fails (the
 * writer throwing included) removes the temporary file and leaves an existing `file` untouched.
 */
export function writeAtomic(op: string, file: string, write: (put: (chunk: Uint8Array) => void) => void): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'wx');
  } catch (e) {
    throw badFile(op, file, `cannot write the file (${reason(e)})`);
  }
  try {
    const put = (chunk: Uint8Array): void => {
      let done = 0;
      while (done < chunk.byteLength) done += fs.writeSync(fd, chunk, done, chunk.byteLength - done);
    };
    write(put);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = -1;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd >= 0) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    if (e instanceof NDArrayError) throw e;
    throw badFile(op, file, `cannot write the file (${reason(e)})`);
  }
}
