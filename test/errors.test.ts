// Every error code reachable so far: NDArrayError with its code, and a message naming the op and the
// shapes; failed ops leave their `out` untouched; misuse never crashes the process.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { autograd, nd, NDArray, NDArrayError } from '../lib';
import { ERROR_CODES, NDArrayErrorCode } from '../lib/error_codes';
import { errorOf, expectError, liveMemory } from './helpers';

/** fn's body for a test title: `nd.add(x, 'a')` (ts-jest's compiled text, its import prefixes removed). */
const callOf = (fn: () => unknown): string =>
  fn.toString().replace(/^\(\) => /, '').replace(/\b\w+_1\./g, '').replace(/\s+/g, ' ');

const x = nd.ones([2]);

// [code, the call, words its message contains]: the op, and the shapes or value involved.
const MISUSES: [NDArrayErrorCode, () => unknown, ...string[]][] = [
  ['SHAPE_MISMATCH', () => nd.add(nd.ones([2, 3]), nd.ones([4, 3])), 'add', '(2,3)', '(4,3)'],
  ['SHAPE_MISMATCH', () => nd.dot(nd.ones([2, 3]), nd.ones([4, 3])), 'dot', '(2,3)', '(4,3)'],
  ['SHAPE_MISMATCH', () => nd.ones([2, 3]).reshape(7), 'reshape', '(2,3)', '(7)'],
  ['SHAPE_MISMATCH', () => nd.broadcastTo(nd.ones([2]), [3]), 'broadcast_to', '(2)', '(3)'],
  ['SHAPE_MISMATCH', () => nd.array([[1, 2], [3]]), 'array'],
  ['DTYPE_MISMATCH', () => nd.add(nd.ones([2]), nd.ones([2], { dtype: 'int32' })), 'add', 'float32', 'int32', '(2)'],
  ['DTYPE_MISMATCH', () => nd.dot(nd.ones([2, 3]), nd.ones([3, 2], { dtype: 'float64' })), 'dot', '(2,3)', '(3,2)'],
  ['DTYPE_MISMATCH', () => nd.exp(nd.ones([2]), { out: nd.zeros([2], { dtype: 'float64' }) }), 'exp', 'float64', 'float32'],
  ['DTYPE_MISMATCH', () => nd.ones([2], { dtype: 'int32' }).attachGrad(), 'int32', '(2)'],
  ['BAD_AXIS', () => nd.sum(nd.ones([2, 3]), { axis: 2 }), 'sum', '2', '(2,3)'],
  ['BAD_AXIS', () => nd.max(nd.ones([2, 3]), { axis: -3 }), 'max', '(2,3)'],
  ['BAD_AXIS', () => nd.mean(nd.ones([2, 2]), { axis: [0, 0] }), 'mean', '(2,2)'],
  ['BAD_AXIS', () => nd.transpose(nd.ones([2, 3]), [0, 0]), 'transpose', '(2,3)'],
  ['BAD_AXIS', () => nd.transpose(nd.ones([2, 3]), [0]), 'transpose', '(2,3)'],
  ['BAD_AXIS', () => nd.expandDims(nd.ones([2]), 3), 'expand_dims', '(2)'],
  ['BAD_AXIS', () => nd.squeeze(nd.ones([2]), 0), 'squeeze', '(2)'],
  ['OUT_OF_RANGE', () => nd.ones([2, 3]).at(2), 'at', '2', '(2,3)'],
  ['OUT_OF_RANGE', () => nd.ones([2, 3]).at(-3), 'at', '(2,3)'],
  ['BAD_ARGUMENT', () => nd.add(x, 'a' as any), 'add', 'string'],
  ['BAD_ARGUMENT', () => nd.add({} as any, x), 'add', 'object'],
  ['BAD_ARGUMENT', () => nd.add(x, null as any), 'add'],
  ['BAD_ARGUMENT', () => nd.add(undefined as any, x), 'add'],
  ['BAD_ARGUMENT', () => nd.add(x, true as any), 'add'],
  ['BAD_ARGUMENT', () => nd.add(1, 2), 'add'],
  ['BAD_ARGUMENT', () => nd.exp('x' as any), 'exp'],
  ['BAD_ARGUMENT', () => nd.exp({ _h: 0, shape: [2], dtype: 'float32' } as any), 'exp'],
  ['BAD_ARGUMENT', () => nd.dot(x, [1, 2] as any), 'dot'],
  ['BAD_ARGUMENT', () => nd.where(x, x, 3 as any), 'where'],
  ['BAD_ARGUMENT', () => nd.add(x, x, { out: [0, 0] as any }), 'add'],
  ['BAD_ARGUMENT', () => nd.sum(x, { axis: 'a' as any }), 'sum', 'axis'],
  ['BAD_ARGUMENT', () => x.reshape('a' as any), 'reshape', 'shape'],
  ['BAD_ARGUMENT', () => x.reshape([-2]), 'reshape'],
  ['BAD_ARGUMENT', () => x.reshape([-1, -1]), 'reshape'],
  ['BAD_ARGUMENT', () => x.at(0.5), 'at'],
  ['BAD_ARGUMENT', () => nd.full([], 1).at(0), 'at'],
  ['BAD_ARGUMENT', () => nd.zeros([-1]), 'full'],
  ['BAD_ARGUMENT', () => nd.zeros([2], { dtype: 'float16' as any }), 'float16'],
  ['BAD_ARGUMENT', () => x.astype('int8' as any), 'astype', 'int8'],
  ['BAD_ARGUMENT', () => nd.full([2], 'a' as any), 'full'],
  ['BAD_ARGUMENT', () => nd.arange(0, 1, 0), 'arange'],
  ['BAD_ARGUMENT', () => nd.eye(-1), 'eye'],
  ['BAD_ARGUMENT', () => nd.random.uniform(1, 0, [2]), 'random_uniform'],
  ['BAD_ARGUMENT', () => nd.random.normal(0, -1, [2]), 'random_normal'],
  ['BAD_ARGUMENT', () => nd.array(['a'] as any), 'array'],
  ['BAD_ARGUMENT', () => nd.array([1, 2]).item(), 'item', '(2)'],
  ['BAD_ARGUMENT', () => x.attachGrad('sometimes' as any), 'gradReq'],
  ['BAD_ARGUMENT', () => autograd.record(5 as any), 'record'],
  ['BAD_ARGUMENT', () => autograd.markVariables([nd.ones([2])], []), 'markVariables'],
  ['OUT_OF_MEMORY', () => nd.zeros([2 ** 40]), 'full'],
  // shapes whose byte count would overflow
  ['OUT_OF_MEMORY', () => nd.zeros([2 ** 31, 2 ** 31, 4]), 'full', '(2147483648,2147483648,4)'],
  ['OUT_OF_MEMORY', () => nd.zeros([1e10, 1e10, 1e10]), 'full'],
  ['OUT_OF_MEMORY', () => nd.broadcastTo(nd.ones([1]), [1e10, 1e10]), 'broadcast_to'],
];

