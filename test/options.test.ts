// Misspelled options are errors: every op checks its options against the schema declared with the
// op (native/src/ops: its options struct) before computing anything, and names the closest valid key.
// Functions that are not ops (autograd.backward, nd.array, ...) check theirs the same way.
import { autograd, nd, NDArray, NDArrayError } from '../lib';
import type { OpInfo } from '../lib/binding';
import { errorOf } from './helpers';

const table: OpInfo[] = nd._opTable();
const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
/** The keys a user may pass: the schema's options in camelCase, and `out`. */
const userKeys = (op: OpInfo) => [...op.attrs.filter((a) => a.option).map((a) => camel(a.name)), 'out'];

/** Misspellings of `key` a user could type: a plural, snake_case, two letters swapped. */
function misspellings(key: string): string[] {
  const v = [key + 's'];
  const snake = key.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
  if (snake !== key) v.push(snake);
  const n = key.length;
  if (n >= 3 && key[n - 1] !== key[n - 2]) v.push(key.slice(0, n - 2) + key[n - 1] + key[n - 2]);
  return v;
}

// Valid inputs for each op's TS face; `o` is the options object under test.
const x = nd.ones([2, 3]);
const idx = nd.array([0, 1]);
const img = nd.ones([1, 1, 2, 2]);
const w11 = nd.ones([1, 1, 1, 1]);
const c3 = nd.ones([3]);
const b4 = nd.ones([2, 3, 2]);
const one = nd.ones([1]);
const zero = nd.zeros([1]);
type Face = [string, (o: object) => unknown];
const FACES: Record<string, Face> = {
  Activation: ['Activation', (o) => nd.Activation(x, { actType: 'relu', ...o })],
  LeakyReLU: ['LeakyReLU', (o) => nd.LeakyReLU(x, o)],
  clip: ['clip', (o) => nd.clip(x, 0, 1, o)],
  batch_dot: ['batchDot', (o) => nd.batchDot(b4, b4, { transposeB: true, ...o })],
  Convolution: ['Convolution', (o) => nd.Convolution(img, w11, { kernel: [1, 1], ...o })],
  full: ['full', (o) => nd.full([2], 1, o)],
  arange: ['arange', (o) => nd.arange(0, 3, 1, o)],
  eye: ['eye', (o) => nd.eye(2, 0, 0, o)],
  random_uniform: ['random.uniform', (o) => nd.random.uniform(0, 1, [2], o)],
  random_normal: ['random.normal', (o) => nd.random.normal(0, 1, [2], o)],
  where: ['where', (o) => nd.where(x, x, x, o)],
  zeros_like: ['zerosLike', (o) => nd.zerosLike(x, o)],
  take: ['take', (o) => nd.take(x, idx, o)],
  Embedding: ['Embedding', (o) => nd.Embedding(idx, x, o)],
  pick: ['pick', (o) => nd.pick(x, idx, o)],
  sort: ['sort', (o) => nd.sort(x, o)],
  argsort: ['argsort', (o) => nd.argsort(x, o)],
  topk: ['topk', (o) => nd.topk(x, o)],
  one_hot: ['oneHot', (o) => nd.oneHot(idx, 3, o)],
  slice: ['slice', (o) => nd.slice(x, [0], [1], undefined, o)],
  slice_axis: ['sliceAxis', (o) => nd.sliceAxis(x, 0, 0, 1, o)],
  swapaxes: ['swapAxes', (o) => nd.swapAxes(x, 0, 1, o)],
  tile: ['tile', (o) => nd.tile(x, [1], o)],
  repeat: ['repeat', (o) => nd.repeat(x, 2, o)],
  flip: ['flip', (o) => nd.flip(x, 0, o)],
  stack: ['stack', (o) => nd.stack([x, x], o)],
  split: ['split', (o) => nd.split(x, { numOutputs: 1, ...o } as any)],
  concat: ['concat', (o) => nd.concat([x, x], o)],
  dot: ['dot', (o) => nd.dot(x, x, { transposeB: true, ...o })],
  Dropout: ['Dropout', (o) => nd.Dropout(x, o)],
  FullyConnected: ['FullyConnected', (o) => nd.FullyConnected(x, x, null, o)],
  BatchNorm: ['BatchNorm', (o) => nd.BatchNorm(img, one, zero, zero, one, o)],
  LayerNorm: ['LayerNorm', (o) => nd.LayerNorm(x, c3, c3, o)],
  Pooling: ['Pooling', (o) => nd.Pooling(img, { kernel: [1, 1], ...o })],
  reshape: ['reshape', (o) => nd.reshape(x, [6], o)],
  expand_dims: ['expandDims', (o) => nd.expandDims(x, 0, o)],
  squeeze: ['squeeze', (o) => nd.squeeze(x, undefined, o)],
  flatten: ['flatten', (o) => nd.flatten(x, o)],
  transpose: ['transpose', (o) => nd.transpose(x, undefined, o)],
  broadcast_to: ['broadcastTo', (o) => nd.broadcastTo(x, [2, 3], o)],
  astype: ['astype', (o) => nd.astype(x, 'float64', o)],
  softmax: ['softmax', (o) => nd.softmax(x, o)],
  log_softmax: ['logSoftmax', (o) => nd.logSoftmax(x, o)],
  softmax_cross_entropy: ['softmaxCrossEntropy', (o) => nd.softmaxCrossEntropy(x, idx, o)],
};
// The optimizers' in-place update ops: one weight's group, (weight, grad, states...).
const UPDATE_FACES: [string, string, number][] = [
  ['multi_sgd_update', 'multiSgdUpdate', 0], ['multi_sgd_mom_update', 'multiSgdMomUpdate', 1],
  ['multi_nag_mom_update', 'multiNagMomUpdate', 1], ['multi_adam_update', 'multiAdamUpdate', 2],
  ['multi_adamw_update', 'multiAdamWUpdate', 2], ['multi_rmsprop_update', 'multiRmspropUpdate', 1],
  ['multi_rmspropalex_update', 'multiRmspropAlexUpdate', 3], ['multi_adagrad_update', 'multiAdagradUpdate', 1],
];
for (const [op, ts, nStates] of UPDATE_FACES)
  FACES[op] = [ts, (o) => (nd as any)[ts]([x, x, ...Array.from({ length: nStates }, () => x)], { lrs: [0], wds: [0], ...o })];
