// Graph memory freed by backward, the caching allocator, and the GC backstop for forgotten arrays.
import { execFileSync } from 'child_process';
import * as path from 'path';
import { autograd, nd } from '../lib';
import { liveArrays, liveBytes } from './helpers';

// A variable of 64 KiB and a recorded head whose graph holds more; b0: the bytes before.
function recordedHead() {
  const b0 = liveBytes();
  const x = nd.random.normal(0, 1, [128, 128]);
  x.attachGrad();
  const y = nd.tidy(() => autograd.record(() => x.exp().mul(x).sum()));
  return { b0, x, y };
}

describe('graph memory and the allocator', () => {
  test('backward frees the graph: bytes return to their start', () => {
    const b0 = liveBytes();
    const n0 = liveArrays();
    const x = nd.random.normal(0, 1, [256, 256]);
    x.attachGrad();
    const afterX = liveBytes();
    const y = nd.tidy(() => autograd.record(() => x.mul(x).exp().tanh().mul(3).sum()));
    // handles of the intermediates are gone, but the graph keeps what backward needs
    expect(liveArrays()).toBe(n0 + 3); // x, x.grad, y
    const recorded = liveBytes();
    expect(recorded).toBeGreaterThan(afterX + 256 * 256 * 4);
    y.backward();
    expect(liveBytes()).toBeLessThan(recorded);
    expect(liveBytes()).toBeLessThanOrEqual(afterX + 64); // x, x.grad and the 0-d y
    y.dispose();
    x.grad!.dispose();
    x.dispose();
    expect(liveBytes()).toBe(b0);
    expect(liveArrays()).toBe(n0);
  });

  test('retainGraph keeps the graph until the last backward', () => {
    const { b0, x, y } = recordedHead();
    y.backward(null, { retainGraph: true });
    const retained = liveBytes();
    y.backward();
    expect(liveBytes()).toBeLessThan(retained);
    nd.dispose([y, x.grad, x]);
    expect(liveBytes()).toBe(b0);
  });

  test('disposing a recorded head without backward frees its graph too', () => {
    const { b0, x, y } = recordedHead();
    y.dispose();
    nd.dispose([x.grad, x]);
    expect(liveBytes()).toBe(b0);
  });

  test('a steady loop stops calling the system allocator', () => {
    const a = nd.random.uniform(0, 1, [1000]);
    const b = nd.random.uniform(0, 1, [1000]);
    const step = () => nd.tidy(() => a.mul(b).add(1).sqrt().sum().item());
    for (let i = 0; i < 3; i++) step(); // warm the cache
    const s0 = nd.memory();
    for (let i = 0; i < 500; i++) step();
    const s1 = nd.memory();
    expect(s1.systemAllocs).toBe(s0.systemAllocs);
    expect(s1.cacheHits - s0.cacheHits).toBeGreaterThanOrEqual(500 * 4);
    expect(s1.numBytes).toBe(s0.numBytes);
    nd.dispose([a, b]);
  });

  test('the allocator hands out 64-byte aligned blocks in size classes', () => {
    const b0 = liveBytes();
    const x = nd.zeros([1]); // 4 bytes, rounded up to a 64-byte class
    expect(liveBytes() - b0).toBeGreaterThanOrEqual(64);
    expect((liveBytes() - b0) % 64).toBe(0);
    x.dispose();
  });
});

describe('GC backstop', () => {
  // Runs `setup`, then `makeGarbage` in a function scope (its arrays unreachable afterwards), then
  // GCs until the count is back (or 50 tries) in a child with --expose-gc: how many arrays were made
  // and how many are left.
  function gcChild(setup: string, makeGarbage: string): { made: number; left: number } {
    const script = `
      const { nd, autograd } = require(${JSON.stringify(path.join(__dirname, 'fixtures', 'load-lib.js'))});
      ${setup}
      const n0 = nd.memory().numArrays;
      (function () { ${makeGarbage} })();
      const made = nd.memory().numArrays - n0;
      (async () => {
        for (let i = 0; i < 50 && nd.memory().numArrays > n0; i++) {
          global.gc();
          await new Promise((r) => setTimeout(r, 5));
        }
        console.log(JSON.stringify({ made, left: nd.memory().numArrays - n0 }));
      })();
    `;
    const out = execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' });
    return JSON.parse(out.trim().split('\n').pop()!);
  }

  test('forgotten arrays are released after a GC (child process with --expose-gc)', () => {
    const { made, left } = gcChild('', 'for (let i = 0; i < 2000; i++) nd.ones([64]).add(1);');
    expect(made).toBe(4000);
    expect(left).toBe(0);
  });

  // The graph holds the backward callback through a strong native reference, so a callback that
  // could reach the output's JS object (through apply's closure) kept both alive for good.
  test('forgotten outputs of a custom Function are released after a GC, with their graphs (child process with --expose-gc)', () => {
    const setup = `
      class Double extends autograd.Function {
        forward(a) { return a.mul(2); }
        backward(dy) { return dy.mul(2); }
      }
      const x = nd.ones([64]);
      x.attachGrad();`;
    const { made, left } = gcChild(setup, 'for (let i = 0; i < 500; i++) autograd.record(() => new Double().apply(x));');
    expect(made).toBe(500);
    expect(left).toBe(0);
  });
});
