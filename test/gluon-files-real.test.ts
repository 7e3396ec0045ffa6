// Real files written by MXNet 0.10-1.9 (provenance: test/fixtures/mxnet-params/README.md and
// ../shared/mxnet-params/SOURCES.md) load with the right names, shapes and values. The five
// Apache-2.0 files are committed fixtures; the other ten are read from /work/shared/mxnet-params
// when it exists (their layouts are covered in every checkout by test/gluon-files.test.ts).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { nd, NDArray } from '../lib';
import { arr, errorOf, liveMemory } from './helpers';

const FIXTURES = path.join(__dirname, 'fixtures', 'mxnet-params');
// NDGRAD_MXNET_PARAMS overrides where the shared files are (an absent directory shows the skip)
const SHARED = process.env.NDGRAD_MXNET_PARAMS ?? '/work/shared/mxnet-params';
const haveShared = fs.existsSync(path.join(SHARED, 'SOURCES.md'));
if (!haveShared)
  // eslint-disable-next-line no-console
  console.warn(`gluon-files-real: ${SHARED} is absent, so the ten real MXNet files that may not be redistributed are skipped`);
const sharedTest = haveShared ? test : test.skip;

type Loaded = NDArray[] | Record<string, NDArray>;
const shapes = (r: Loaded): Record<string, number[]> =>
  Object.fromEntries(Object.entries(r).map(([k, a]) => [k, a.shape]));
const allEqual = (a: NDArray, v: number): boolean => arr(a).every((x) => x === v);

/** Loads a file, runs the checks, frees everything and checks nothing leaked. */
function withFile(file: string, check: (r: Loaded) => void): void {
  const start = liveMemory();
  const r = nd.load(file);
  try {
    expect(r.valueOf()).not.toBeNull();
    Object.values(r).forEach((a) => {
      expect(a.dtype).toBe('float32');
      expect(arr(a).every(Number.isFinite)).toBe(true);
    });
    check(r);
  } finally {
    nd.dispose(r);
  }
  expect(liveMemory()).toEqual(start);
}

/** Saving a loaded dense V2 file again reproduces it byte for byte (same record version, order, names). */
function resaves(file: string): void {
  const r = nd.load(file);
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ndgrad-real-')), 'again.params');
  nd.save(out, r as any);
  expect(fs.readFileSync(out).equals(fs.readFileSync(file))).toBe(true);
  nd.dispose(r);
  fs.rmSync(path.dirname(out), { recursive: true });
}

describe('committed fixtures (Apache-2.0)', () => {
  test('V0: MXNet <= 0.10, six arange(128)', () =>
    withFile(path.join(FIXTURES, 'v0-mxnet-tests-legacy_ndarray.v0'), (r) => {
      expect(Array.isArray(r)).toBe(true);
      const list = r as NDArray[];
      expect(list.length).toBe(6);
      const range = Array.from({ length: 128 }, (_, i) => i);
      for (const a of list) {
        expect(a.shape).toEqual([128]);
        expect(arr(a)).toEqual(range);
      }
    }));

  test('V1: one array, ones((100, 100))', () =>
    withFile(path.join(FIXTURES, 'v1-straightdope-test.ndarray'), (r) => {
      expect(shapes(r)).toEqual({ 0: [100, 100] });
      expect(allEqual((r as NDArray[])[0], 1)).toBe(true);
    }));

  test('V1: a list [ones, zeros]', () =>
    withFile(path.join(FIXTURES, 'v1-straightdope-test1.ndarray'), (r) => {
      const [x, y] = r as NDArray[];
      expect((r as NDArray[]).length).toBe(2);
      expect([x.shape, y.shape]).toEqual([[100, 100], [100, 100]]);
      expect(allEqual(x, 1) && allEqual(y, 0)).toBe(true);
    }));

  test('V1: a dict { X: ones, Y: zeros }', () =>
    withFile(path.join(FIXTURES, 'v1-straightdope-test2.ndarray'), (r) => {
      const { X, Y } = r as Record<string, NDArray>;
      expect(Object.keys(r).sort()).toEqual(['X', 'Y']);
      expect(allEqual(X, 1) && allEqual(Y, 0)).toBe(true);
    }));

  test("V1: Gluon save_params of Dense(256) -> Dense(256) -> Dense(1) ('dense0_weight' names)", () =>
    withFile(path.join(FIXTURES, 'v1-straightdope-testnet.params'), (r) => {
      expect(Array.isArray(r)).toBe(false);
      expect(shapes(r)).toEqual({
        dense0_weight: [256, 100], dense0_bias: [256],
        dense1_weight: [256, 256], dense1_bias: [256],
        dense2_weight: [1, 256], dense2_bias: [1],
      });
      // trained weights (values not recorded anywhere): at least not a constant fill
      const w = arr((r as Record<string, NDArray>).dense1_weight);
      expect(new Set(w).size).toBeGreaterThan(1000);
    }));
});