const ndFns = nd as unknown as Record<string, (...a: unknown[]) => unknown>;
for (const op of table) {
  // the elementwise and reduction families by name (binary ops under their TS alias: notEqual)
  const tsName = [op.name, ...op.aliases.split(' ')].find((n) => n && /^[a-z][A-Za-z0-9]*$/.test(n) && typeof ndFns[n] === 'function');
  if (!tsName) continue;
  if (op.kind === 'unary' && op.name !== 'zeros_like' && op.name !== 'copy') FACES[op.name] = [tsName, (o) => ndFns[tsName](x, o)];
  if (op.kind === 'binary') FACES[op.name] = [tsName, (o) => ndFns[tsName](x, x, o)];
  if (op.kind === 'reduce') FACES[op.name] = [tsName, (o) => ndFns[tsName](x, o)];
}
// Ops whose TS face is a method without an options parameter (x.copy(), x.at(i)).
const NO_OPTIONS = new Set(['copy', 'at']);
const PUBLIC = table.filter((op) => !op.name.startsWith('_'));

describe('a misspelled option is BAD_ARGUMENT naming the op, the key and the closest valid key', () => {
  test('every public op of the op table has a TS face in this test (a new op must be added here)', () => {
    const missing = PUBLIC.filter((op) => !FACES[op.name] && !NO_OPTIONS.has(op.name)).map((op) => op.name);
    expect(missing).toEqual([]);
  });

  const cases: [string, string, string, Face][] = [];
  for (const op of PUBLIC) {
    const face = FACES[op.name];
    if (!face) continue;
    const keys = userKeys(op);
    for (const key of keys)
      for (const typo of misspellings(key)) if (!keys.includes(typo)) cases.push([face[0], typo, key, face]);
  }

  test.each(cases)('%s: %s -> %s', (name, typo, key, face) => {
    const before = nd.memory().numArrays;
    const e = errorOf(() => face[1]({ [typo]: 1 }));
    expect(e.code).toBe('BAD_ARGUMENT');
    expect(e.message).toBe(`${name}: unknown option '${typo}' (did you mean '${key}'?)`);
    expect(nd.memory().numArrays).toBe(before);
  });

  test('the three examples of the issue', () => {
    expect(errorOf(() => nd.sum(x, { axes: 1 } as any)).message).toBe("sum: unknown option 'axes' (did you mean 'axis'?)");
    expect(errorOf(() => nd.sum(x, { keepDims: true } as any)).message).toBe(
      "sum: unknown option 'keepDims' (did you mean 'keepdims'?)",
    );
    const e = errorOf(() => nd.Pooling(img, { kernel: [2, 2], pool_type: 'avg' } as any));
    expect(e.code).toBe('BAD_ARGUMENT');
    expect(e.message).toBe("Pooling: unknown option 'pool_type' (did you mean 'poolType'?)");
  });

  test('a key close to no valid key lists the valid ones', () => {
    expect(errorOf(() => nd.sum(x, { zzz: 1 } as any)).message).toBe(
      "sum: unknown option 'zzz' (valid options: axis, keepdims, out)",
    );
    expect(errorOf(() => nd.exp(x, { zzz: 1 } as any)).message).toBe("exp: unknown option 'zzz' (valid options: out)");
  });

  test('the check runs before anything is computed or written', () => {
    const out = nd.full([3], 7);
    const before = nd.memory().numArrays;
    expect(errorOf(() => nd.sum(x, { axis: 0, out, keepdim: false } as any)).code).toBe('BAD_ARGUMENT');
    expect(errorOf(() => nd.add(x, 1, { out: nd.zeros([2, 3]), ot: 1 } as any)).code).toBe('BAD_ARGUMENT');
    expect(nd.memory().numArrays).toBe(before + 1); // the zeros made for the second call only
    expect(out.toArray()).toEqual([7, 7, 7]);
  });
});

