// When native memory is freed: dispose / Symbol.dispose / using, nd.tidy and nd.keep (which walk any
// value: cycles, Maps, class instances, deep nesting, no getter called), and nd.memory()'s counts.
import { autograd, nd, NDArray, NDArrayError } from '../lib';
import { codeOf, errorOf, liveArrays, liveBytes } from './helpers';

describe('dispose', () => {
  test('dispose frees now; later use is DISPOSED; twice is harmless', () => {
    const n0 = liveArrays();
    const b0 = liveBytes();
    const x = nd.zeros([1000]);
    expect(liveArrays()).toBe(n0 + 1);
    expect(liveBytes()).toBeGreaterThanOrEqual(b0 + 4000);
    x.dispose();
    expect(liveArrays()).toBe(n0);
    expect(liveBytes()).toBe(b0);
    expect(x.isDisposed).toBe(true);
    expect(() => x.dispose()).not.toThrow();
    expect(liveArrays()).toBe(n0);
    expect(codeOf(() => x.add(1))).toBe('DISPOSED');
    expect(codeOf(() => nd.exp(x))).toBe('DISPOSED');
  });

  test('Symbol.dispose is dispose', () => {
    const n0 = liveArrays();
    const x = nd.ones([3]);
    x[Symbol.dispose]();
    expect(liveArrays()).toBe(n0);
    expect(codeOf(() => x.toArray())).toBe('DISPOSED');
    x[Symbol.dispose]();
  });

  test('using frees at the end of the block, also on throw', () => {
    const n0 = liveArrays();
    let escaped!: NDArray;
    {
      using a = nd.ones([4]);
      using b = a.mul(2);
      escaped = b;
      expect(b.toArray()).toEqual([2, 2, 2, 2]);
      expect(liveArrays()).toBe(n0 + 2);
    }
    expect(liveArrays()).toBe(n0);
    expect(escaped.isDisposed).toBe(true);
    expect(() => {
      using c = nd.ones([4]);
      c.add(1).dispose();
      throw new Error('boom');
    }).toThrow('boom');
    expect(liveArrays()).toBe(n0);
  });

  test('nd.dispose takes arrays, lists and objects', () => {
    const n0 = liveArrays();
    const a = nd.ones([1]);
    const b = nd.ones([1]);
    const c = nd.ones([1]);
    nd.dispose({ a, list: [b, [c]] });
    expect([a.isDisposed, b.isDisposed, c.isDisposed]).toEqual([true, true, true]);
    expect(liveArrays()).toBe(n0);
  });

  test('a view keeps its storage alive after the base is disposed', () => {
    const base = nd.arange(6).reshape(2, 3);
    const row = base.at(1);
    base.dispose();
    expect(row.toArray()).toEqual([3, 4, 5]);
    row.dispose();
  });
});

