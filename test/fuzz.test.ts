// Adversarial fuzzing of the error contract: every nd.* function (and nd.random.*), every NDArray
// method and getter, every autograd.* function and the binding's entry points, called many times
// with generated arguments (odd shapes, every dtype, disposed arrays, arrays in graphs, NaN/±Inf/
// huge/negative/non-integer numbers, strings, null, typed arrays, bad options and `out` targets).
// Each call must return sane results or throw NDArrayError with a known code naming the op; a
// failed call leaves every array unchanged; nothing leaks. The driver runs in a child process so
// that a native crash fails this test (with the last call) instead of killing jest.
import { fork } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

interface Summary {
  calls: number;
  okCalls: number;
  errCalls: number;
  codeCounts: Record<string, number>;
  functions: number;
  covered: string[];
  targets: string[];
  failures: { key: string; count: number; example: string }[];
  start: number;
  end: number;
}

function runDriver(seed: number, rounds: number): Promise<{ summary?: Summary; code: number | null; signal: string | null; lastCall: string; stderr: string }> {
  const log = path.join(os.tmpdir(), `ndgrad-fuzz-${process.pid}-${seed}.log`);
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'fixtures', 'fuzz-driver.js'), [String(seed), String(rounds), log], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let summary: Summary | undefined;
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    child.stdout!.on('data', () => {});
    child.on('message', (m: any) => (summary = m.summary));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      let lastCall = '';
      try {
        lastCall = fs.readFileSync(log, 'utf8').trimEnd().split('\n').pop() ?? '';
        fs.unlinkSync(log);
      } catch {
        /* no log */
      }
      resolve({ summary, code, signal, lastCall, stderr: stderr.slice(-20000) });
    });
  });
}

// Two seeds, each round calling every target once: ~80k calls.
const RUNS: [number, number][] = [
  [20240601, 150],
  [7, 150],
];

describe.each(RUNS)('fuzz seed %i', (seed, rounds) => {
  test('no crash, only NDArrayErrors naming the op, nothing half-written, nothing leaked', async () => {
    const r = await runDriver(seed, rounds);
    if (r.signal || r.code !== 0 || !r.summary)
      throw new Error(`fuzz driver died (exit ${r.code}, signal ${r.signal}); last call:\n  ${r.lastCall}\n${r.stderr}`);
    // sanitizer builds (ASan/UBSan) report to stderr; UBSan keeps running, so look for its reports
    const sanitizer = r.stderr.split('\n').filter((l) => /runtime error:|Sanitizer/.test(l) && !/AddressSanitizer failed to allocate/.test(l));
    expect(sanitizer).toEqual([]);
    const s = r.summary;
    const report = s.failures.map((f) => `${f.count}x ${f.key}\n    e.g. ${f.example.slice(0, 400)}`).join('\n');
    expect(report).toBe('');
    // coverage: every enumerated function was called, and both outcomes happened often
    expect(s.covered.length).toBe(new Set(s.targets.map((t) => t.replace(/^[a-z]+:/, ''))).size);
    expect(s.functions).toBeGreaterThan(200);
    expect(s.calls).toBe(s.functions * rounds);
    expect(s.okCalls).toBeGreaterThan(s.calls / 5);
    expect(s.errCalls).toBeGreaterThan(s.calls / 5);
    for (const c of ['SHAPE_MISMATCH', 'DTYPE_MISMATCH', 'BAD_AXIS', 'OUT_OF_RANGE', 'BAD_ARGUMENT', 'DISPOSED', 'INPLACE_IN_GRAPH'])
      expect(s.codeCounts[c] ?? 0).toBeGreaterThan(0);
    // after disposing everything, the live array count is back where it started
    expect(s.end).toBe(s.start);
  }, 60000);
});