// A method whose op takes options passes its trailing options object on: `x.flatten({ out })` ignored
// `out` (a new array came back, out unwritten) and `x.transpose(axes, { axs })` ignored the typo.
describe('a method passes its trailing options to its op', () => {
  const m = nd.ones([2, 2]);
  const METHODS: [string, (o: object) => unknown, number[], string][] = [
    ['transpose', (o) => m.transpose([1, 0], o), [2, 2], 'float32'],
    ['expandDims', (o) => m.expandDims(0, o), [1, 2, 2], 'float32'],
    ['squeeze', (o) => m.squeeze(null, o), [2, 2], 'float32'],
    ['flatten', (o) => m.flatten(o), [2, 2], 'float32'],
    ['broadcastTo', (o) => m.broadcastTo([2, 2], o), [2, 2], 'float32'],
    ['broadcastLike', (o) => m.broadcastLike(m, o), [2, 2], 'float32'],
    ['swapAxes', (o) => m.swapAxes(0, 1, o), [2, 2], 'float32'],
    ['tile', (o) => m.tile([1], o), [2, 2], 'float32'],
    ['flip', (o) => m.flip(0, o), [2, 2], 'float32'],
    ['slice', (o) => m.slice([0], [1], null, o), [1, 2], 'float32'],
    ['sliceAxis', (o) => m.sliceAxis(0, 0, 1, o), [1, 2], 'float32'],
    ['astype', (o) => m.astype('float64', o), [2, 2], 'float64'],
    ['asType', (o) => m.asType('float64', o), [2, 2], 'float64'],
  ];
  test.each(METHODS)('%s writes `out`', (_name, call, shape, dtype) => {
    const out = nd.full(shape, 7, { dtype: dtype as any });
    expect(call({ out })).toBe(out);
    expect(out.toTypedArray().every((v) => v === 1)).toBe(true);
  });
  test.each(METHODS)('%s refuses a misspelled key', (name, call) => {
    const e = errorOf(() => call({ ot: 1 }));
    expect(e.code).toBe('BAD_ARGUMENT');
    expect(e.message).toMatch(new RegExp(`^${name === 'asType' ? 'astype' : name}: unknown option 'ot'`));
  });
});

