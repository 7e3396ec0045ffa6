// gluon.data.vision.MNIST / FashionMNIST: the four IDX files (raw or .gz) read from `root` into an
// ArrayDataset of uint8 images [N, rows, cols, 1] and int32 labels, as MXNet does (no download here).
import * as fs from 'fs';
import * as path from 'path';
import * as os from 'os';
import * as zlib from 'zlib';
import { NDArrayError } from '../../../errors';
import { describeValue, options } from '../../../args';
import { tidy } from '../../../memory';
import { NDArray } from '../../../ndarray';
import { array } from '../../../creation';
import { ArrayDataset } from '../dataset';

const IMAGES_MAGIC = 0x803; // unsigned byte data, 3 dimensions
const LABELS_MAGIC = 0x801; // unsigned byte data, 1 dimension

function badFile(file: string, why: string): NDArrayError {
  return new NDArrayError(`${file}: ${why}`, 'BAD_FILE');
}

// The file's bytes: `<name>` if present, else `<name>.gz` gunzipped.
function readIdx(root: string, name: string): { file: string; bytes: Buffer } {
  const raw = path.join(root, name);
  const gz = raw + '.gz';
  const file = fs.existsSync(raw) ? raw : fs.existsSync(gz) ? gz : null;
  if (file === null) throw badFile(raw, `not found (nor ${path.basename(gz)})`);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw badFile(file, `cannot be read (${(e as Error).message})`);
  }
  if (file === gz) {
    try {
      bytes = zlib.gunzipSync(bytes);
    } catch (e) {
      throw badFile(file, `is not a valid gzip file (${(e as Error).message})`);
    }
  }
  return { file, bytes };
}

// Header fields after the magic, and the payload, checked against the file's length.
function parseIdx(file: string, bytes: Buffer, magic: number, dims: number): { dims: number[]; data: Uint8Array } {
  const header = 4 + 4 * dims;
  if (bytes.length < header) throw badFile(file, `truncated: ${bytes.length} bytes, shorter than the ${header}-byte IDX header`);
  const m = bytes.readUInt32BE(0);
  if (m !== magic)
    throw badFile(file, `wrong magic number 0x${m.toString(16).padStart(8, '0')} (expected 0x${magic.toString(16).padStart(8, '0')})`);
  const shape = Array.from({ length: dims }, (_, k) => bytes.readUInt32BE(4 + 4 * k));
  const size = shape.reduce((a, b) => a * b, 1);
  if (bytes.length - header < size)
    throw badFile(file, `truncated: the header says [${shape.join(', ')}] (${size} bytes of data), the file holds ${bytes.length - header}`);
  if (bytes.length - header > size)
    throw badFile(file, `${bytes.length - header - size} bytes after the [${shape.join(', ')}] data the header describes`);
  return { dims: shape, data: new Uint8Array(bytes.buffer, bytes.byteOffset + header, size) };
}

export interface MNISTOptions {
  /** the directory holding the IDX files (default ~/.mxnet/datasets/<name>, as MXNet) */
  root?: string;
  /** the training files (default) or the test files */
  train?: boolean;
}

// The dataset's two arrays, made in a scope so the flat staging array is freed at once.
function readMnist(opts: MNISTOptions, what: string, dir: string): [NDArray, NDArray] {
  const o = options(opts, what, new Set(['root', 'train'])) as MNISTOptions;
  if (o.root !== undefined && typeof o.root !== 'string')
    throw new NDArrayError(`${what}: root must be a directory path, got ${describeValue(o.root)}`, 'BAD_ARGUMENT');
  const root = (o.root ?? path.join(os.homedir(), '.mxnet', 'datasets', dir)).replace(/^~(?=$|\/)/, os.homedir());
  const prefix = o.train === false ? 't10k' : 'train';
  const img = readIdx(root, `${prefix}-images-idx3-ubyte`);
  const lab = readIdx(root, `${prefix}-labels-idx1-ubyte`);
  const images = parseIdx(img.file, img.bytes, IMAGES_MAGIC, 3);
  const labels = parseIdx(lab.file, lab.bytes, LABELS_MAGIC, 1);
  if (images.dims[0] !== labels.dims[0])
    throw badFile(img.file, `holds ${images.dims[0]} images but ${lab.file} holds ${labels.dims[0]} labels`);
  const [n, rows, cols] = images.dims;
  return tidy(() => [array(images.data).reshape([n, rows, cols, 1]), array(labels.data, { dtype: 'int32' })] as [NDArray, NDArray]);
}

/** MNIST: images uint8 [N, 28, 28, 1], labels int32 [N]; dispose() frees them. */
export class MNIST extends ArrayDataset {
  /** the folder under ~/.mxnet/datasets used when no root is given */
  static readonly folder: string = 'mnist';
  constructor(opts: MNISTOptions = {}) {
    super(...readMnist(opts, new.target.name, (new.target as typeof MNIST).folder));
    this.adopt();
  }
}

/** Fashion-MNIST: the same files and layout as MNIST. */
export class FashionMNIST extends MNIST {
  static readonly folder: string = 'fashion-mnist';
}
