// nd.saveNpy / loadNpy / saveNpz / loadNpz: NumPy's .npy format and its zip archive .npz (np.save,
// np.savez, np.savez_compressed; MXNet 2.x's save_parameters writes .npz too).
//
// .npy: "\x93NUMPY", version (1.0: u16 header length; 2.0/3.0: u32), then a Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with spaces and a newline so the
// data starts at a multiple of 64, then the C-order element bytes.
// .npz: a zip archive with one "<name>.npy" entry per array, stored or deflated; the central
// directory (with its zip64 extensions, which NumPy writes) says where each entry is.
import * as zlib from 'zlib';
import { NDArrayError } from './errors';
import { describeValue } from './args';
import { DType, NDArray } from './ndarray';
import {
  ByteSource, ELEMENT_BYTES, arrayFromBytes, badFile, bufferSource, bytesOf, createAll, elementCount, fileSource, liveArray,
  pathArg, writeAtomic,
} from './fileio';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
// MXNet 2 writes bfloat16 as a structured type (NumPy has no bfloat16): [('bfloat16', '<u2')]
const DESCR: Record<DType, string> = {
  float32: "'<f4'", float64: "'<f8'", int32: "'<i4'", uint8: "'|u1'", bfloat16: "[('bfloat16', '<u2')]",
};
/** NumPy's type codes (kind + size) of the dtypes ndgrad has */
const KIND: Record<string, DType> = { f4: 'float32', f8: 'float64', i4: 'int32', u1: 'uint8', bfloat16: 'bfloat16' };
const OTHER_KINDS: Record<string, string> = {
  f2: 'float16', i1: 'int8', i2: 'int16', i8: 'int64', u2: 'uint16', u4: 'uint32', u8: 'uint64', b1: 'bool',
  c8: 'complex64', c16: 'complex128',
};

/** @internal one validated .npy payload: its dtype, shape and where its element bytes are. */
export interface NpyArray {
  dtype: DType;
  shape: number[];
  /** the element bytes, little-endian (read from the file now) */
  data(): Uint8Array;
  /** the data is in Fortran (column-major) order */
  fortran: boolean;
}

/**
 * @internal Validates a .npy payload (a whole .npy file or one .npz entry) reading only its header;
 * the data is read when asked for.
 */
export function parseNpy(src: ByteSource, op: string, where: string): NpyArray {
  const fail = (what: string): NDArrayError => badFile(op, where, what);
  const size = src.size;
  const pre = src.read(0, Math.min(size, 12));
  if (size < 10 || !pre.subarray(0, 6).equals(MAGIC)) throw fail('not a .npy file (bad magic)');
  const major = pre[6];
  if (major < 1 || major > 3) throw fail(`unknown .npy version ${major}.${pre[7]}`);
  const lenBytes = major === 1 ? 2 : 4;
  if (size < 8 + lenBytes) throw fail('truncated in the header');
  const hlen = major === 1 ? pre.readUInt16LE(8) : pre.readUInt32LE(8);
  const start = 8 + lenBytes;
  if (size < start + hlen) throw fail(`truncated in the header (${hlen} bytes, the file has ${size - start})`);
  const text = src.read(start, hlen).toString(major === 3 ? 'utf8' : 'latin1');
  // MXNet 2's bfloat16, [('bfloat16', '<u2')], reads as the type code 'bfloat16'
  const bf16 = /['"]descr['"]\s*:\s*\[\(\s*['"]bfloat16['"]\s*,\s*['"]([<>|=]?)u2['"]\s*\)\s*,?\s*\]/.exec(text);
  const descr = bf16 ? `${bf16[1]}bfloat16` : /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw fail(`bad header ${JSON.stringify(text.trim())}`);
  const dims = shapeText.split(',').map((s) => s.trim().replace(/L$/, '')).filter((s) => s !== '');
  if (dims.some((s) => !/^\d+$/.test(s)) || dims.length > 32) throw fail(`bad shape (${shapeText})`);
  const shape = dims.map(Number);
  const order = descr[0];
  const code = /^[<>|=]/.test(descr) ? descr.slice(1) : descr;
  const dtype = KIND[code];
  if (dtype === undefined) throw fail(`dtype ${OTHER_KINDS[code] ?? `'${descr}'`} is not supported by ndgrad`);
  const n = elementCount(shape);
  if (n < 0) throw fail(`shape (${shapeText}) is too large`);
  const bytes = n * ELEMENT_BYTES[dtype];
  const dataAt = start + hlen;
  if (size - dataAt < bytes) throw fail(`truncated (the data needs ${bytes} bytes, the file has ${size - dataAt})`);
  if (size - dataAt > bytes) throw fail(`${size - dataAt - bytes} unexpected bytes after the data`);
  const data = (): Uint8Array => {
    const b = src.read(dataAt, bytes);
    if (order !== '>' || ELEMENT_BYTES[dtype] === 1) return b;
    // big-endian data: swapped in a copy, natively (Buffer.swap32/64)
    const copy = Buffer.from(b);
    const n = ELEMENT_BYTES[dtype];
    return n === 2 ? copy.swap16() : n === 4 ? copy.swap32() : copy.swap64();
  };
  return { dtype, shape, data, fortran: fortran === 'True' && shape.length > 1 };
}