// A Map (a Python dict's look-alike) has no enumerable keys: nd.sum(x, new Map([['axis', 1]])) summed everything.
test('options that are not a plain object (Map, Set, Date, boxed value) are BAD_ARGUMENT', () => {
  for (const o of [new Map([['axis', 1]]), new Set(['axis']), new Date(0), Object(1), new Error('axis')])
    expect(errorOf(() => nd.sum(x, o as any)).message).toMatch(/^sum: options must be an object, got a (Map|Set|Date|Number|Error)$/);
  expect(nd.sum(x, Object.assign(Object.create(null), { axis: 1 })).shape).toEqual([2]);
});

describe('the native op schema rejects an undeclared attribute of every op, internal ones included', () => {
  const native = nd._native;
  test.each(table.map((op, i) => [op.name, i] as [string, number]))('%s', (name, i) => {
    const op = table[i];
    const h = native.fromTyped(new Float32Array([1, 2]), [2], 0);
    const out = native.fromTyped(new Float32Array([5, 6]), [2], 0);
    try {
      const n = op.numInputs >= 0 ? op.numInputs : 2;
      const first = op.attrs[0]?.name;
      const typo = first ? first + 's' : 'zzz';
      const e = errorOf(() => native.opN(i, new Array(n).fill(h), { [typo]: 1 }, out));
      expect(e.code).toBe('BAD_ARGUMENT');
      expect(e.message).toBe(
        `${name}: unknown option '${typo}' ` + (first ? `(did you mean '${first}'?)` : `(${name} takes no options)`),
      );
      expect(Array.from(native.toTyped(out))).toEqual([5, 6]);
    } finally {
      native.release(h);
      native.release(out);
    }
  });
});

test("the raw split refuses 'sizes', which its shape rule would ignore and its forward would use", () => {
  // Before the schema, forward cut [4] into sections [1, 3] while infer had made two [2] outputs.
  const native = nd._native;
  const split = table.findIndex((op) => op.name === 'split');
  const h = native.fromTyped(new Float32Array(4), [4], 0);
  try {
    const e = errorOf(() => native.opN(split, [h], { num_outputs: 2, axis: 0, sizes: [1, 3] }, -1));
    expect(e.message).toBe("split: unknown option 'sizes' (valid options: num_outputs, axis, squeeze_axis)");
  } finally {
    native.release(h);
  }
});

describe('functions that are not ops check their options the same way', () => {
  const TS_ONLY: [string, string[], (o: object) => unknown][] = [
    ['array', ['dtype'], (o) => nd.array([1, 2], o)],
    ['record', ['trainMode'], (o) => autograd.record(() => 1, o)],
    ['record', ['trainMode'], (o) => autograd.record(o)],
    ['pause', ['trainMode'], (o) => autograd.pause(() => 1, o)],
    ['pause', ['trainMode'], (o) => autograd.pause(o)],
    ['backward', ['retainGraph', 'trainMode'], (o) => recorded((y) => autograd.backward(y, null, o))],
    ['backward', ['retainGraph', 'trainMode'], (o) => recorded((y) => y.backward(null, o))],
    ['grad', ['retainGraph', 'createGraph', 'trainMode'], (o) => recorded((y, v) => autograd.grad(y, [v], null, o))],
    ['checkGradient', ['eps', 'rtol', 'atol'], (o) => autograd.checkGradient((a) => a.mul(2), [nd.ones([2])], o)],
  ];
  function recorded(f: (y: NDArray, v: NDArray) => unknown): unknown {
    const v = nd.ones([2]);
    v.attachGrad();
    const y = autograd.record(() => v.mul(v).sum());
    try {
      return f(y, v);
    } finally {
      y.dispose();
      v.dispose();
    }
  }
  const cases: [string, string, string, (o: object) => unknown][] = [];
  for (const [name, keys, call] of TS_ONLY)
    for (const key of keys) for (const typo of misspellings(key)) if (!keys.includes(typo)) cases.push([name, typo, key, call]);

  test.each(cases)('%s: %s -> %s', (name, typo, key, call) => {
    const wasRecording = autograd.isRecording();
    const e = errorOf(() => call({ [typo]: true }));
    expect(e).toBeInstanceOf(NDArrayError);
    expect(e.code).toBe('BAD_ARGUMENT');
    expect(e.message).toBe(`${name}: unknown option '${typo}' (did you mean '${key}'?)`);
    expect(autograd.isRecording()).toBe(wasRecording);
  });

  test('the valid keys still work', () => {
    expect(nd.array([1, 2], { dtype: 'int32' }).dtype).toBe('int32');
    expect(autograd.record(() => autograd.isTraining(), { trainMode: false })).toBe(false);
    recorded((y) => autograd.backward(y, null, { retainGraph: false, trainMode: true }));
  });
});

