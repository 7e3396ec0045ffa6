// nd.save / nd.load: MXNet 1.x's binary NDArray list file (mx.nd.save, Gluon's .params files).
//
// Layout (little-endian), as MXNet's NDArray::Save/Load and dmlc's vector/string serializers write it:
//   u64 0x112 (list magic), u64 0 (reserved), u64 count, count records, u64 name count (0 or count),
//   each name as u64 byte length + UTF-8 bytes.
// A record (one array), by its leading u32:
//   V2 0xF993FAC9 / V3 0xF993FACA: i32 storage type (0 dense), shape, context, i32 dtype flag, data;
//   V1 0xF993FAC8: shape, context, i32 dtype flag, data (no storage type);
//   V0 (anything else): that u32 is ndim, then ndim u32 dims, context, i32 dtype flag, data.
// A shape is i32 ndim + ndim i64 dims (V0: u32 dims); a context is i32 device type + i32 device id.
// An array without a shape (V0-V2: ndim 0; V3: ndim -1 or an unknown dim -1) ends after its shape;
// V3 reads ndim 0 as a 0-d array (NumPy semantics), which V2 cannot express.
import { NDArrayError } from './errors';
import { describeValue } from './args';
import { DType, NDArray } from './ndarray';
import {
  ByteSource, ELEMENT_BYTES, arrayFromBytes, badFile, bytesOf, createAll, elementCount, fileSource, liveArray, pathArg,
  writeAtomic,
} from './fileio';

const LIST_MAGIC = 0x112;
const V1 = 0xf993fac8;
const V2 = 0xf993fac9;
const V3 = 0xf993faca;

/** mshadow's dtype flags; the ones ndgrad has map to its dtypes, the rest are named in errors */
const FLAG_NAMES = [
  'float32', 'float64', 'float16', 'uint8', 'int32', 'int8', 'int64', 'bool', 'int16', 'uint16', 'uint32',
  'uint64', 'bfloat16',
];
const FLAG_OF: Record<DType, number> = { float32: 0, float64: 1, uint8: 3, int32: 4, bfloat16: 12 };
const DTYPE_OF_FLAG = new Map<number, DType>(Object.entries(FLAG_OF).map(([k, v]) => [v, k as DType]));
const STORAGE_NAMES: Record<number, string> = { 1: 'row_sparse', 2: 'csr' };
/** MXNet's device types: cpu, gpu, cpu_pinned, cpu_shared (arrays of every one load on the CPU) */
const DEVICE_TYPES = new Set([1, 2, 3, 5]);

/** One validated array record: where its bytes are and what they hold. */
interface ArrayRecord {
  dtype: DType;
  shape: number[];
  offset: number;
  bytes: number;
}

/** Reads little-endian fields of a file in order; running past the end is BAD_FILE "truncated". */
class Cursor {
  pos = 0;
  /** what is being read, for the truncation message */
  where = 'the header';
  constructor(readonly src: ByteSource, readonly op: string, readonly file: string) {}
  /** skips n bytes (which must be there), returning where they start */
  need(n: number): number {
    if (n > this.src.size - this.pos)
      throw badFile(this.op, this.file, `truncated in ${this.where} (needs ${n} bytes at byte ${this.pos}, the file has ${this.src.size})`);
    const at = this.pos;
    this.pos += n;
    return at;
  }
  take(n: number): Buffer {
    return this.src.read(this.need(n), n);
  }
  u32(): number {
    return this.take(4).readUInt32LE(0);
  }
  i32(): number {
    return this.take(4).readInt32LE(0);
  }
  /** an i64 or u64 that must be a non-negative safe integer (a count, a length or a dim) */
  count(what: string): number {
    const v = this.take(8).readBigInt64LE(0);
    if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw badFile(this.op, this.file, `${this.where}: bad ${what} ${v}`);
    return Number(v);
  }
  fail(what: string): NDArrayError {
    return badFile(this.op, this.file, `${this.where}: ${what}`);
  }
}

