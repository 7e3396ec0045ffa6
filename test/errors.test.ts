// Every error code: when each is thrown (NDArrayError with its code, and a message naming the op and
// the shapes), that a call the tape refuses leaves every array and graph as it was, and the one list
// of codes. What a failed op leaves behind otherwise is in failed-ops.test.ts.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { autograd, nd, NDArray, NDArrayError } from '../lib';
import { ERROR_CODES, NDArrayErrorCode } from '../lib/error_codes';
import { arr, codeOf, errorOf, expectError, freshAutogradState, liveMemory } from './helpers';

freshAutogradState();

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
  ['DTYPE_MISMATCH', () => nd.add(nd.array([1, 2, 4], { dtype: 'int32' }), nd.ones([3])), 'add', 'int32', 'float32'],
  ['DTYPE_MISMATCH', () => nd.multiply(nd.ones([3], { dtype: 'float64' }), nd.ones([3])), 'multiply', 'float64', 'float32'],
  ['BAD_AXIS', () => nd.sum(nd.ones([2, 3]), { axis: 2 }), 'sum', '2', '(2,3)'],
  ['BAD_AXIS', () => nd.max(nd.ones([2, 3]), { axis: -3 }), 'max', '(2,3)'],
  ['BAD_AXIS', () => nd.mean(nd.ones([2, 2]), { axis: [0, 0] }), 'mean', '(2,2)'],
  ['BAD_AXIS', () => nd.transpose(nd.ones([2, 3]), [0, 0]), 'transpose', '(2,3)'],
  ['BAD_AXIS', () => nd.sort(nd.ones([2, 3]), { axis: 2 }), 'sort', '2', '(2,3)'],
  ['BAD_AXIS', () => nd.topk(nd.ones([2, 3]), { axis: -3 }), 'topk', '(2,3)'],
  ['OUT_OF_RANGE', () => nd.topk(nd.ones([2, 3]), { k: 4 }), 'topk', 'k = 4', 'axis size 3'],
  ['BAD_ARGUMENT', () => nd.topk(nd.ones([3]), { retTyp: 'values' as 'value' }), 'topk', "'values'", 'retTyp'],
  ['BAD_ARGUMENT', () => nd.topk(nd.ones([3]), { retTyp: 'both', out: nd.ones([1]) } as object), 'topk', "'both'", 'out'],
  ['BAD_ARGUMENT', () => nd.argsort(nd.ones([300]), { dtype: 'uint8' }), 'argsort', 'uint8', '299'],
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
  ['BAD_ARGUMENT', () => nd.array(new Int16Array(2) as any), 'array'],
  ['BAD_ARGUMENT', () => nd.zeros([1.5]), 'full'],
  ['BAD_ARGUMENT', () => nd.zeros('3' as any), 'full'],
  ['BAD_ARGUMENT', () => nd.array([1, 2]).item(), 'item', '(2)'],
  ['BAD_ARGUMENT', () => nd.zeros([0]).item(), 'item', '(0)'],
  ['BAD_ARGUMENT', () => nd.array([1], { dtype: 'float16' as any }), 'array', 'float16'],
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