describe('nd.tidy', () => {
  test('disposes everything created inside except what is returned', () => {
    const n0 = liveArrays();
    const outside = nd.ones([2]);
    let inner!: NDArray;
    const r = nd.tidy(() => {
      inner = outside.add(1);
      const t = inner.mul(3);
      return t.sub(1);
    });
    expect(inner.isDisposed).toBe(true);
    expect(outside.isDisposed).toBe(false);
    expect(r.toArray()).toEqual([5, 5]);
    expect(liveArrays()).toBe(n0 + 2);
    r.dispose();
    outside.dispose();
    expect(liveArrays()).toBe(n0);
  });

  test('returned lists and objects are kept, recursively', () => {
    const n0 = liveArrays();
    const res = nd.tidy(() => {
      const a = nd.ones([1]);
      const b = a.add(1);
      const c = b.add(1);
      a.add(100); // dropped
      return { a, more: [b, { c }], n: 3, s: 'x' };
    });
    expect(res.a.toArray()).toEqual([1]);
    expect((res.more[0] as NDArray).toArray()).toEqual([2]);
    expect((res.more[1] as any).c.toArray()).toEqual([3]);
    expect(res.n).toBe(3);
    expect(liveArrays()).toBe(n0 + 3);
    nd.dispose(res);
    expect(liveArrays()).toBe(n0);
    const list = nd.tidy(() => [nd.ones([1]), nd.zeros([1])]);
    expect(list.map((x) => x.item())).toEqual([1, 0]);
    nd.dispose(list);
    expect(nd.tidy(() => 42)).toBe(42);
    expect(nd.tidy(() => undefined)).toBeUndefined();
    expect(liveArrays()).toBe(n0);
  });

  test('nests: a value returned by an inner tidy belongs to the outer one', () => {
    const n0 = liveArrays();
    let fromInner!: NDArray;
    let droppedInner!: NDArray;
    const r = nd.tidy(() => {
      fromInner = nd.tidy(() => {
        droppedInner = nd.ones([2]);
        return droppedInner.add(1);
      });
      expect(droppedInner.isDisposed).toBe(true);
      expect(fromInner.isDisposed).toBe(false);
      return fromInner.mul(2);
    });
    expect(fromInner.isDisposed).toBe(true);
    expect(r.toArray()).toEqual([4, 4]);
    r.dispose();
    expect(liveArrays()).toBe(n0);
  });

  test('keep exempts an array from every enclosing tidy', () => {
    const n0 = liveArrays();
    let kept!: NDArray;
    nd.tidy(() => {
      nd.tidy(() => {
        kept = nd.keep(nd.full([2], 7));
        nd.ones([2]);
      });
      expect(kept.isDisposed).toBe(false);
    });
    expect(kept.toArray()).toEqual([7, 7]);
    expect(liveArrays()).toBe(n0 + 1);
    kept.dispose();
    expect(liveArrays()).toBe(n0);
  });

  test('a variable\'s .grad survives tidy, and so does a variable kept by the caller', () => {
    const n0 = liveArrays();
    const x = nd.array([1, 2, 3]);
    nd.tidy(() => {
      x.attachGrad();
      const y = autograd.record(() => x.mul(x).sum());
      y.backward();
    });
    expect(x.grad!.toArray()).toEqual([2, 4, 6]);
    x.grad!.dispose();
    x.dispose();
    expect(liveArrays()).toBe(n0);
  });

  test('an error thrown inside disposes what was created and propagates', () => {
    const n0 = liveArrays();
    const outside = nd.ones([2]);
    let inside!: NDArray;
    expect(() =>
      nd.tidy(() => {
        inside = nd.ones([2]);
        nd.add(inside, nd.ones([3])); // SHAPE_MISMATCH
      }),
    ).toThrow(NDArrayError);
    expect(inside.isDisposed).toBe(true);
    expect(outside.isDisposed).toBe(false);
    expect(() =>
      nd.tidy(() => {
        nd.ones([2]);
        throw new Error('plain');
      }),
    ).toThrow('plain');
    outside.dispose();
    expect(liveArrays()).toBe(n0);
    // the scope stack is intact afterwards: arrays made now are not tracked by a dead scope
    const r = nd.tidy(() => nd.ones([1]));
    expect(r.isDisposed).toBe(false);
    r.dispose();
  });

  test('an async function is ASYNC_SCOPE and leaves nothing behind', () => {
    const n0 = liveArrays();
    expect(codeOf(() => nd.tidy((async () => nd.ones([2])) as any))).toBe('ASYNC_SCOPE');
    expect(liveArrays()).toBe(n0);
  });

  test('nd.memory() is back at its start after 10,000 ops under tidy', () => {
    const a = nd.random.uniform(-1, 1, [16, 16]);
    const b = nd.random.uniform(-1, 1, [16]);
    const m0 = nd.memory();
    let acc = 0;
    for (let i = 0; i < 2500; i++) {
      acc += nd.tidy(() => a.add(b).mul(2).relu().sum().item()); // 4 ops per step
    }
    const m1 = nd.memory();
    expect(Number.isFinite(acc)).toBe(true);
    expect(m1.numArrays).toBe(m0.numArrays);
    expect(m1.numBytes).toBe(m0.numBytes);
    a.dispose();
    b.dispose();
  });
});