/** Reads a shape after its ndim; null for "no shape" (an empty record). */
function readShape(c: Cursor, ndim: number, version: number): number[] | null {
  if (version === 3 && ndim === -1) return null;
  if (ndim < 0 || ndim > 32) throw c.fail(`bad number of dimensions ${ndim}`);
  const shape: number[] = [];
  let unknown = false;
  for (let i = 0; i < ndim; i++) {
    if (version === 0) {
      shape.push(c.u32());
      continue;
    }
    const d = c.take(8).readBigInt64LE(0);
    if (version === 3 && d === -1n) unknown = true;
    else if (d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER)) throw c.fail(`bad dimension ${d}`);
    else shape.push(Number(d));
  }
  if (unknown || (version < 3 && ndim === 0)) return null;
  return shape;
}

function readRecord(c: Cursor): ArrayRecord {
  const magic = c.u32();
  const version = magic === V3 ? 3 : magic === V2 ? 2 : magic === V1 ? 1 : 0;
  if (version >= 2) {
    const stype = c.i32();
    if (stype !== 0) throw c.fail(`${STORAGE_NAMES[stype] ?? `unknown (${stype})`} storage is not supported (only dense arrays load)`);
  }
  const shape = readShape(c, version === 0 ? magic : c.i32(), version);
  // An array MXNet saved without a shape (an uninitialized NDArray) loads as an empty float32 array.
  if (shape === null) return { dtype: 'float32', shape: [0], offset: c.pos, bytes: 0 };
  const devType = c.i32();
  c.i32(); // device id
  if (!DEVICE_TYPES.has(devType)) throw c.fail(`bad device type ${devType}`);
  const flag = c.i32();
  const dtype = DTYPE_OF_FLAG.get(flag);
  if (dtype === undefined)
    throw c.fail(flag >= 0 && flag < FLAG_NAMES.length ? `dtype ${FLAG_NAMES[flag]} is not supported by ndgrad` : `unknown dtype flag ${flag}`);
  const n = elementCount(shape);
  if (n < 0) throw c.fail(`shape ${shape.join('x')} is too large`);
  const bytes = n * ELEMENT_BYTES[dtype];
  return { dtype, shape, offset: c.need(bytes), bytes };
}

/** Validates a whole file: every record and name, and nothing left over. */
function parse(src: ByteSource, op: string, file: string): { records: ArrayRecord[]; names: string[] } {
  const c = new Cursor(src, op, file);
  const magic = src.size >= 8 ? src.read(0, 8).readBigUInt64LE(0) : -1n;
  if (magic !== BigInt(LIST_MAGIC))
    throw badFile(op, file, 'not an MXNet NDArray file (bad magic; expected 0x112)');
  c.need(16);
  const n = c.count('array count');
  const records: ArrayRecord[] = [];
  for (let i = 0; i < n; i++) {
    c.where = `array ${i} (of ${n})`;
    records.push(readRecord(c));
  }
  c.where = 'the name list';
  const k = c.count('name count');
  if (k !== 0 && k !== n) throw c.fail(`${k} names for ${n} arrays`);
  const names: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < k; i++) {
    c.where = `name ${i} (of ${k})`;
    const len = c.count('length');
    const name = c.take(len).toString('utf8');
    if (seen.has(name)) throw c.fail(`duplicate name '${name}'`);
    seen.add(name);
    names.push(name);
  }
  if (c.pos !== src.size) throw badFile(op, file, `${src.size - c.pos} unexpected bytes after the name list`);
  return { records, names };
}

/** @internal one validated array of a file: its dtype and shape, and how to create it */
export interface FileEntry {
  name: string;
  dtype: DType;
  shape: number[];
  make(): NDArray;
}

/**
 * @internal Validates a whole MXNet NDArray file (nothing is created yet; entries are named '' in a
 * file without names). The entries read their bytes from `src` when made: close it after that.
 */
