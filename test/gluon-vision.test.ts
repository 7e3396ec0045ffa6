// gluon.data.vision: MNIST / FashionMNIST IDX readers (raw and .gz, BAD_FILE naming the file) on small
// generated files, and the transforms ToTensor, Normalize, Resize (against PyTorch's bilinear), Compose.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { gluon, nd, NDArray } from '../lib';
import { errorOf, idx, liveArrays } from './helpers';

const { MNIST, FashionMNIST, transforms } = gluon.data.vision;
const resizeCases = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures/gluon_resize.json'), 'utf8')).cases;

// n images of rows x cols with pixel (i, r, c) = (7i + 3r + c) % 256 and label (i * 3) % 10.
function pixels(n: number, rows: number, cols: number): Uint8Array {
  return Uint8Array.from({ length: n * rows * cols }, (_, k) => {
    const i = Math.floor(k / (rows * cols));
    const r = Math.floor(k / cols) % rows;
    return (7 * i + 3 * r + (k % cols)) % 256;
  });
}
const labelsOf = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 3) % 10);

function writeSet(dir: string, prefix: string, n: number, opts: { gz?: boolean; rows?: number; cols?: number } = {}): void {
  const rows = opts.rows ?? 28;
  const cols = opts.cols ?? 28;
  const put = (name: string, b: Buffer) =>
    opts.gz ? fs.writeFileSync(path.join(dir, name + '.gz'), zlib.gzipSync(b)) : fs.writeFileSync(path.join(dir, name), b);
  put(`${prefix}-images-idx3-ubyte`, idx(0x803, [n, rows, cols], pixels(n, rows, cols)));
  put(`${prefix}-labels-idx1-ubyte`, idx(0x801, [n], labelsOf(n)));
}

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ndgrad-mnist-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('MNIST / FashionMNIST', () => {
  test('raw train files and gzipped test files: uint8 [N, 28, 28, 1] images, int32 labels', () => {
    writeSet(tmp, 'train', 5);
    writeSet(tmp, 't10k', 3, { gz: true });
    const n0 = liveArrays();
    const train = new MNIST({ root: tmp });
    const test = new FashionMNIST({ root: tmp, train: false });
    expect(test).toBeInstanceOf(gluon.data.ArrayDataset);
    expect([train.length, test.length]).toEqual([5, 3]);
    const [x, y] = test.at(2) as [NDArray, number];
    expect([x.dtype, x.shape]).toEqual(['uint8', [28, 28, 1]]);
    expect(y).toBe(6);
    const px = x.toTypedArray();
    expect(Array.from(px.slice(0, 3))).toEqual([14, 15, 16]);
    expect(px[28 * 5 + 2]).toBe((14 + 15 + 2) % 256);
    x.dispose();
    for (const [xb, yb] of new gluon.data.DataLoader(train, { batchSize: 5 }))
      expect([xb.shape, xb.dtype, yb.dtype, yb.toArray()]).toEqual([[5, 28, 28, 1], 'uint8', 'int32', [0, 3, 6, 9, 2]]);
    train.dispose();
    test.dispose();
    expect(liveArrays()).toBe(n0);
  });

  test('other image sizes are read as the header says', () => {
    writeSet(tmp, 'train', 4, { rows: 3, cols: 5 });
    const ds = new MNIST({ root: tmp });
    const [x] = ds.at(1) as [NDArray, number];
    expect(x.shape).toEqual([3, 5, 1]);
    expect((x.toArray() as number[][][]).flat(2)).toEqual(Array.from(pixels(4, 3, 5).slice(15, 30)));
    x.dispose();
    ds.dispose();
  });

  const bad: [string, (dir: string) => void, string, RegExp][] = [
    ['a missing file', (d) => fs.rmSync(path.join(d, 'train-labels-idx1-ubyte')), 'train-labels-idx1-ubyte', /not found/],
    ['a wrong image magic', (d) => {
      const f = path.join(d, 'train-images-idx3-ubyte');
      const b = fs.readFileSync(f);
      b.writeUInt32BE(0x801, 0);
      fs.writeFileSync(f, b);
    }, 'train-images-idx3-ubyte', /wrong magic number 0x00000801 \(expected 0x00000803\)/],
    ['truncated images', (d) => {
      const f = path.join(d, 'train-images-idx3-ubyte');
      fs.writeFileSync(f, fs.readFileSync(f).subarray(0, 16 + 28 * 28 * 2 + 5));
    }, 'train-images-idx3-ubyte', /truncated/],
    ['a truncated header', (d) => fs.writeFileSync(path.join(d, 'train-labels-idx1-ubyte'), Buffer.from([0, 0, 8, 1, 0])), 'train-labels-idx1-ubyte', /truncated/],
    ['trailing bytes', (d) => fs.appendFileSync(path.join(d, 'train-labels-idx1-ubyte'), Buffer.from([1, 2])), 'train-labels-idx1-ubyte', /2 bytes after/],
    ['counts that disagree', (d) =>
      fs.writeFileSync(path.join(d, 'train-labels-idx1-ubyte'), idx(0x801, [2], labelsOf(2))), 'train-images-idx3-ubyte', /holds 3 images but .* holds 2 labels/],
    ['a broken .gz', (d) => {
      fs.rmSync(path.join(d, 'train-images-idx3-ubyte'));
      fs.writeFileSync(path.join(d, 'train-images-idx3-ubyte.gz'), Buffer.from('not gzip at all'));
    }, 'train-images-idx3-ubyte.gz', /not a valid gzip file/],
  ];
  test.each(bad)('%s is BAD_FILE naming the file, and nothing is left allocated', (_, spoil, file, why) => {
    writeSet(tmp, 'train', 3);
    spoil(tmp);
    const n0 = liveArrays();
    const e = errorOf(() => new MNIST({ root: tmp }));
    expect(e.code).toBe('BAD_FILE');
    expect(e.message).toContain(path.join(tmp, file));
    expect(e.message).toMatch(why);
    expect(liveArrays()).toBe(n0);
  });

  test('options are checked', () => {
    expect(errorOf(() => new MNIST({ root: tmp, training: true } as any)).code).toBe('BAD_ARGUMENT');
    expect(errorOf(() => new MNIST({ root: 3 } as any)).code).toBe('BAD_ARGUMENT');
  });
});

