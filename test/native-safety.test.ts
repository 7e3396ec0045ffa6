// Native safety: things a user can do from JS that used to crash or corrupt memory in the binding,
// the op mechanism or the tape (found in review; run under ASan/UBSan with NDGRAD_SANITIZE=ON).
import { autograd, nd, NDArray } from '../lib';
import { codeOf, liveMemory } from './helpers';

const arr = (a: NDArray) => Array.from(a.toTypedArray());

beforeEach(() => {
  autograd.setRecording(false);
  autograd.setTraining(false);
});

test('markVariables: a gradReqs getter that creates arrays does not leave dangling slot references', () => {
  const n0 = liveMemory();
  const vs = [nd.zeros([2]), nd.zeros([2])];
  const gs = [nd.zeros([2]), nd.zeros([2])];
  const made: NDArray[] = [];
  const reqs: any[] = ['write', 'write'];
  // Reading element 1 runs JS that grows the native handle table (reallocating it).
  Object.defineProperty(reqs, 1, {
    get() {
      for (let i = 0; i < 3000; ++i) made.push(nd.zeros([1]));
      return 'write';
    },
  });
  autograd.markVariables(vs, gs, reqs);
  nd.tidy(() => {
    const y = autograd.record(() => vs[0].mul(2).add(vs[1].mul(3)).sum());
    y.backward();
  });
  expect(arr(gs[0])).toEqual([2, 2]);
  expect(arr(gs[1])).toEqual([3, 3]);
  for (const a of [...made, ...vs, ...gs]) a.dispose();
  expect(liveMemory()).toEqual(n0);
});

// A Function whose backward runs a backward over its own graph (it freed the running node): the
// rule and its test are in autograd-function.test.ts ('a pass from Function.backward into the graph
// being differentiated is refused ...').

test('reshape into a shape whose element count overflows int64 is refused (it wrapped to the input size)', () => {
  const x = nd.array([5]);
  // (2^32+1)(2^32-1)(2^32+1)(2^32-1) = 1 mod 2^64
  const big = [4294967297, 4294967295, 4294967297, 4294967295];
  expect(codeOf(() => x.reshape(big))).toBe('SHAPE_MISMATCH');
  expect(codeOf(() => x.reshape([-1, ...big]))).toBe('SHAPE_MISMATCH');
  expect(codeOf(() => nd.zeros([3]).reshape([-1, 4294967297, 4294967295]))).toBe('SHAPE_MISMATCH');
  expect(arr(x)).toEqual([5]);
  // ordinary reshapes are unaffected, including zero-size ones
  expect(nd.zeros([0, 3]).reshape([-1]).shape).toEqual([0]);
  expect(nd.arange(6).reshape([-1, 3]).shape).toEqual([2, 3]);
});

test('out= into a broadcast view of an input computes as if the input were copied first', () => {
  const y = nd.array([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  // y.at(0) shares y's storage; row 0 is overwritten before row 1 reads it unless computed aside
  nd.add(y.at(0), y, { out: y });
  expect(arr(y)).toEqual([2, 4, 6, 5, 7, 9]);
  const m = nd.array([
    [1, 2],
    [3, 4],
  ]);
  nd.multiply(m, m.at(1), { out: m });
  expect(arr(m)).toEqual([3, 8, 9, 16]);
  // exactly aliased elementwise in place still works
  const v = nd.array([1, 2, 3]);
  nd.add(v, v, { out: v });
  expect(arr(v)).toEqual([2, 4, 6]);
});