export function readEntries(op: string, file: string, src: ByteSource): { named: boolean; entries: FileEntry[] } {
  const { records, names } = parse(src, op, file);
  const entries = records.map((r, i) => ({
    name: names.length ? names[i] : '',
    dtype: r.dtype,
    shape: r.shape,
    make: () => arrayFromBytes(src.read(r.offset, r.bytes), r.dtype, r.shape),
  }));
  return { named: names.length > 0, entries };
}

/**
 * Loads an MXNet NDArray file: an NDArray[] when it has no names (mx.nd.save of a list), else a
 * name -> NDArray record (a dict: Gluon's .params files). The whole file is validated before any
 * array is created; every problem is BAD_FILE naming the file. Only the array being created is held
 * in JS memory, whatever the file's size.
 */
export function load(file: string): NDArray[] | Record<string, NDArray> {
  pathArg('load', file);
  const src = fileSource('load', file);
  try {
    const { named, entries } = readEntries('load', file, src);
    const arrays = createAll(entries, (e) => e.make());
    // fromEntries defines own properties, so a name such as '__proto__' is just a name
    return named ? Object.fromEntries(entries.map((e, i) => [e.name, arrays[i]])) : arrays;
  } finally {
    src.close();
  }
}

function header(version: number, x: NDArray): Buffer {
  const b = Buffer.alloc(4 + 4 + 4 + 8 * x.ndim + 8 + 4);
  let p = b.writeUInt32LE(version === 3 ? V3 : V2, 0);
  p = b.writeInt32LE(0, p); // dense storage
  p = b.writeInt32LE(x.ndim, p);
  for (const d of x.shape) p = b.writeBigInt64LE(BigInt(d), p);
  p = b.writeInt32LE(1, p); // cpu(0)
  p = b.writeInt32LE(0, p);
  b.writeInt32LE(FLAG_OF[x.dtype], p);
  return b;
}

function u64(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
}

/** The arrays and names (empty for a list) of nd.save's second argument, checked. */
function entriesOf(op: string, data: unknown): { arrays: NDArray[]; names: string[] } {
  if (data instanceof NDArray) return { arrays: [liveArray(op, data, 'the array')], names: [] };
  if (Array.isArray(data)) return { arrays: data.map((x, i) => liveArray(op, x, `arrays[${i}]`)), names: [] };
  if (data !== null && typeof data === 'object' && (Object.getPrototypeOf(data) === Object.prototype || Object.getPrototypeOf(data) === null)) {
    const names = Object.keys(data);
    return { arrays: names.map((k) => liveArray(op, (data as Record<string, unknown>)[k], `'${k}'`)), names };
  }
  throw new NDArrayError(`${op}: expected an NDArray, a list of them or a { name: NDArray } object, got ${describeValue(data)}`, 'BAD_ARGUMENT');
}

/**
 * Saves arrays in MXNet's NDArray file format (loadable by mx.nd.load in MXNet 1.x and 2.x): one
 * array or a list (saved without names) or a { name: array } object. Records are V2, or V3 for every
 * record when one array is 0-d (V2 cannot store it, and MXNet reads a file in one shape semantics).
 * The file is written atomically.
 */
export function save(file: string, data: NDArray | NDArray[] | Record<string, NDArray>): void {
  const op = 'save';
  pathArg(op, file);
  const { arrays, names } = entriesOf(op, data);
  const version = arrays.some((x) => x.ndim === 0) ? 3 : 2;
  writeAtomic(op, file, (put) => {
    put(Buffer.concat([u64(LIST_MAGIC), u64(0), u64(arrays.length)]));
    for (const x of arrays) {
      put(header(version, x));
      put(bytesOf(x));
    }
    put(u64(names.length));
    for (const name of names) {
      const b = Buffer.from(name, 'utf8');
      put(u64(b.length));
      put(b);
    }
  });
}
