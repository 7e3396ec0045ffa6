// The gradient-ready hook (autograd.onGradReady, internal, for data-parallel training): when it
// fires, what the gradient holds then, which leaves it skips, and what a throwing hook leaves behind.
import { autograd, nd, NDArray, NDArrayError } from '../lib';
import { codeOf, liveMemory } from './helpers';

const arr = (a: NDArray | null) => Array.from(a!.toTypedArray());

beforeEach(() => {
  autograd.setRecording(false);
  autograd.setTraining(false);
});

// Attaches a gradient buffer to w and a hook that counts its calls.
function countingHook(w: NDArray, req: 'write' | 'add' | 'null' = 'write') {
  w.attachGrad(req);
  const counter = { calls: 0 };
  autograd.onGradReady(w, () => counter.calls++);
  return counter;
}

// loss = sum(((x * w1) * w2) * w3): w3's gradient is final first, w1's last.
function chain() {
  const x = nd.array([1, 2]);
  const [w1, w2, w3] = [2, 3, 4].map((v) => nd.full([2], v));
  for (const w of [w1, w2, w3]) w.attachGrad();
  const forward = () => autograd.record(() => x.mul(w1).mul(w2).mul(w3).sum());
  return { x, w1, w2, w3, forward, all: [x, w1, w2, w3] };
}

test('fires once per variable per backward pass, in the order their gradients complete', () => {
  const { w1, w2, w3, forward, all } = chain();
  const fired: string[] = [];
  autograd.onGradReady(w1, () => fired.push('w1'));
  autograd.onGradReady(w2, () => fired.push('w2'));
  autograd.onGradReady(w3, () => fired.push('w3'));
  forward().backward();
  expect(fired).toEqual(['w3', 'w2', 'w1']);
  forward().backward();
  expect(fired).toEqual(['w3', 'w2', 'w1', 'w3', 'w2', 'w1']);
  all.forEach((a) => a.dispose());
});

test('the gradient is final when the hook runs, and later variables are not written yet', () => {
  const { w1, w2, w3, forward, all } = chain();
  const seen: Record<string, number[]> = {};
  autograd.onGradReady(w3, (w) => {
    seen.w3 = arr(w.grad);
    seen.w1AtW3 = arr(w1.grad); // still the buffer attachGrad made: backward has not reached w1
  });
  autograd.onGradReady(w1, (w) => (seen.w1 = arr(w.grad)));
  forward().backward();
  expect(seen.w3).toEqual([6, 12]); // x * w1 * w2
  expect(seen.w1AtW3).toEqual([0, 0]);
  expect(seen.w1).toEqual([12, 24]); // x * w2 * w3
  expect(arr(w2.grad)).toEqual([8, 16]);
  all.forEach((a) => a.dispose());
});

test('a variable used early and late fires after its last contribution, with their sum', () => {
  const w = nd.array([1, 2]);
  const v = nd.array([3, 4]);
  w.attachGrad();
  v.attachGrad();
  const order: string[] = [];
  autograd.onGradReady(w, (a) => order.push(`w:${arr(a.grad)}`));
  autograd.onGradReady(v, (a) => order.push(`v:${arr(a.grad)}`));
  // y = sum((w * w) * v + w): w's gradient 2wv + 1 comes from the oldest and the newest node
  autograd.record(() => w.mul(w).mul(v).add(w).sum()).backward();
  expect(order).toEqual(['v:1,4', 'w:7,17']);
  [w, v].forEach((a) => a.dispose());
});

test.each([
  ['gradReq add', 'add', [3, 3]],
  ['gradReq write', 'write', [1.5, 1.5]],
] as const)('the hook sees the buffer already written per its gradReq (%s)', (_t, req, expected) => {
  const w = nd.array([1, 1]);
  w.attachGrad(req);
  w.grad!.iadd(1.5);
  let seen: number[] = [];
  autograd.onGradReady(w, (a) => (seen = arr(a.grad)));
  autograd.record(() => w.mul(1.5).sum()).backward();
  expect(seen).toEqual(expected);
  expect(w.freshGrad).toBe(true);
  w.dispose();
});