describe(`real files in ${SHARED}`, () => {
  const at = (f: string): string => path.join(SHARED, f);

  sharedTest('V2: Gluon save_parameters of LeNet (structural names), and saving it again gives the same bytes', () => {
    withFile(at('v2-fedlearn-LeNet.params'), (r) =>
      expect(shapes(r)).toEqual({
        '0.weight': [6, 1, 5, 5], '0.bias': [6], '2.weight': [16, 6, 5, 5], '2.bias': [16],
        '4.weight': [120, 256], '4.bias': [120], '5.weight': [84, 120], '5.bias': [84],
        '6.weight': [10, 84], '6.bias': [10],
      }));
    resaves(at('v2-fedlearn-LeNet.params'));
  });

  sharedTest('V2: Gluon save_parameters of an MLP', () => {
    withFile(at('v2-fedlearn-mlp.params'), (r) =>
      expect(shapes(r)).toEqual({
        '0.weight': [128, 784], '0.bias': [128], '1.weight': [64, 128], '1.bias': [64], '2.weight': [10, 64], '2.bias': [10],
      }));
    resaves(at('v2-fedlearn-mlp.params'));
  });

  sharedTest('V2: Gluon save_params of logistic regression (MXNet 1.0)', () => {
    withFile(at('v2-jonggon-gluon-logreg-MNIST-100.params'), (r) =>
      expect(shapes(r)).toEqual({ dense0_weight: [10, 784], dense0_bias: [10] }));
    resaves(at('v2-jonggon-gluon-logreg-MNIST-100.params'));
  });

  sharedTest('V2: a CNN with BatchNorm: 26 arrays, running variances positive', () => {
    withFile(at('v2-jonggon-gluon-cnn-bn-MNIST-50.params'), (r) => {
      const s = shapes(r);
      expect(Object.keys(s).length).toBe(26);
      expect(s.conv0_weight).toEqual([60, 1, 3, 3]);
      expect(s.conv1_weight).toEqual([30, 60, 6, 6]);
      expect(s.dense0_weight).toEqual([120, 480]);
      expect(s.dense2_weight).toEqual([10, 64]);
      for (const i of [0, 1, 2, 3]) {
        const v = arr((r as Record<string, NDArray>)[`batchnorm${i}_running_var`]);
        expect(v.every((x) => x > 0)).toBe(true);
      }
    });
    resaves(at('v2-jonggon-gluon-cnn-bn-MNIST-50.params'));
  });

  sharedTest("V2: a Module checkpoint keeps its 'arg:' names", () => {
    withFile(at('v2-jonggon-module-rnn-0100.params'), (r) =>
      expect(shapes(r)).toEqual({
        'arg:rnn_0parameters': [13000], 'arg:affine1_weight': [100, 100], 'arg:affine1_bias': [100],
        'arg:affine2_weight': [10, 100], 'arg:affine2_bias': [10],
      }));
    resaves(at('v2-jonggon-module-rnn-0100.params'));
  });

  sharedTest('V2: row_sparse records are BAD_FILE naming the storage, with nothing created', () => {
    const start = liveMemory();
    const e = errorOf(() => nd.load(at('v2-jonggon-module-rowsparse-mod-10.params')));
    expect(e.code).toBe('BAD_FILE');
    expect(e.message).toMatch(/v2-jonggon-module-rowsparse-mod-10\.params: array 0 \(of 4\): row_sparse storage/);
    expect(liveMemory()).toEqual(start);
  });

  sharedTest('V3 (npx.set_np): x-file, x-files and mydict hold arange(4) and zeros(4)', () => {
    withFile(at('v3-d2l-x-file'), (r) => expect((r as NDArray[]).map(arr)).toEqual([[0, 1, 2, 3]]));
    withFile(at('v3-d2l-x-files'), (r) => expect((r as NDArray[]).map(arr)).toEqual([[0, 1, 2, 3], [0, 0, 0, 0]]));
    withFile(at('v3-d2l-mydict'), (r) => {
      const { x, y } = r as Record<string, NDArray>;
      expect([arr(x), arr(y)]).toEqual([[0, 1, 2, 3], [0, 0, 0, 0]]);
    });
  });

  sharedTest('V3: d2l MLP save_parameters (hidden/output names)', () =>
    withFile(at('v3-d2l-mlp.params'), (r) =>
      expect(shapes(r)).toEqual({ 'hidden.weight': [256, 20], 'hidden.bias': [256], 'output.weight': [10, 256], 'output.bias': [10] })));

  sharedTest('every real file: cut anywhere before its end it is BAD_FILE, nothing leaked', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ndgrad-cut-'));
    const start = liveMemory();
    for (const f of fs.readdirSync(SHARED).filter((f) => !f.endsWith('.md'))) {
      const whole = fs.readFileSync(at(f));
      for (const n of [0, 7, 24, 27, 40, Math.floor(whole.length / 2), whole.length - 1]) {
        fs.writeFileSync(path.join(dir, f), whole.subarray(0, n));
        expect(errorOf(() => nd.load(path.join(dir, f))).code).toBe('BAD_FILE');
      }
    }
    expect(liveMemory()).toEqual(start);
    fs.rmSync(dir, { recursive: true });
  });
});