describe('a misuse throws NDArrayError with its code and a message naming the op and the shapes', () => {
  test.each(MISUSES.map(([code, fn, ...parts]) => [code, callOf(fn), fn, parts] as const))('%s: %s', (code, _call, fn, parts) => {
    expectError(fn, code, ...parts);
  });
});

describe('each error code that needs a state to reach', () => {
  test("DISPOSED: reading a disposed array's data or passing it to an op, as input or out, names its shape", () => {
    const x = nd.ones([2, 3]);
    x.dispose();
    expectError(() => x.add(1), 'DISPOSED', '2x3');
    expectError(() => nd.add(nd.ones([2, 3]), x), 'DISPOSED');
    expectError(() => nd.exp(x), 'DISPOSED');
    expectError(() => x.toArray(), 'DISPOSED');
    expectError(() => x.toTypedArray(), 'DISPOSED');
    expectError(() => x.item(), 'DISPOSED');
    expectError(() => nd.add(nd.ones([2, 3]), 1, { out: x }), 'DISPOSED');
  });

  test('NOT_RECORDED', () => {
    const x = nd.ones([2]);
    x.attachGrad();
    const y = x.mul(2);
    expectError(() => y.backward(), 'NOT_RECORDED', 'backward', '(2)', 'autograd.record()');
    expectError(() => autograd.getSymbol(nd.ones([2])), 'NOT_RECORDED', 'getSymbol', '(2)');
  });

  test('GRAPH_FREED', () => {
    const x = nd.ones([2]);
    x.attachGrad();
    const y = autograd.record(() => x.mul(x));
    y.backward();
    expectError(() => y.backward(), 'GRAPH_FREED', 'backward', '(2)', 'retainGraph');
  });

  test('NO_GRAD_INPUTS', () => {
    const x = nd.ones([2]);
    x.attachGrad('null');
    const y = autograd.record(() => x.mul(2));
    expectError(() => y.backward(), 'NO_GRAD_INPUTS', 'backward');
  });

  test('NOT_REACHABLE and NOT_A_VARIABLE', () => {
    const x = nd.ones([2]);
    const z = nd.ones([3]);
    const w = nd.ones([2]);
    x.attachGrad();
    z.attachGrad();
    const y = autograd.record(() => x.mul(w));
    expectError(() => autograd.grad(y, [z], null, { retainGraph: true }), 'NOT_REACHABLE', 'grad', '(3)');
    expectError(() => autograd.grad(y, [w], null, { retainGraph: true }), 'NOT_A_VARIABLE', 'grad', '(2)');
  });

  test('INPLACE_IN_GRAPH', () => {
    const x = nd.ones([2]);
    x.attachGrad();
    autograd.record(() => {
      const y = x.mul(2);
      expectError(() => y.iadd(1), 'INPLACE_IN_GRAPH', 'add', '(2)');
      expectError(() => nd.exp(x, { out: y }), 'INPLACE_IN_GRAPH', 'exp', '(2)');
      expectError(() => x.set(0), 'INPLACE_IN_GRAPH', '(2)');
    });
  });

  test('INPLACE_MODIFIED', () => {
    const x = nd.ones([2]);
    const w = nd.ones([2]);
    x.attachGrad();
    const y = autograd.record(() => x.mul(w));
    w.iadd(1);
    expectError(() => y.backward(), 'INPLACE_MODIFIED', 'multiply', '(2)');
  });

  test('BAD_CUSTOM_GRAD', () => {
    class Twice extends autograd.Function {
      constructor(private readonly bad: 'count' | 'shape') {
        super();
      }
      forward(x: NDArray) {
        return x.mul(2);
      }
      backward(dy: NDArray) {
        return this.bad === 'count' ? [dy, dy] : nd.ones([3]);
      }
    }
    for (const bad of ['count', 'shape'] as const) {
      const x = nd.ones([2]);
      x.attachGrad();
      const y = autograd.record(() => new Twice(bad).apply(x));
      const e = expectError(() => y.backward(), 'BAD_CUSTOM_GRAD', 'backward');
      if (bad === 'shape') {
        expect(e.message).toContain('(3)');
        expect(e.message).toContain('(2)');
      }
    }
  });

  test('ASYNC_SCOPE', () => {
    const before = liveMemory();
    expectError(() => nd.tidy((async () => nd.ones([2])) as any), 'ASYNC_SCOPE', 'tidy');
    expectError(() => autograd.record(async () => 1), 'ASYNC_SCOPE', 'record');
    expectError(() => autograd.pause(async () => 1), 'ASYNC_SCOPE', 'pause');
    expect(autograd.isRecording()).toBe(false);
    expect(liveMemory()).toEqual(before);
  });
});

