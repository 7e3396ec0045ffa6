// Adversarial fuzzing of the error contract: every nd.* function (and nd.random.*), every NDArray
// method and getter, every autograd.* function and the binding's entry points, called many times
// with generated arguments (odd shapes, every dtype, disposed arrays, arrays in graphs, NaN/±Inf/
// huge/negative/non-integer numbers, strings, null, typed arrays, bad options and `out` targets).
// Each call must return sane results or throw NDArrayError with a known code naming the op; a
// failed call leaves every array unchanged; nothing leaks (arrays and bytes, exactly). The driver runs
// in a child process so that a native crash fails this test (with the last call) instead of killing
// jest, and so that no other file's arrays share its counts. Under a sanitizer build (ASan + UBSan,
// detected from the addon this process loaded), no sanitizer may report anything on its stderr.
import { fork } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import '../lib'; // load the addon, so that sanitizers() sees it mapped
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { sanitizers } = require('./fixtures/sanitizers.js') as { sanitizers: () => string[] };

const SANITIZERS = sanitizers();
// ASan aborts with "ERROR: AddressSanitizer"; UBSan keeps running and prints "runtime error:"
// lines; a huge allocation the fuzzer asks for is refused with a warning, not an error.
const SANITIZER_REPORT = /runtime error:|ERROR: \w*Sanitizer|SUMMARY: \w*Sanitizer/;
const MARKER = /^fuzz-driver: sanitizers \[([\w,]*)\]$/;

interface Summary {
  calls: number;
  okCalls: number;
  errCalls: number;
  codeCounts: Record<string, number>;
  functions: number;
  covered: string[];
  targets: string[];
  failures: { key: string; count: number; example: string }[];
  start: { numArrays: number; numBytes: number };
  end: { numArrays: number; numBytes: number };
  sanitizers: string[];
}

interface DriverRun {
  summary?: Summary;
  code: number | null;
  signal: string | null;
  lastCall: string;
  stderr: string;
  /** every stderr line that looks like a sanitizer report (all of stderr is scanned, not a tail) */
  reports: string[];
  /** the driver's marker line, proof that stderr was read */
  marker: string | null;
}

function runDriver(seed: number, rounds: number): Promise<DriverRun> {
  const log = path.join(os.tmpdir(), `ndgrad-fuzz-${process.pid}-${seed}.log`);
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'fixtures', 'fuzz-driver.js'), [String(seed), String(rounds), log], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let summary: Summary | undefined;
    let stderr = '';
    let partial = '';
    const reports: string[] = [];
    let marker: string | null = null;
    const scan = (line: string) => {
      if (marker === null && MARKER.test(line)) marker = line;
      if (SANITIZER_REPORT.test(line)) reports.push(line);
    };
    child.stderr!.on('data', (d) => {
      stderr = (stderr + d).slice(-20000);
      const lines = (partial + d).split('\n');
      partial = lines.pop()!;
      lines.forEach(scan);
    });
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
      scan(partial);
      resolve({ summary, code, signal, lastCall, stderr, reports, marker });
    });
  });
}

// Two seeds, each round calling every target once: ~80k calls.
const RUNS: [number, number][] = [
  [20240601, 150],
  [7, 150],
];

describe.each(RUNS)('fuzz seed %i', (seed, rounds) => {
  let r: DriverRun;
  beforeAll(async () => {
    r = await runDriver(seed, rounds);
  }, 60000);

  test('no crash, only NDArrayErrors naming the op, nothing half-written, nothing leaked (arrays and bytes)', () => {
    if (r.signal || r.code !== 0 || !r.summary)
      throw new Error(`fuzz driver died (exit ${r.code}, signal ${r.signal}); last call:\n  ${r.lastCall}\n${r.stderr}`);
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
    // after disposing everything, the live arrays and bytes are exactly where they started
    expect(s.end).toEqual(s.start);
  });

  // Only a sanitizer build can see memory errors that do not crash: elsewhere this is skipped (and
  // shown as skipped), never passed.
  (SANITIZERS.length ? test : test.skip)(
    `no sanitizer report on the driver's stderr (addon built with ${SANITIZERS.join('+') || 'ASan/UBSan'})`,
    () => {
      // the driver ran under the same sanitizers, and its stderr was read (its marker line arrived)
      expect(r.marker).toBe(`fuzz-driver: sanitizers [${SANITIZERS.join(',')}]`);
      expect(r.summary?.sanitizers).toEqual(SANITIZERS);
      expect(r.reports).toEqual([]);
      expect(r.signal).toBeNull();
      expect(r.code).toBe(0);
    },
  );
});
