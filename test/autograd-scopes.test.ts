// Recording and training flags and their scopes (API.md's table): callback and `using` forms,
// nesting, restoring on return and throw, and async callbacks refused.
import { autograd, nd, NDArray, NDArrayError } from '../lib';
import { arr, freshAutogradState } from './helpers';

freshAutogradState();

const flags = () => [autograd.isRecording(), autograd.isTraining()];

// API.md's table: each scope in its callback form and its `using` form, and the flags inside when
// entered with both off (trainMode and predictMode keep the recording flag).
const SCOPES: [string, (f: () => unknown) => unknown, () => Disposable, boolean[]][] = [
  ['record()', (f) => autograd.record(f), () => autograd.record(), [true, true]],
  ['record({ trainMode: false })', (f) => autograd.record(f, { trainMode: false }), () => autograd.record({ trainMode: false }), [true, false]],
  ['pause()', (f) => autograd.pause(f), () => autograd.pause(), [false, false]],
  ['pause({ trainMode: true })', (f) => autograd.pause(f, { trainMode: true }), () => autograd.pause({ trainMode: true }), [false, true]],
  ['trainMode()', (f) => autograd.trainMode(f), () => autograd.trainMode(), [false, true]],
  ['predictMode()', (f) => autograd.predictMode(f), () => autograd.predictMode(), [false, false]],
];

describe('state flags and scopes', () => {
  test('defaults, setRecording/setTraining return the previous value', () => {
    expect(autograd.isRecording()).toBe(false);
    expect(autograd.isTraining()).toBe(false);
    expect(autograd.setRecording(true)).toBe(false);
    expect(autograd.setRecording(true)).toBe(true);
    expect(autograd.isRecording()).toBe(true);
    expect(autograd.setRecording(false)).toBe(true);
    expect(autograd.setTraining(true)).toBe(false);
    expect(autograd.setTraining(false)).toBe(true);
    expect(autograd.isTraining()).toBe(false);
  });

  test.each(SCOPES)('%s (callback form) sets the flags of API.md, returns the value of fn and restores both', (_t, scope, _u, inside) => {
    let seen: boolean[] = [];
    expect(scope(() => ((seen = flags()), 42))).toBe(42);
    expect(seen).toEqual(inside);
    expect(flags()).toEqual([false, false]);
  });

  test.each(SCOPES)('%s (using form) sets the same flags until the end of the block', (_t, _s, open, inside) => {
    {
      using _scope = open();
      expect(flags()).toEqual(inside);
    }
    expect(flags()).toEqual([false, false]);
  });

  test('nested scopes restore both flags at each level', () => {
    autograd.record(() => {
      autograd.pause(() => {
        expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, false]);
        autograd.trainMode(() => {
          expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, true]);
          autograd.record(() => {
            expect([autograd.isRecording(), autograd.isTraining()]).toEqual([true, false]);
          }, { trainMode: false });
          expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, true]);
        });
        expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, false]);
      });
      expect([autograd.isRecording(), autograd.isTraining()]).toEqual([true, true]);
    });
    expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, false]);
  });

  test('a flag flipped by hand inside a scope is restored on exit (unlike MXNet)', () => {
    autograd.setRecording(true);
    autograd.record(() => {
      autograd.setRecording(false);
      autograd.setTraining(false);
    });
    // MXNet would leave recording off here (its entry did not change it); we restore both
    expect(autograd.isRecording()).toBe(true);
    expect(autograd.isTraining()).toBe(false);
  });

  test.each(SCOPES)('%s restores both flags when the callback throws, and rethrows', (_t, scope) => {
    const boom = new Error('boom');
    autograd.setRecording(true);
    autograd.setTraining(false);
    expect(() =>
      scope(() => {
        autograd.record(() => {
          throw boom;
        });
      }),
    ).toThrow(boom);
    expect(flags()).toEqual([true, false]);
  });

  test('nested using blocks restore both flags at each level', () => {
    {
      using _r = autograd.record();
      expect(flags()).toEqual([true, true]);
      {
        using _p = autograd.pause();
        expect(flags()).toEqual([false, false]);
        {
          using _t = autograd.trainMode();
          expect(flags()).toEqual([false, true]);
        }
        expect(flags()).toEqual([false, false]);
      }
      {
        using _pm = autograd.predictMode();
        expect(flags()).toEqual([true, false]); // predictMode keeps the recording flag
      }
      expect(flags()).toEqual([true, true]);
    }
    expect(flags()).toEqual([false, false]);
  });

  test('a using block left by a throw restores both flags', () => {
    expect(() => {
      using _r = autograd.record();
      throw new Error('inside using');
    }).toThrow('inside using');
    expect(flags()).toEqual([false, false]);
  });

  test('the using form records like the callback form', () => {
    const x = nd.array([1, 2, 3]);
    x.attachGrad();
    let y: NDArray;
    {
      using _r = autograd.record();
      y = x.mul(x);
    }
    y.backward();
    expect(arr(x.grad!)).toEqual([2, 4, 6]);
    nd.dispose([x, y]);
  });

  test('disposing a scope twice is harmless', () => {
    const s = autograd.record();
    s[Symbol.dispose]();
    s[Symbol.dispose]();
    expect(autograd.isRecording()).toBe(false);
  });

  test.each(SCOPES)('%s refuses an async callback (ASYNC_SCOPE) and restores the state', (_t, scope) => {
    let err: unknown;
    try {
      scope(async () => 1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NDArrayError);
    expect((err as NDArrayError).code).toBe('ASYNC_SCOPE');
    expect(flags()).toEqual([false, false]);
  });
});