describe('one list of error codes', () => {
  // API.md, "Error codes" (including the codes of Gluon and distribution, which later issues use).
  const API_MD = [
    'SHAPE_MISMATCH', 'DTYPE_MISMATCH', 'BAD_AXIS', 'OUT_OF_RANGE', 'BAD_ARGUMENT', 'DISPOSED', 'NOT_RECORDED',
    'GRAPH_FREED', 'NO_GRAD_INPUTS', 'NOT_REACHABLE', 'NOT_A_VARIABLE', 'INPLACE_IN_GRAPH', 'INPLACE_MODIFIED',
    'NOT_DIFFERENTIABLE', 'BAD_CUSTOM_GRAD', 'ASYNC_SCOPE', 'OUT_OF_MEMORY', 'NOT_INITIALIZED', 'STALE_GRAD',
    'BAD_FILE', 'MISSING_PARAMETER', 'UNEXPECTED_PARAMETER', 'NO_MPI', 'DIST_FAILURE',
  ];

  test("the native list is API.md's", () => {
    expect(nd._native.errorCodes()).toEqual(API_MD);
  });

  test("TypeScript's codes are the native list", () => {
    expect([...ERROR_CODES]).toEqual(nd._native.errorCodes());
  });

  test('lib/error_codes.ts is what scripts/gen-error-codes.js makes from the X-macro in error.h', () => {
    const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'gen-error-codes.js'), '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  test('every code thrown from lib/ is in the list', () => {
    const dir = path.join(__dirname, '..', 'lib');
    const thrown: string[] = [];
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      // each construction, up to its code (the last argument)
      for (const call of fs.readFileSync(path.join(dir, f), 'utf8').split('new NDArrayError(').slice(1)) {
        const m = /,\s*'([A-Z][A-Z_]+)',?\s*\)/.exec(call);
        thrown.push(m ? m[1] : `${f}: no literal code in: ${call.slice(0, 80)}`);
      }
    }
    expect(thrown.length).toBeGreaterThan(30);
    for (const c of thrown) expect(API_MD).toContain(c);
  });
});