// Each op declares its options once, as a typed struct (native/src/ops: `fields`): the op table, the
// parse at the call, backward and getSymbol all read that one declaration.
describe("an op's options are parsed once into its typed struct", () => {
  const attrsOf = (name: string) => table.find((op) => op.name === name)!.attrs;

  test('the op table gives each field its declared name, type and default', () => {
    expect(attrsOf('concat')).toEqual([{ name: 'dim', type: 'int', default: '1', option: true }]);
    expect(attrsOf('LeakyReLU')).toEqual([
      { name: 'act_type', type: 'str', default: 'leaky', option: true },
      { name: 'slope', type: 'num', default: '0.25', option: true },
    ]);
    // absent (no default): every axis
    expect(attrsOf('sum').map((a) => [a.name, a.type, a.default])).toEqual([['axis', 'ints', ''], ['keepdims', 'bool', 'false']]);
    expect(attrsOf('add').map((a) => [a.name, a.option])).toEqual([['scalar', false], ['reverse', false]]);
  });

  test('a typed default applies when the key is absent', () => {
    const a = nd.ones([2, 3]);
    expect(nd.concat([a, a]).shape).toEqual([2, 6]); // dim = 1
    expect(Array.from(nd.LeakyReLU(nd.array([-4, 2])).toTypedArray())).toEqual([-1, 2]); // slope = 0.25
  });

  test('a value of the wrong type is BAD_ARGUMENT at the call, before anything is computed', () => {
    const before = nd.memory().numArrays;
    const e = errorOf(() => nd.sum(x, { keepdims: 'yes' } as any));
    expect(e.code).toBe('BAD_ARGUMENT');
    expect(e.message).toBe("sum: option 'keepdims' must be a boolean");
    expect(errorOf(() => nd.concat([x, x], { dim: 0.5 })).message).toBe("concat: option 'dim' must be an integer");
    expect(nd.memory().numArrays).toBe(before);
  });

  test('a dtype option is read into a dtype at the call (the raw op path, below the TS checks)', () => {
    const native = nd._native;
    const astype = table.findIndex((op) => op.name === 'astype');
    const h = native.fromTyped(new Float32Array([1.5]), [1], 0);
    try {
      const e = errorOf(() => native.opN(astype, [h], { dtype: 'float16' }, -1));
      expect(e.code).toBe('BAD_ARGUMENT');
      expect(e.message).toBe("astype: unknown dtype 'float16' (float32, float64, int32, uint8, bfloat16)");
      const r = native.opN(astype, [h], { dtype: 'int32' }, -1) as number;
      expect(Array.from(native.toTyped(r))).toEqual([1]);
      native.release(r);
    } finally {
      native.release(h);
    }
  });

  test('backward reads the options the call was recorded with', () => {
    const v = nd.array([-2, 3]);
    v.attachGrad();
    autograd.record(() => nd.LeakyReLU(v, { slope: 0.1 }).sum()).backward();
    const g = Array.from(v.grad!.toTypedArray());
    expect(g[0]).toBeCloseTo(0.1, 6);
    expect(g[1]).toBe(1);
  });

  test('getSymbol shows the options that differ from their defaults', () => {
    const v = nd.ones([2, 2]);
    v.attachGrad();
    const y = autograd.record(() => {
      const a = nd.concat([v, v], { dim: 0 });
      return nd.concat([a, a], { dim: 1 }); // the default: not shown
    });
    const nodes = autograd.getSymbol(y).toJSON().nodes.filter((n) => n.op === 'concat');
    expect(nodes.map((n) => n.attrs)).toEqual([{ dim: 0 }, {}]);
  });
});
