// lib/gluon/params_io: saveParameters / loadParameters over a name -> parameter map, tested with
// minimal ParameterLike objects over real NDArrays. Loading is all-or-nothing: every error leaves every
// parameter as it was and calls no setData.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { nd, NDArray, NDArrayError } from '../lib';
import { loadParameters, ParameterLike, saveParameters } from '../lib/gluon/params_io';
import { arr, errorOf, liveMemory } from './helpers';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ndgrad-params-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const tmp = (name: string): string => path.join(dir, name);

/** The least a parameter needs: an array, and setData copying into it (counted). */
class Param implements ParameterLike {
  readonly gradReq = 'write' as const;
  readonly lrMult = 1;
  readonly wdMult = 1;
  sets = 0;
  constructor(readonly name: string, private arr: NDArray | null, private declared?: number[]) {}
  get shape(): number[] {
    return this.arr ? this.arr.shape : this.declared!;
  }
  get dtype(): string {
    return this.arr ? this.arr.dtype : 'float32';
  }
  data(): NDArray {
    if (!this.arr) throw new NDArrayError(`Parameter '${this.name}' has not been initialized`, 'NOT_INITIALIZED');
    return this.arr;
  }
  grad(): NDArray {
    throw new Error('not used');
  }
  setData(x: NDArray): void {
    this.sets++;
    if (this.arr) this.arr.set(x);
    else this.arr = nd.keep(x.copy()); // deferred: the shape comes with the data
  }
}

/** A map of parameters named as save_parameters names them, filled from a seed. */
function net(seed: number, dtype: 'float32' | 'float64' = 'float32'): Map<string, Param> {
  const spec: [string, number[]][] = [['0.weight', [3, 2]], ['0.bias', [3]], ['1.weight', [1, 3]], ['1.bias', [1]]];
  return new Map(spec.map(([name, shape], k) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = Array.from({ length: n }, (_, i) => seed + k * 10 + i / 4);
    return [name, new Param(name, nd.tidy(() => nd.array(values, { dtype }).reshape(shape)))];
  }));
}
const values = (m: Map<string, Param>): Record<string, number[]> =>
  Object.fromEntries([...m].map(([k, p]) => [k, p.shape[0] === 0 ? [] : arr(p.data())]));
const free = (m: Map<string, Param>): void => {
  for (const p of m.values()) if (p.shape.every((d) => d > 0)) p.data().dispose();
};

/** Open file descriptors (Linux), to see that a failed load closed its file; 0 elsewhere. */
const openFiles = (): number => (fs.existsSync('/proc/self/fd') ? fs.readdirSync('/proc/self/fd').length : 0);

/** Runs a load that must fail with `code`, and checks no parameter changed or was set. */
function refused(code: string, run: (m: Map<string, Param>) => void, mention: string[]): void {
  const target = net(100);
  const before = values(target);
  const start = liveMemory();
  const fds = openFiles();
  const e = errorOf(() => run(target));
  expect(openFiles()).toBe(fds);
  expect(e.code).toBe(code);
  for (const s of mention) expect(e.message).toContain(s);
  expect(values(target)).toEqual(before);
  expect([...target.values()].map((p) => p.sets)).toEqual([0, 0, 0, 0]);
  expect(liveMemory()).toEqual(start);
  free(target);
}