describe('a failed op leaves its out array unchanged', () => {
  const snapshot = (a: NDArray) => ({ shape: a.shape.slice(), dtype: a.dtype, data: Array.from(a.toTypedArray()) });

  test.each([
    ['operand shapes', (out: NDArray) => nd.add(nd.ones([2, 3]), nd.ones([3, 3]), { out })],
    ['out shape', (out: NDArray) => nd.add(nd.ones([3, 3]), nd.ones([3, 3]), { out })],
    ['broadcast shape bigger than out', (out: NDArray) => nd.add(nd.ones([2, 3]), nd.ones([4, 2, 3]), { out })],
    ['operand dtypes', (out: NDArray) => nd.add(nd.ones([2, 3]), nd.ones([2, 3], { dtype: 'int32' }), { out })],
    ['out dtype', (out: NDArray) => nd.add(nd.ones([2, 3], { dtype: 'float64' }), 1, { out })],
    ['unary out dtype', (out: NDArray) => nd.exp(nd.ones([2, 3], { dtype: 'float64' }), { out })],
    ['bad axis', (out: NDArray) => nd.sum(nd.ones([2, 3, 4]), { axis: 3, out })],
    ['reduction shape', (out: NDArray) => nd.sum(nd.ones([2, 3, 4]), { axis: 0, out })],
    ['dot shapes', (out: NDArray) => nd.dot(nd.ones([2, 4]), nd.ones([3, 3]), { out })],
    ['disposed input', (out: NDArray) => {
      const x = nd.ones([2, 3]);
      x.dispose();
      return nd.add(x, 1, { out });
    }],
    ['wrong type', (out: NDArray) => nd.add('x' as any, 1, { out })],
    ['set with a bad shape', (out: NDArray) => out.set(nd.ones([4]))],
    ['set with a bad dtype', (out: NDArray) => out.set(nd.ones([2, 3], { dtype: 'int32' }))],
    ['iadd with a broadcast result', (out: NDArray) => out.iadd(nd.ones([5, 2, 3]))],
    ['idiv with another dtype', (out: NDArray) => out.idiv(nd.ones([2, 3], { dtype: 'float64' }))],
    ['transpose into out', (out: NDArray) => nd.transpose(nd.ones([2, 3]), undefined, { out })],
  ])('%s', (_name, f) => {
    const out = nd.arange(6).reshape(2, 3);
    const before = snapshot(out);
    errorOf(() => f(out));
    expect(snapshot(out)).toEqual(before);
  });

  test('in-graph failure under record leaves out and the graph intact', () => {
    const x = nd.array([1, 2, 3]);
    x.attachGrad();
    let y!: NDArray;
    autograd.record(() => {
      y = x.mul(x);
      const before = snapshot(y);
      expectError(() => nd.add(x, 100, { out: y }), 'INPLACE_IN_GRAPH');
      expectError(() => y.imul(0), 'INPLACE_IN_GRAPH');
      expectError(() => x.set(5), 'INPLACE_IN_GRAPH');
      expect(snapshot(y)).toEqual(before);
    });
    expect(x.toArray()).toEqual([1, 2, 3]);
    y.backward();
    expect(x.grad!.toArray()).toEqual([2, 4, 6]);
  });

  test('a successful op with out writes in place and returns out', () => {
    const out = nd.zeros([2, 3]);
    const r = nd.add(nd.ones([2, 3]), 1, { out });
    expect(r).toBe(out);
    expect(out.toArray()).toEqual([[2, 2, 2], [2, 2, 2]]);
    // out may alias an input
    nd.multiply(out, out, { out });
    expect(out.toArray()).toEqual([[4, 4, 4], [4, 4, 4]]);
  });
});

