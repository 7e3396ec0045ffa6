// Recording and training flags and their scopes (API.md's table): callback and `using` forms,
// nesting, restoring on return and throw, and async callbacks refused.
import { autograd, nd, NDArray, NDArrayError } from '../lib';
import { arr, freshAutogradState } from './helpers';

freshAutogradState();

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

  test('callback scopes set the table of API.md and return fn value', () => {
    const seen: [boolean, boolean][] = [];
    const probe = () => seen.push([autograd.isRecording(), autograd.isTraining()]);
    expect(autograd.record(() => (probe(), 42))).toBe(42);
    autograd.record(probe, { trainMode: false });
    autograd.pause(probe);
    autograd.pause(probe, { trainMode: true });
    autograd.trainMode(probe);
    autograd.predictMode(probe);
    expect(seen).toEqual([
      [true, true],
      [true, false],
      [false, false],
      [false, true],
      [false, true],
      [false, false],
    ]);
    expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, false]);
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

  test('thrown-through scopes restore both flags and rethrow', () => {
    const boom = new Error('boom');
    for (const scope of [
      (f: () => void) => autograd.record(f),
      (f: () => void) => autograd.pause(f, { trainMode: true }),
      (f: () => void) => autograd.trainMode(f),
      (f: () => void) => autograd.predictMode(f),
    ]) {
      autograd.setRecording(true);
      autograd.setTraining(false);
      expect(() =>
        scope(() => {
          autograd.record(() => {
            throw boom;
          });
        }),
      ).toThrow(boom);
      expect(autograd.isRecording()).toBe(true);
      expect(autograd.isTraining()).toBe(false);
    }
  });

  test('using forms behave like the callback forms, also on throw', () => {
    {
      using _r = autograd.record();
      expect([autograd.isRecording(), autograd.isTraining()]).toEqual([true, true]);
      {
        using _p = autograd.pause();
        expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, false]);
        {
          using _t = autograd.trainMode();
          expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, true]);
        }
        expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, false]);
      }
      {
        using _pm = autograd.predictMode();
        expect([autograd.isRecording(), autograd.isTraining()]).toEqual([true, false]);
      }
      {
        using _rf = autograd.record({ trainMode: false });
        expect([autograd.isRecording(), autograd.isTraining()]).toEqual([true, false]);
      }
      {
        using _pt = autograd.pause({ trainMode: true });
        expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, true]);
      }
      expect([autograd.isRecording(), autograd.isTraining()]).toEqual([true, true]);
    }
    expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, false]);
    expect(() => {
      using _r = autograd.record();
      throw new Error('inside using');
    }).toThrow('inside using');
    expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, false]);
    // the using form records like the callback form
    const x = nd.array([1, 2, 3]);
    x.attachGrad();
    let y: NDArray;
    {
      using _r = autograd.record();
      y = x.mul(x);
    }
    y.backward();
    expect(arr(x.grad!)).toEqual([2, 4, 6]);
    // disposing twice is harmless
    const s = autograd.record();
    s[Symbol.dispose]();
    s[Symbol.dispose]();
    expect(autograd.isRecording()).toBe(false);
  });

  test('ASYNC_SCOPE: async callbacks are refused and the state is restored', async () => {
    for (const scope of [autograd.record, autograd.pause, autograd.trainMode, autograd.predictMode] as any[]) {
      let err: unknown;
      try {
        scope(async () => 1);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NDArrayError);
      expect((err as NDArrayError).code).toBe('ASYNC_SCOPE');
      expect([autograd.isRecording(), autograd.isTraining()]).toEqual([false, false]);
    }
  });
});