// The value tidy returns (and what dispose/keep take) is walked with a visited set and an explicit
// stack, reading only data: cycles, Maps, Sets, class instances and deep nesting are all fine, no
// getter is called, and nothing can throw after the scope is popped.
describe('tidy, keep and dispose walk any value', () => {
  const mem = () => [nd.memory().numArrays, nd.memory().numBytes];

  test('tidy returning a cyclic object keeps its arrays and frees the rest', () => {
    const m0 = mem();
    const r = nd.tidy(() => {
      const o: any = { a: nd.ones([2]), list: [] as any[] };
      nd.zeros([100]); // dropped
      o.self = o;
      o.list.push(o.list, o, nd.full([3], 2));
      return o;
    });
    expect(r.self).toBe(r);
    expect(r.a.toArray()).toEqual([1, 1]);
    expect(r.list[2].toArray()).toEqual([2, 2, 2]);
    nd.dispose(r);
    expect(mem()).toEqual(m0);
  });

  test('nd.dispose on a cyclic object disposes every array in it', () => {
    const m0 = mem();
    const a = nd.ones([4]);
    const b = nd.ones([5]);
    const o: any = { a, inner: { b } };
    o.inner.back = o;
    const list: any[] = [o];
    list.push(list);
    nd.dispose(list);
    expect([a.isDisposed, b.isDisposed]).toEqual([true, true]);
    for (const nothing of [undefined, null, 3, 'x']) nd.dispose(nothing); // no arrays: nothing to do
    expect(mem()).toEqual(m0);
  });

  test('tidy keeps arrays inside returned Maps, Sets, class instances and null-prototype objects', () => {
    const m0 = mem();
    class Params {
      w = nd.ones([2]);
      extra = new Map<string, NDArray>();
    }
    const r = nd.tidy(() => {
      const p = new Params();
      p.extra.set('b', nd.zeros([3]));
      const bare = Object.create(null);
      bare.v = nd.full([1], 5);
      const keyed = new Map<NDArray, number>([[nd.full([1], 6), 1]]);
      return { p, set: new Set([nd.full([1], 4)]), bare, keyed, data: new Float32Array([1, 2]) };
    });
    expect(r.p.w.toArray()).toEqual([1, 1]);
    expect(r.p.extra.get('b')!.toArray()).toEqual([0, 0, 0]);
    expect([...r.set][0].toArray()).toEqual([4]);
    expect(r.bare.v.toArray()).toEqual([5]);
    expect([...r.keyed.keys()][0].toArray()).toEqual([6]);
    expect(Array.from(r.data)).toEqual([1, 2]);
    nd.dispose(r);
    expect(mem()).toEqual(m0);
  });

  test('the walk calls no getter: a throwing getter neither throws nor leaks', () => {
    const m0 = mem();
    let calls = 0;
    const r = nd.tidy(() => {
      const o = { a: nd.ones([2]) };
      nd.ones([7]); // dropped
      Object.defineProperty(o, 'boom', {
        enumerable: true,
        get() {
          calls++;
          throw new Error('getter');
        },
      });
      return o;
    });
    expect(calls).toBe(0);
    expect(r.a.toArray()).toEqual([1, 1]);
    nd.dispose(r);
    expect(calls).toBe(0);
    expect(mem()).toEqual(m0);
  });

  test('an error while looking at the result still disposes every array made inside', () => {
    const m0 = mem();
    const thenThrows = () =>
      nd.tidy(() => {
        const o = { a: nd.ones([2]) };
        Object.defineProperty(o, 'then', {
          get() {
            throw new Error('then getter');
          },
        });
        return o;
      });
    expect(thenThrows).toThrow('then getter');
    const trap = () =>
      nd.tidy(() => {
        const a = nd.ones([3]);
        return new Proxy({ a }, {
          ownKeys() {
            throw new Error('trap');
          },
          getOwnPropertyDescriptor() {
            throw new Error('trap');
          },
        });
      });
    expect(trap).toThrow('trap');
    expect(mem()).toEqual(m0);
    // a proxy that answers is walked like the object it stands for
    const viaProxy = nd.tidy(() => new Proxy({ a: nd.ones([3]) }, {}));
    expect(viaProxy.a.toArray()).toEqual([1, 1, 1]);
    viaProxy.a.dispose();
    expect(mem()).toEqual(m0);
    // the scope stack is intact: a later tidy still works and frees what it made
    const kept = nd.tidy(() => {
      nd.ones([2]);
      return nd.zeros([2]);
    });
    kept.dispose();
    expect(mem()).toEqual(m0);
  });

  test('a result nested 1e5 deep is walked without a RangeError', () => {
    const m0 = mem();
    const r = nd.tidy(() => {
      let o: any = { leaf: nd.ones([1]) };
      for (let i = 0; i < 1e5; i++) o = i % 2 ? { next: o } : [o];
      nd.ones([9]); // dropped
      return o;
    });
    let leaf: any = r;
    while (!(leaf instanceof NDArray)) leaf = Array.isArray(leaf) ? leaf[0] : leaf.next ?? leaf.leaf;
    expect(leaf.toArray()).toEqual([1]);
    nd.dispose(r);
    expect(mem()).toEqual(m0);
  });

  test('nd.keep takes lists, objects, Maps and cycles like nd.dispose', () => {
    const m0 = mem();
    let kept: any;
    nd.tidy(() => {
      const o: any = { a: nd.ones([2]), m: new Map([['b', nd.zeros([2])]]) };
      o.self = o;
      kept = nd.keep(o);
      nd.ones([3]); // dropped
    });
    expect(kept.a.toArray()).toEqual([1, 1]);
    expect(kept.m.get('b').toArray()).toEqual([0, 0]);
    expect(codeOf(() => nd.keep(3 as any))).toBe('BAD_ARGUMENT');
    nd.dispose(kept);
    expect(mem()).toEqual(m0);
  });
});