describe('misuse never crashes the process', () => {
  test('the raw binding rejects garbage with errors, not crashes', () => {
    const n = nd._native as any;
    const calls: (() => unknown)[] = [
      () => n.opN(9999, [], null, -1),
      () => n.opN(),
      () => n.opN('x', 'y', 'z', 'w'),
      () => n.op1(0, 'x'),
      () => n.op2(0, -5, 2 ** 30),
      () => n.opScalar(0, {}, 'a', 1),
      () => n.fromTyped({}, [1], 0),
      () => n.fromTyped(new Float32Array(2), [5], 0),
      () => n.fromTyped(new Float32Array(2), [2], 9),
      () => n.fromTyped(new Float32Array(2), 'ab', 0),
      () => n.toTyped('x'),
      () => n.toTyped(2 ** 31 - 1),
      () => n.item(-1),
      () => n.release('x'),
      () => n.meta(123456),
      () => n.seed('a'),
      () => n.markVariables(1, 2, 3),
      () => n.backward(1, 2, 3, 4),
      () => n.grad(),
      () => n.customRecord(1, 2, 3),
      () => n.freshGrad('a'),
      () => n.detach(-1),
      () => n.dropGrad(77777),
      () => n.symbol(-1, 'zz'),
    ];
    for (const c of calls) expect(c).toThrow();
    // still alive and computing
    expect(nd.add(nd.ones([2]), 1).toArray()).toEqual([2, 2]);
  });

  test('a list argument claiming 2 ** 32 - 1 entries is BAD_ARGUMENT, refused before it is walked', () => {
    const huge = <T>(first: T): T[] => {
      const l = [first];
      l.length = 2 ** 32 - 1; // sparse: walking it would take minutes
      return l;
    };
    const x = nd.ones([2, 3]);
    x.attachGrad();
    const y = autograd.record(() => x.sum());
    expectError(() => nd.zeros(huge(1)), 'BAD_ARGUMENT', 'full', '4294967295 entries');
    expectError(() => nd.random.uniform(0, 1, huge(1)), 'BAD_ARGUMENT', 'random.uniform');
    expectError(() => x.reshape(huge(6)), 'BAD_ARGUMENT', 'reshape', "'shape'");
    expectError(() => nd.slice(x, huge(0), [1]), 'BAD_ARGUMENT', 'slice', 'begin');
    expectError(() => nd.concat(huge(x)), 'BAD_ARGUMENT', 'concat');
    expectError(() => autograd.backward(huge(y)), 'BAD_ARGUMENT', 'autograd');
    expectError(() => autograd.markVariables(huge(x), huge(x.grad!)), 'BAD_ARGUMENT', 'autograd');
    // a Proxy claiming that length reads as the same
    const lying = new Proxy([1], { get: (t, k) => (k === 'length' ? 2 ** 32 - 1 : Reflect.get(t, k)) });
    expectError(() => nd.ones(lying), 'BAD_ARGUMENT', 'full');
  });

  test('slice bounds of a type JSON cannot print (BigInt) are BAD_ARGUMENT', () => {
    expectError(() => nd.slice(nd.ones([3]), [1n as any], [2]), 'BAD_ARGUMENT', 'slice', 'bigint');
  });

  test('what user code throws inside an ndgrad call (a getter, Function.backward) reaches the caller unchanged', () => {
    const x = nd.ones([2]);
    x.attachGrad();
    for (const thrown of [new RangeError('mine'), 'a string', 42, undefined]) {
      class Fails extends autograd.Function {
        forward(a: NDArray): NDArray {
          return a.mul(2);
        }
        backward(): NDArray {
          throw thrown;
        }
      }
      const y = autograd.record(() => new Fails().apply(x).sum());
      let caught: unknown = 'nothing';
      try {
        y.backward();
      } catch (e) {
        caught = e;
      }
      expect(caught).toBe(thrown);
      const shape = [2];
      Object.defineProperty(shape, 0, {
        get() {
          throw thrown;
        },
      });
      caught = 'nothing';
      try {
        x.reshape(shape); // read by native code
      } catch (e) {
        caught = e;
      }
      expect(caught).toBe(thrown);
    }
  });

  test('a release of a stale handle does not free a newer array', () => {
    const a = nd.ones([2]);
    const h = a._h;
    a.dispose();
    const b = nd.full([2], 5);
    nd._native.release(h); // stale: the slot may have been reused by b
    expect(b.toArray()).toEqual([5, 5]);
  });
});