/**
 * @internal The array a validated payload holds. Fortran-ordered data (np.save of a transposed
 * array) is the C-ordered data of the reversed shape, transposed back (as MXNet 2's npx.load does).
 */
export function npyToArray(a: NpyArray): NDArray {
  if (!a.fortran) return arrayFromBytes(a.data(), a.dtype, a.shape);
  const reversed = arrayFromBytes(a.data(), a.dtype, a.shape.slice().reverse());
  try {
    return reversed.T;
  } finally {
    reversed.dispose();
  }
}

/** @internal the .npy header of x (version 1.0, padded to 64 bytes as NumPy pads it) */
export function npyHeader(x: NDArray): Buffer {
  const shape = x.ndim === 1 ? `(${x.shape[0]},)` : `(${x.shape.join(', ')})`;
  let dict = `{'descr': ${DESCR[x.dtype]}, 'fortran_order': False, 'shape': ${shape}, }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - 10 - 1, ' ') + '\n';
  const b = Buffer.alloc(total);
  MAGIC.copy(b, 0);
  b[6] = 1;
  b[7] = 0;
  b.writeUInt16LE(dict.length, 8);
  b.write(dict, 10, 'latin1');
  return b;
}

/** Loads a .npy file (NumPy's np.save) as an NDArray; BAD_FILE naming the file for anything wrong. */
export function loadNpy(file: string): NDArray {
  pathArg('loadNpy', file);
  const src = fileSource('loadNpy', file);
  try {
    return npyToArray(parseNpy(src, 'loadNpy', file));
  } finally {
    src.close();
  }
}

/** Saves x as a .npy file (readable by np.load), atomically. */
export function saveNpy(file: string, x: NDArray): void {
  pathArg('saveNpy', file);
  liveArray('saveNpy', x, 'the array');
  writeAtomic('saveNpy', file, (put) => {
    put(npyHeader(x));
    put(bytesOf(x));
  });
}

// ---- zip ----

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_END64 = 0x06064b50;
const SIG_LOCATOR64 = 0x07064b50;
const U32_MAX = 0xffffffff;

/** @internal true when a buffer starts as a zip archive does (an .npz file) */
export function isZip(b: Buffer): boolean {
  return b.length >= 4 && b.readUInt32LE(0) === SIG_LOCAL;
}

function u64At(b: Buffer, at: number, fail: (w: string) => NDArrayError): number {
  const v = b.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw fail('bad zip64 size');
  return Number(v);
}

/** A window of a ByteSource (a stored entry of an archive). */
function windowOf(src: ByteSource, at: number, size: number): ByteSource {
  return { size, read: (a, n) => src.read(at + a, n), close: () => undefined };
}

/** The CRC-32 of a stored entry, read in slices (a large entry is never held whole). */
function crcOf(src: ByteSource): number {
  const SLICE = 1 << 24;
  let crc = 0;
  for (let at = 0; at < src.size; at += SLICE) crc = zlib.crc32(src.read(at, Math.min(SLICE, src.size - at)), crc);
  return crc;
}

/** Where the central directory is, from the end record (zip64's when the fields saturate). */
function directoryOf(src: ByteSource, fail: (w: string) => NDArrayError): { count: number; cdAt: number; cdSize: number } {
  // the end record is the last "PK\5\6" with room for it (a comment of up to 64 KiB may follow)
  const tailAt = Math.max(0, src.size - 22 - 0xffff);
  const tail = src.read(tailAt, src.size - tailAt);
  let end = -1;
  for (let p = tail.length - 22; p >= 0; p--) {
    if (tail.readUInt32LE(p) === SIG_END) {
      end = p;
      break;
    }
  }
  if (src.size < 4 || !isZip(src.read(0, 4)) || end < 0) throw fail('not an .npz file (no zip archive, or it is truncated)');
  const count = tail.readUInt16LE(end + 10);
  const cdSize = tail.readUInt32LE(end + 12);
  const cdAt = tail.readUInt32LE(end + 16);
  if (count !== 0xffff && cdSize !== U32_MAX && cdAt !== U32_MAX) return { count, cdAt, cdSize };
  const loc = tailAt + end - 20;
  if (loc < 0 || src.read(loc, 4).readUInt32LE(0) !== SIG_LOCATOR64) throw fail('bad zip64 end record');
  const e64 = u64At(src.read(loc + 8, 8), 0, fail);
  if (e64 + 56 > src.size || src.read(e64, 4).readUInt32LE(0) !== SIG_END64) throw fail('bad zip64 end record');
  const r = src.read(e64 + 32, 24);
  return { count: u64At(r, 0, fail), cdSize: u64At(r, 8, fail), cdAt: u64At(r, 16, fail) };
}

/**
 * @internal Validates an .npz archive and every .npy entry in it (sizes, CRC-32s, headers): name
 * (without ".npy") -> payload, in archive order. Stored entries are read from `src` when made (keep
 * it open until then); deflated ones are inflated here.
 */
export function parseNpz(src: ByteSource, op: string, file: string): Map<string, NpyArray> {
  const fail = (what: string): NDArrayError => badFile(op, file, what);
  const inside = (at: number, n: number): boolean => at >= 0 && n >= 0 && at + n <= src.size;
  const { count, cdAt, cdSize } = directoryOf(src, fail);
  if (!inside(cdAt, cdSize)) throw fail('truncated (the zip directory lies past the end)');
  const b = src.read(cdAt, cdSize);
  const out = new Map<string, NpyArray>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > b.length || b.readUInt32LE(p) !== SIG_CENTRAL) throw fail(`bad zip directory entry ${i}`);
    const flags = b.readUInt16LE(p + 8);
    const method = b.readUInt16LE(p + 10);
    const crc = b.readUInt32LE(p + 16);
    let packed = b.readUInt32LE(p + 20);
    let size = b.readUInt32LE(p + 24);
    const nameLen = b.readUInt16LE(p + 28);
    const extraLen = b.readUInt16LE(p + 30);
    const commentLen = b.readUInt16LE(p + 32);
    let local = b.readUInt32LE(p + 42);
    if (p + 46 + nameLen + extraLen + commentLen > b.length) throw fail(`bad zip directory entry ${i}`);
    const entry = b.toString('utf8', p + 46, p + 46 + nameLen);
    // zip64: the fields saturated above follow in this order in the extra block 0x0001
    for (let e = p + 46 + nameLen; e + 4 <= p + 46 + nameLen + extraLen; ) {
      const id = b.readUInt16LE(e);
      const len = b.readUInt16LE(e + 2);
      if (id === 1) {
        let q = e + 4;
        const next = (): number => {
          if (q + 8 > e + 4 + len) throw fail(`bad zip64 field of entry '${entry}'`);
          q += 8;
          return u64At(b, q - 8, fail);
        };
        if (size === U32_MAX) size = next();
        if (packed === U32_MAX) packed = next();
        if (local === U32_MAX) local = next();
      }
      e += 4 + len;
    }
    p += 46 + nameLen + extraLen + commentLen;
    if (flags & 1) throw fail(`entry '${entry}' is encrypted`);
    if (method !== 0 && method !== 8) throw fail(`entry '${entry}': zip compression method ${method} is not supported (stored or deflated only)`);
    if (!inside(local, 30)) throw fail(`entry '${entry}': bad local header`);
    const head = src.read(local, 30);
    if (head.readUInt32LE(0) !== SIG_LOCAL) throw fail(`entry '${entry}': bad local header`);
    const dataAt = local + 30 + head.readUInt16LE(26) + head.readUInt16LE(28);
    if (!inside(dataAt, packed)) throw fail(`truncated in entry '${entry}'`);
    let payload: ByteSource;
    if (method === 8) {
      let inflated: Buffer;
      try {
        inflated = zlib.inflateRawSync(src.read(dataAt, packed), { maxOutputLength: Math.max(1, size) });
      } catch (e) {
        throw fail(`entry '${entry}': bad deflate data (${(e as Error).message})`);
      }
      payload = bufferSource(inflated);
    } else payload = windowOf(src, dataAt, packed);
    if (payload.size !== size || crcOf(payload) !== crc) throw fail(`entry '${entry}' is corrupt (size or CRC-32 differ)`);
    const name = entry.endsWith('.npy') ? entry.slice(0, -4) : entry;
    if (out.has(name)) throw fail(`duplicate entry '${entry}'`);
    out.set(name, parseNpy(payload, op, `${file}: entry '${entry}'`));
  }
  return out;
}

/** Loads an .npz archive (np.savez / np.savez_compressed) as a name -> NDArray record. */
export function loadNpz(file: string): Record<string, NDArray> {
  pathArg('loadNpz', file);
  const src = fileSource('loadNpz', file);
  try {
    const entries = [...parseNpz(src, 'loadNpz', file)];
    const arrays = createAll(entries, ([, a]) => npyToArray(a));
    return Object.fromEntries(entries.map(([name], i) => [name, arrays[i]]));
  } finally {
    src.close();
  }
}

/** @internal writes a zip archive of "<name>.npy" entries; `compressed` deflates them */
export function writeNpz(op: string, file: string, entries: [string, NDArray][], compressed: boolean): void {
  writeAtomic(op, file, (put) => {
    const central: Buffer[] = [];
    let offset = 0;
    const emit = (chunk: Uint8Array): void => {
      put(chunk);
      offset += chunk.byteLength;
    };
    for (const [name, x] of entries) {
      const head = npyHeader(x);
      const data = bytesOf(x);
      const size = head.length + data.byteLength;
      // (zlib's crc32 of a buffer without storage is 0, not the running value: skip empty data)
      const crc = data.byteLength ? zlib.crc32(data, zlib.crc32(head)) : zlib.crc32(head);
      const packed = compressed ? zlib.deflateRawSync(Buffer.concat([head, data])) : null;
      const packedSize = packed ? packed.length : size;
      if (offset + packedSize + 1024 >= U32_MAX || size >= U32_MAX)
        throw new NDArrayError(`${op}: ${file}: more than 4 GiB of data (zip64 archives are not written)`, 'BAD_ARGUMENT');
      const nameBytes = Buffer.from(`${name}.npy`, 'utf8');
      // local header (30 bytes) and central entry (46 bytes) share these fields
      const fields = (b: Buffer, at: number): void => {
        b.writeUInt16LE(20, at); // version needed: 2.0
        b.writeUInt16LE(0x800, at + 2); // UTF-8 names
        b.writeUInt16LE(compressed ? 8 : 0, at + 4);
        b.writeUInt16LE(0, at + 6); // time 00:00
        b.writeUInt16LE(0x21, at + 8); // date 1980-01-01
        b.writeUInt32LE(crc, at + 10);
        b.writeUInt32LE(packedSize, at + 14);
        b.writeUInt32LE(size, at + 18);
        b.writeUInt16LE(nameBytes.length, at + 22);
      };
      const local = Buffer.alloc(30);
      local.writeUInt32LE(SIG_LOCAL, 0);
      fields(local, 4);
      const c = Buffer.alloc(46);
      c.writeUInt32LE(SIG_CENTRAL, 0);
      c.writeUInt16LE(20, 4); // made by: 2.0
      fields(c, 6);
      c.writeUInt32LE(offset, 42);
      central.push(c, nameBytes);
      emit(local);
      emit(nameBytes);
      if (packed) emit(packed);
      else {
        emit(head);
        emit(data);
      }
    }
    const cd = Buffer.concat(central);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(SIG_END, 0);
    end.writeUInt16LE(entries.length, 8);
    end.writeUInt16LE(entries.length, 10);
    end.writeUInt32LE(cd.length, 12);
    end.writeUInt32LE(offset, 16);
    if (entries.length > 0xfffe) throw new NDArrayError(`${op}: ${file}: more than 65534 arrays (zip64 archives are not written)`, 'BAD_ARGUMENT');
    emit(cd);
    put(end);
  });
}

/**
 * Saves { name: array } as an .npz archive (np.load reads it); `{ compressed: true }` deflates the
 * entries as np.savez_compressed does. Atomic.
 */
export function saveNpz(file: string, arrays: Record<string, NDArray>, opts: { compressed?: boolean } = {}): void {
  const op = 'saveNpz';
  pathArg(op, file);
  if (arrays === null || typeof arrays !== 'object' || Array.isArray(arrays) || arrays instanceof NDArray)
    throw new NDArrayError(`${op}: expected a { name: NDArray } object, got ${describeValue(arrays)}`, 'BAD_ARGUMENT');
  if (opts === null || typeof opts !== 'object') throw new NDArrayError(`${op}: options must be an object`, 'BAD_ARGUMENT');
  for (const k of Object.keys(opts))
    if (k !== 'compressed') throw new NDArrayError(`${op}: unknown option '${k}'`, 'BAD_ARGUMENT');
  const entries = Object.keys(arrays).map((k): [string, NDArray] => [k, liveArray(op, arrays[k], `'${k}'`)]);
  writeNpz(op, file, entries, opts.compressed === true);
}