describe('transforms', () => {
  const img = () => nd.array(Uint8Array.from({ length: 2 * 3 * 4 * 2 }, (_, k) => (k * 29) % 256)).reshape([2, 3, 4, 2]);

  test('ToTensor: HWC uint8 -> CHW float32 / 255, one image or a batch', () => {
    const x = img();
    const n0 = liveArrays();
    const t = new transforms.ToTensor();
    const y = t.forward(x);
    expect([y.dtype, y.shape]).toEqual(['float32', [2, 2, 3, 4]]);
    const xs = x.toTypedArray();
    const ys = y.toTypedArray();
    for (let n = 0; n < 2; n++)
      for (let c = 0; c < 2; c++)
        for (let h = 0; h < 3; h++)
          for (let w = 0; w < 4; w++)
            expect(ys[((n * 2 + c) * 3 + h) * 4 + w]).toBeCloseTo(xs[((n * 3 + h) * 4 + w) * 2 + c] / 255, 6);
    const one = x.at(1);
    const y1 = t.forward(one);
    expect(y1.shape).toEqual([2, 3, 4]);
    expect(y1.toArray()).toEqual((y.toArray() as number[][][][])[1]);
    nd.dispose([y, one, y1]);
    expect(liveArrays()).toBe(n0);
    expect(errorOf(() => t.forward(nd.zeros([3, 3]))).code).toBe('SHAPE_MISMATCH');
    x.dispose();
  });

  test('Normalize: per channel, or one value for all; channel count checked', () => {
    const x = nd.array(Float32Array.from({ length: 2 * 2 * 2 * 3 }, (_, k) => k / 10)).reshape([2, 2, 2, 3]);
    const n0 = liveArrays();
    const y = new transforms.Normalize([0.5, 1], [2, 4]).forward(x);
    const xs = x.toTypedArray();
    const ys = y.toTypedArray();
    for (let k = 0; k < xs.length; k++) {
      const c = Math.floor(k / 6) % 2;
      expect(ys[k]).toBeCloseTo((xs[k] - [0.5, 1][c]) / [2, 4][c], 6);
    }
    const z = new transforms.Normalize(0.25, 0.5).forward(x);
    expect(Array.from(z.toTypedArray()).every((v, k) => Math.abs(v - (xs[k] - 0.25) / 0.5) < 1e-6)).toBe(true);
    nd.dispose([y, z]);
    expect(liveArrays()).toBe(n0);
    expect(errorOf(() => new transforms.Normalize([1, 2, 3], [1, 1, 1]).forward(x)).code).toBe('SHAPE_MISMATCH');
    expect(errorOf(() => new transforms.Normalize(0, 0)).code).toBe('BAD_ARGUMENT');
    x.dispose();
  });

  test.each(resizeCases.map((c: any, i: number) => [i, c]) as [number, any][])('Resize float input matches PyTorch bilinear (align_corners=False), case %i', (_, c: any) => {
    const x = nd.array(Float64Array.from(c.x)).reshape(c.shape);
    const n0 = liveArrays();
    const y = new transforms.Resize(c.size).forward(x);
    expect([y.dtype, y.shape]).toEqual(['float64', c.yShape]);
    const ys = y.toTypedArray();
    let worst = 0;
    c.y.forEach((v: number, k: number) => (worst = Math.max(worst, Math.abs(v - ys[k]))));
    expect(worst).toBeLessThan(1e-9);
    y.dispose();
    expect(liveArrays()).toBe(n0);
    x.dispose();
  });

  test('Resize of uint8 rounds back to uint8; one image works; a number is a square', () => {
    const c = resizeCases[0];
    const x = nd.array(Uint8Array.from(c.x, (v: number) => Math.round(v))).reshape(c.shape);
    const ref = nd.array(Float64Array.from(x.toTypedArray())).reshape(c.shape);
    const yf = new transforms.Resize(c.size).forward(ref).toTypedArray();
    const y = new transforms.Resize(c.size).forward(x);
    expect(y.dtype).toBe('uint8');
    const ys = y.toTypedArray();
    for (let k = 0; k < ys.length; k++) expect(Math.abs(ys[k] - Math.round(yf[k]))).toBeLessThanOrEqual(1);
    const one = x.at(0);
    const sq = new transforms.Resize(5).forward(one);
    expect(sq.shape).toEqual([5, 5, 3]);
    expect(errorOf(() => new transforms.Resize(0)).code).toBe('BAD_ARGUMENT');
    expect(errorOf(() => new transforms.Resize(4, { interpolation: 2 })).code).toBe('BAD_ARGUMENT');
    // keepRatio: the shorter side becomes size, the other is scaled and truncated (MXNet)
    const wide = new transforms.Resize(3, { keepRatio: true }).forward(x); // [5, 4] images: width 4 is shorter
    const tall = new transforms.Resize(2, { keepRatio: true }).forward(nd.zeros([3, 7, 3]));
    expect([wide.shape, tall.shape]).toEqual([[2, 3, 3, 3], [2, 4, 3]]);
    nd.dispose([wide, tall]);
    nd.dispose([x, ref, y, one, sq]);
  });

  test('Compose chains, is batchable when its parts are, and frees the intermediates', () => {
    const x = img();
    const n0 = liveArrays();
    const t = new transforms.Compose([new transforms.Resize([6, 5]), new transforms.ToTensor(), new transforms.Normalize(0.5, 0.25)]);
    expect(t.batchable).toBe(true);
    const y = t.forward(x);
    expect([y.dtype, y.shape]).toEqual(['float32', [2, 2, 5, 6]]);
    const step = nd.tidy(() => new transforms.Normalize(0.5, 0.25).forward(new transforms.ToTensor().forward(new transforms.Resize([6, 5]).forward(x))));
    expect(y.toArray()).toEqual(step.toArray());
    nd.dispose([y, step]);
    expect(liveArrays()).toBe(n0);
    expect(new transforms.Compose([new transforms.ToTensor(), (a: NDArray) => a]).batchable).toBe(false);
    x.dispose();
  });
});