describe("the tape's error codes: when each is raised, and that a refused call changes nothing", () => {
  describe('NOT_RECORDED: differentiating an array with no recorded history', () => {
    test.each<[string, (x: NDArray) => void]>([
      ['backward of a result computed outside record()', (x) => x.mul(2).backward()],
      ['backward of a result recorded from constants only', () => autograd.record(() => nd.array([1, 2]).mul(2)).backward()],
      ['backward of a result computed inside pause()', (x) => autograd.backward([autograd.record(() => autograd.pause(() => x.mul(2)))])],
      ['grad() of a result computed outside record()', (x) => autograd.grad(x.mul(2), x)],
      ['getSymbol of a result computed outside record()', (x) => autograd.getSymbol(x.mul(2))],
    ])('%s', (_t, f) => {
      nd.tidy(() => {
        const x = nd.array([1, 2]);
        x.attachGrad();
        expect(codeOf(() => f(x))).toBe('NOT_RECORDED');
      });
    });

    test('the message names autograd.record()', () => {
      nd.tidy(() => {
        const x = nd.array([1, 2]);
        x.attachGrad();
        expect(errorOf(() => x.mul(2).backward()).message).toContain('autograd.record()');
      });
    });
  });

  test('GRAPH_FREED on a second backward without retainGraph; retainGraph allows it', () => {
    nd.tidy(() => {
      const x = nd.array([1, 2]);
      x.attachGrad();
      const y = autograd.record(() => x.mul(x).sum());
      y.backward(null, { retainGraph: true });
      y.backward();
      expect(arr(x.grad!)).toEqual([2, 4]);
      const e = errorOf(() => y.backward());
      expect(e.code).toBe('GRAPH_FREED');
      expect(e.message).toContain('retainGraph');
      // grad() without createGraph frees too (retainGraph defaults to createGraph)
      const z = autograd.record(() => x.mul(3));
      autograd.grad(z, x);
      expect(codeOf(() => autograd.grad(z, x))).toBe('GRAPH_FREED');
      // the variable itself survives and can be recorded again
      const w = autograd.record(() => x.mul(4));
      w.backward();
      expect(arr(x.grad!)).toEqual([4, 4]);
    });
  });

  test("NO_GRAD_INPUTS when every reachable variable has gradReq 'null'", () => {
    nd.tidy(() => {
      const x = nd.array([1, 2]);
      x.attachGrad('null');
      const y = autograd.record(() => x.mul(2));
      expect(codeOf(() => y.backward())).toBe('NO_GRAD_INPUTS');
    });
  });

  describe('grad() refuses variables it cannot differentiate with respect to', () => {
    // y = x * n + plain; x and z attached ('write'), n attached with gradReq 'null'
    function setup() {
      const [x, z, n, plain] = [nd.array([1, 2]), nd.array([3, 4]), nd.array([5, 6]), nd.array([1, 1])];
      x.attachGrad();
      z.attachGrad();
      n.attachGrad('null');
      const y = autograd.record(() => x.mul(n).add(plain));
      return { x, z, n, plain, y };
    }
    test.each<[string, (v: ReturnType<typeof setup>) => NDArray[], string, string]>([
      ['a plain array among the variables: NOT_A_VARIABLE naming its position', (v) => [v.x, v.plain], 'NOT_A_VARIABLE', '2-th variable'],
      ["a variable with gradReq 'null': NOT_A_VARIABLE", (v) => [v.n], 'NOT_A_VARIABLE', ''],
      ['a variable the heads do not reach: NOT_REACHABLE', (v) => [v.x, v.z], 'NOT_REACHABLE', 'unreachable'],
      ['an empty list: BAD_ARGUMENT', () => [], 'BAD_ARGUMENT', ''],
    ])('%s; the graph stays usable', (_t, vars, code, text) => {
      nd.tidy(() => {
        const v = setup();
        const e = errorOf(() => autograd.grad(v.y, vars(v), null, { retainGraph: true }));
        expect(e.code).toBe(code);
        expect(e.message).toContain(text);
        expect(arr(autograd.grad(v.y, v.x)[0])).toEqual([5, 6]);
      });
    });
  });

  describe('INPLACE_IN_GRAPH: writes into the recorded graph are refused before anything is written', () => {
    // x: a variable; y = 2x recorded; plain: an array outside the graph
    test.each<[string, (x: NDArray, y: NDArray, plain: NDArray) => unknown]>([
      ['into a variable, by iadd', (x) => x.iadd(1)],
      ['into a variable, by set', (x) => x.set(0)],
      ['into a recorded result, by imul', (x, y) => y.imul(3)],
      ['into a recorded result, by { out } of a unary op', (x, y, plain) => nd.exp(plain, { out: y })],
      ['into a recorded result, by { out } of a binary op', (x, y, plain) => nd.add(plain, x, { out: y })],
      ['into a plain array that is also an input of an op needing a gradient (plain += x)', (x, y, plain) => plain.iadd(x)],
    ])('%s', (_t, write) => {
      nd.tidy(() => {
        const x = nd.array([1, 2, 3]);
        x.attachGrad();
        const plain = nd.array([10, 20, 30]);
        autograd.record(() => {
          const y = x.mul(2);
          expect(codeOf(() => write(x, y, plain))).toBe('INPLACE_IN_GRAPH');
          expect([arr(x), arr(y), arr(plain)]).toEqual([
            [1, 2, 3],
            [2, 4, 6],
            [10, 20, 30],
          ]);
        });
      });
    });

    test('the message names the op', () => {
      nd.tidy(() => {
        const x = nd.array([1, 2, 3]);
        x.attachGrad();
        const plain = nd.array([10, 20, 30]);
        autograd.record(() => expect(errorOf(() => plain.iadd(x)).message).toContain('add'));
      });
    });

    test('in place on a plain array with no graph input is allowed while recording (not recorded)', () => {
      nd.tidy(() => {
        const plain = nd.array([10, 20, 30]);
        autograd.record(() => plain.iadd(1));
        expect(arr(plain)).toEqual([11, 21, 31]);
      });
    });

    test("whole-array assignment from a graph array is a recorded copy (MXNet's x[:] = y)", () => {
      nd.tidy(() => {
        const x = nd.array([1, 2, 3]);
        x.attachGrad();
        autograd.record(() => {
          const dst = nd.zeros([3]);
          dst.set(x.mul(2));
          expect(arr(dst)).toEqual([2, 4, 6]);
          autograd.backward(dst);
        });
        expect(arr(x.grad!)).toEqual([2, 2, 2]);
      });
    });

    test('outside record, in-place updates of a variable are allowed (optimizer steps) and it stays a variable', () => {
      nd.tidy(() => {
        const x = nd.array([1, 2, 3]);
        x.attachGrad();
        x.grad!.set(nd.array([2, 2, 2]));
        x.isub(x.grad!.mul(0.5));
        expect(arr(x)).toEqual([0, 1, 2]);
        const z = autograd.record(() => x.mul(x));
        z.backward();
        expect(arr(x.grad!)).toEqual([0, 2, 4]);
      });
    });
  });

  describe('INPLACE_MODIFIED: an array saved for backward and changed in place since', () => {
    // x = [1, 2, 3], a variable; c = [4, 5, 6], a constant
    test.each<[string, string, (x: NDArray, c: NDArray) => NDArray]>([
      ['a saved constant input (multiply saves c)', 'multiply', (x, c) => {
        const y = autograd.record(() => x.mul(c));
        c.iadd(1); // outside record: allowed
        return y;
      }],
      ['the variable itself, updated between forward and backward', 'multiply', (x) => {
        const y = autograd.record(() => x.mul(x));
        x.set(nd.array([7, 7, 7]));
        return y;
      }],
      ['a saved output (exp saves its output)', 'exp', (x) => {
        const z = autograd.record(() => nd.exp(x));
        z.iadd(1);
        return z;
      }],
    ])('%s: backward refuses, naming the op', (_t, op, make) => {
      nd.tidy(() => {
        const x = nd.array([1, 2, 3]);
        x.attachGrad();
        const head = make(x, nd.array([4, 5, 6]));
        const e = errorOf(() => head.backward());
        expect(e.code).toBe('INPLACE_MODIFIED');
        expect(e.message).toContain(op);
      });
    });

    test('a pass failing without retainGraph frees its graph (the retry says GRAPH_FREED); with retainGraph the graph stays (the same error again)', () => {
      nd.tidy(() => {
        const x = nd.array([1, 2, 3]);
        x.attachGrad();
        const z = autograd.record(() => nd.exp(x));
        z.iadd(1);
        expect(codeOf(() => z.backward())).toBe('INPLACE_MODIFIED');
        expect(codeOf(() => z.backward())).toBe('GRAPH_FREED');
        const z2 = autograd.record(() => nd.exp(x));
        z2.iadd(1);
        expect(codeOf(() => z2.backward(null, { retainGraph: true }))).toBe('INPLACE_MODIFIED');
        expect(codeOf(() => z2.backward(null, { retainGraph: true }))).toBe('INPLACE_MODIFIED');
      });
    });

    test('ops that save nothing are unaffected by a change of their inputs', () => {
      nd.tidy(() => {
        const x = nd.array([1, 2, 3]);
        x.attachGrad();
        const c = nd.array([4, 5, 6]);
        const w = autograd.record(() => x.add(c));
        c.iadd(1);
        w.backward();
        expect(arr(x.grad!)).toEqual([1, 1, 1]);
      });
    });
  });

  test('BAD_CUSTOM_GRAD (wrong count, wrong shape) is thrown from the backward() call itself', () => {
    class WrongCount extends autograd.Function {
      forward(a: NDArray, b: NDArray) {
        return a.mul(b);
      }
      backward(dy: NDArray) {
        return [dy];
      }
    }
    class WrongShape extends autograd.Function {
      forward(a: NDArray) {
        return a.mul(2);
      }
      backward(_dy: NDArray) {
        return nd.zeros([5]);
      }
    }
    nd.tidy(() => {
      const a = nd.array([1, 2]);
      const b = nd.array([3, 4]);
      a.attachGrad();
      b.attachGrad();
      const y1 = autograd.record(() => new WrongCount().apply(a, b));
      let e = errorOf(() => y1.backward());
      expect(e.code).toBe('BAD_CUSTOM_GRAD');
      expect(e.message).toContain('1 gradients for 2 inputs');
      const y2 = autograd.record(() => new WrongShape().apply(a));
      e = errorOf(() => y2.backward());
      expect(e.code).toBe('BAD_CUSTOM_GRAD');
      expect(e.message).toContain('(5)');
      // state is restored after the failure
      expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, false]);
    });
  });
});

describe('one list of error codes', () => {
  // API.md, "Error codes" (including the codes of Gluon and distribution, which later issues use).
  const API_MD = [
    'SHAPE_MISMATCH', 'DTYPE_MISMATCH', 'BAD_AXIS', 'OUT_OF_RANGE', 'BAD_ARGUMENT', 'DISPOSED', 'NOT_RECORDED',
    'GRAPH_FREED', 'NO_GRAD_INPUTS', 'NOT_REACHABLE', 'NOT_A_VARIABLE', 'INPLACE_IN_GRAPH', 'INPLACE_MODIFIED',
    'NOT_DIFFERENTIABLE', 'BAD_CUSTOM_GRAD', 'ASYNC_SCOPE', 'OUT_OF_MEMORY', 'NOT_INITIALIZED', 'STALE_GRAD',
    'BAD_FILE', 'MISSING_PARAMETER', 'UNEXPECTED_PARAMETER', 'NO_MPI', 'DIST_FAILURE', 'GRADIENT_MISMATCH',
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
    for (const f of (fs.readdirSync(dir, { recursive: true }) as string[]).filter((n) => n.endsWith('.ts'))) {
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