describe('round trips', () => {
  test.each(['net.params', 'net.npz'])('%s: every value comes back; no array is leaked', (file) => {
    const src = net(1);
    const dst = net(50);
    saveParameters(tmp(file), src);
    const start = liveMemory();
    const fds = openFiles();
    loadParameters(tmp(file), dst);
    expect(liveMemory()).toEqual(start);
    expect(openFiles()).toBe(fds);
    expect(values(dst)).toEqual(values(src));
    // the file itself is MXNet's (or NumPy's) format with the structural names
    const r = file.endsWith('.npz') ? nd.loadNpz(tmp(file)) : (nd.load(tmp(file)) as Record<string, NDArray>);
    expect(Object.keys(r)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
    nd.dispose(r);
    free(src);
    free(dst);
  });

  test('from a record (after renaming keys of an older file); the record stays the caller\'s', () => {
    const dst = net(50);
    const rec = { '0.weight': nd.ones([3, 2]), '0.bias': nd.zeros([3]), '1.weight': nd.full([1, 3], 2), '1.bias': nd.full([1], -1) };
    loadParameters(rec, dst);
    expect(values(dst)).toEqual({ '0.weight': [1, 1, 1, 1, 1, 1], '0.bias': [0, 0, 0], '1.weight': [2, 2, 2], '1.bias': [-1] });
    expect(Object.values(rec).every((x) => !x.isDisposed)).toBe(true);
    nd.dispose(rec);
    free(dst);
  });

  test('allowMissing leaves the missing ones; ignoreExtra skips unknown names', () => {
    const src = net(1);
    src.delete('1.bias');
    saveParameters(tmp('part.params'), src);
    const dst = net(50);
    const old = values(dst)['1.bias'];
    loadParameters(tmp('part.params'), dst, { allowMissing: true });
    expect(values(dst)['1.bias']).toEqual(old);
    expect(values(dst)['0.weight']).toEqual(values(src)['0.weight']);
    const small = new Map([['0.bias', dst.get('0.bias')!]]);
    dst.get('0.bias')!.data().set(0);
    loadParameters(tmp('part.params'), small, { ignoreExtra: true });
    expect(values(dst)['0.bias']).toEqual(values(src)['0.bias']);
    free(src);
    free(dst);
  });

  test('castDtype converts a float64 file for float32 parameters', () => {
    const src = net(1, 'float64');
    saveParameters(tmp('f64.params'), src);
    const dst = net(50);
    const start = liveMemory();
    loadParameters(tmp('f64.params'), dst, { castDtype: true });
    expect(liveMemory()).toEqual(start);
    expect(dst.get('0.weight')!.dtype).toBe('float32');
    expect(values(dst)).toEqual(values(src)); // the values are exact in float32
    free(src);
    free(dst);
  });

  test('a parameter whose shape is not known yet (0) takes the file\'s', () => {
    const src = net(1);
    saveParameters(tmp('d.params'), src);
    const dst = net(50);
    const deferred = new Param('0.weight', null, [3, 0]);
    dst.get('0.weight')!.data().dispose();
    dst.set('0.weight', deferred);
    loadParameters(tmp('d.params'), dst);
    expect(deferred.shape).toEqual([3, 2]);
    expect(values(dst)).toEqual(values(src));
    free(src);
    free(dst);
  });

  test('the committed V1 Gluon file (save_params names) loads into matching parameters', () => {
    const file = path.join(__dirname, 'fixtures', 'mxnet-params', 'v1-straightdope-testnet.params');
    const shapes: [string, number[]][] = [
      ['dense0_weight', [256, 100]], ['dense0_bias', [256]], ['dense1_weight', [256, 256]],
      ['dense1_bias', [256]], ['dense2_weight', [1, 256]], ['dense2_bias', [1]],
    ];
    const m = new Map(shapes.map(([n, s]) => [n, new Param(n, nd.zeros(s))]));
    loadParameters(file, m);
    const ref = nd.load(file) as Record<string, NDArray>;
    for (const [n, p] of m) expect(arr(p.data())).toEqual(arr(ref[n]));
    nd.dispose(ref);
    free(m);
  });
});

describe('all-or-nothing: each error leaves every parameter as it was', () => {
  beforeAll(() => {
    const src = net(1);
    saveParameters(tmp('good.params'), src);
    free(src);
    const wide = net(1);
    wide.get('1.weight')!.data().dispose();
    wide.set('1.weight', new Param('1.weight', nd.zeros([2, 3])));
    saveParameters(tmp('shape.params'), wide);
    free(wide);
    const f64 = net(1, 'float64');
    saveParameters(tmp('f64.params'), f64);
    free(f64);
    const extra = net(1);
    extra.set('2.weight', new Param('2.weight', nd.ones([1])));
    saveParameters(tmp('extra.params'), extra);
    free(extra);
    const missing = net(1);
    missing.get('0.bias')!.data().dispose();
    missing.delete('0.bias');
    saveParameters(tmp('missing.params'), missing);
    free(missing);
    const whole = fs.readFileSync(tmp('good.params'));
    fs.writeFileSync(tmp('cut.params'), whole.subarray(0, whole.length - 3));
    const a = nd.ones([2]);
    nd.save(tmp('list.params'), [a]);
    a.dispose();
  });

  test('MISSING_PARAMETER names the file and the parameter', () =>
    refused('MISSING_PARAMETER', (m) => loadParameters(tmp('missing.params'), m), ['missing.params', "'0.bias'"]));
  test('UNEXPECTED_PARAMETER', () =>
    refused('UNEXPECTED_PARAMETER', (m) => loadParameters(tmp('extra.params'), m), ['extra.params', "'2.weight'"]));
  test('SHAPE_MISMATCH (the last array is the wrong one: nothing before it was set)', () =>
    refused('SHAPE_MISMATCH', (m) => loadParameters(tmp('shape.params'), m), ['shape.params', "'1.weight'", '(2, 3)', '(1, 3)']));
  test('DTYPE_MISMATCH without castDtype', () =>
    refused('DTYPE_MISMATCH', (m) => loadParameters(tmp('f64.params'), m), ['f64.params', "'0.weight'", 'float64', 'float32']));
  test('BAD_FILE: truncated, missing, a list without names, an .npz cut short', () => {
    refused('BAD_FILE', (m) => loadParameters(tmp('cut.params'), m), ['cut.params', 'truncated']);
    refused('BAD_FILE', (m) => loadParameters(tmp('nope.params'), m), ['nope.params']);
    refused('BAD_FILE', (m) => loadParameters(tmp('list.params'), m), ['list.params', 'without names']);
    const src = net(1);
    saveParameters(tmp('n.npz'), src);
    free(src);
    const z = fs.readFileSync(tmp('n.npz'));
    fs.writeFileSync(tmp('n.npz'), z.subarray(0, z.length - 30));
    refused('BAD_FILE', (m) => loadParameters(tmp('n.npz'), m), ['n.npz']);
  });
  test('a record with a wrong shape, and bad arguments', () => {
    const rec = { '0.weight': nd.ones([2, 3]), '0.bias': nd.zeros([3]), '1.weight': nd.ones([1, 3]), '1.bias': nd.ones([1]) };
    refused('SHAPE_MISMATCH', (m) => loadParameters(rec, m), ["'0.weight'"]);
    refused('BAD_ARGUMENT', (m) => loadParameters(tmp('good.params'), m, { allowmissing: true } as any), ['allowmissing']);
    refused('BAD_ARGUMENT', (m) => loadParameters([] as any, m), ['record']);
    refused('BAD_ARGUMENT', () => loadParameters(tmp('good.params'), {} as any), ['Map']);
    nd.dispose(rec);
  });
});

test('saveParameters: an uninitialized parameter is NOT_INITIALIZED and nothing is written', () => {
  const m = net(1);
  m.set('late', new Param('late', null, [0, 4]));
  expect(errorOf(() => saveParameters(tmp('never.params'), m)).code).toBe('NOT_INITIALIZED');
  expect(fs.existsSync(tmp('never.params'))).toBe(false);
  expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  free(m);
});