describe('not called for a variable that gets no gradient in the pass', () => {
  test.each<[string, 'write' | 'null', (w: NDArray, x: NDArray) => NDArray, number[]]>([
    ['unreachable from the heads', 'write', (w, x) => x.mul(2).sum(), [2, 2]],
    ['reached only through an op with no gradient', 'write', (w, x) => x.mul(2).add(nd.zerosLike(w)).sum(), [2, 2]],
    ["gradReq 'null'", 'null', (w, x) => x.mul(w).sum(), [5, 6]],
  ])('%s', (_t, req, f, xGrad) => {
    const x = nd.array([1, 2]);
    const w = nd.array([5, 6]);
    x.attachGrad();
    const hook = countingHook(w, req);
    autograd.record(() => f(w, x)).backward();
    expect(hook.calls).toBe(0);
    expect(arr(x.grad)).toEqual(xGrad);
    [x, w].forEach((a) => a.dispose());
  });

  test('grad(), which writes no .grad', () => {
    const w = nd.array([1, 2]);
    const hook = countingHook(w);
    const y = autograd.record(() => w.mul(w).sum());
    const [g] = autograd.grad(y, [w]);
    expect(arr(g)).toEqual([2, 4]);
    expect(hook.calls).toBe(0);
    [w, g].forEach((a) => a.dispose());
  });
});

test('the hook stays through attachGrad again; null removes it', () => {
  const w = nd.array([1, 2]);
  const hook = countingHook(w);
  w.attachGrad('add');
  autograd.record(() => w.mul(3).sum()).backward();
  expect(hook.calls).toBe(1);
  autograd.onGradReady(w, null);
  autograd.record(() => w.mul(3).sum()).backward();
  expect(hook.calls).toBe(1);
  expect(arr(w.grad)).toEqual([6, 6]);
  w.dispose();
});

describe('a throwing hook', () => {
  test.each([
    ['an Error passes through as it is', () => new Error('boom'), Error],
    ['an NDArrayError keeps its code', () => new NDArrayError('reduce failed', 'BAD_ARGUMENT'), NDArrayError],
  ])('%s, and stops the pass without corrupting state', (_t, make, kind) => {
    const { w1, w2, w3, forward, all } = chain();
    const thrown = make();
    autograd.onGradReady(w3, () => {
      throw thrown;
    });
    let w1Calls = 0;
    autograd.onGradReady(w1, () => w1Calls++);
    let caught: unknown;
    try {
      forward().backward();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBe(thrown);
    expect(caught).toBeInstanceOf(kind);
    // The pass stopped at w3: w1's hook never ran, and w2 (no hook, written after the pass) is untouched.
    expect(w1Calls).toBe(0);
    expect(arr(w2.grad)).toEqual([0, 0]);
    expect(autograd.isRecording()).toBe(false);
    expect(autograd.isTraining()).toBe(false);
    // The consumed graph was freed whole; a new one runs normally.
    autograd.onGradReady(w3, null);
    forward().backward();
    expect(w1Calls).toBe(1);
    expect(arr(w1.grad)).toEqual([12, 24]);
    all.forEach((a) => a.dispose());
  });

  test('a backward pass inside the hook may not run the graph being differentiated', () => {
    const { w3, forward, all } = chain();
    const y = forward();
    autograd.onGradReady(w3, () => y.backward());
    expect(codeOf(() => y.backward(null, { retainGraph: true }))).toBe('BAD_ARGUMENT');
    autograd.onGradReady(w3, null);
    y.backward();
    expect(arr(w3.grad)).toEqual([6, 12]);
    all.forEach((a) => a.dispose());
  });
});

test.each([
  ['an array that is not a variable', () => nd.array([1]), () => undefined, 'NOT_A_VARIABLE'],
  ['a callback that is not a function', () => nd.array([1]), 42, 'BAD_ARGUMENT'],
])('refuses %s', (_t, make, fn, code) => {
  const a = make();
  if (code === 'BAD_ARGUMENT') a.attachGrad();
  expect(codeOf(() => autograd.onGradReady(a, fn as any))).toBe(code);
  a.dispose();
});

test('hooks hold no native memory beyond their variables', () => {
  const before = liveMemory();
  for (let i = 0; i < 200; ++i) {
    const w = nd.array([1, 2, 3]);
    const hook = countingHook(w);
    nd.tidy(() => autograd.record(() => w.mul(w).sum()).backward());
    expect(hook.calls).toBe(1);
    w.dispose();
  }
  expect(liveMemory()).toEqual(before);
});
