// The Estimator's console output: a progress bar redrawn in place on a terminal (samples/s, loss and
// metrics so far), and one plain line per epoch (all that is written when the output is not a TTY).

/** Where the Estimator writes its progress (process.stdout by default). */
export interface ProgressOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** @internal */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1000 ? v.toFixed(0) : v.toPrecision(4);
}

/** @internal */
export function formatPairs(prefix: string, pairs: [string, number][]): string {
  return pairs.map(([k, v]) => `${prefix}${k} ${formatValue(v)}`).join('  ');
}

// A TTY redraw at most every REDRAW_MS (drawing each batch would cost more than small batches do).
const REDRAW_MS = 100;
const BAR = 24;

/** @internal */
export class Progress {
  /** @internal */ private readonly out: ProgressOutput | null;
  /** @internal */ private readonly tty: boolean;
  /** @internal */ private lastDraw = 0;
  /** @internal */ private drawn = false;

  constructor(out: ProgressOutput | null) {
    this.out = out;
    this.tty = out !== null && out.isTTY === true;
  }

  /** One batch done: redraws the bar (terminal only, throttled). `total` is null when unknown. */
  batch(epochLabel: string, done: number, total: number | null, samplesPerSec: number, pairs: [string, number][]): void {
    if (!this.tty) return;
    const now = performance.now();
    if (now - this.lastDraw < REDRAW_MS && done !== total) return;
    this.lastDraw = now;
    let bar = `${done}`;
    if (total !== null && total > 0) {
      const filled = Math.min(BAR, Math.round((BAR * done) / total));
      bar = `[${'='.repeat(filled)}${' '.repeat(BAR - filled)}] ${done}/${total}`;
    }
    let line = `${epochLabel} ${bar}  ${formatValue(samplesPerSec)} samples/s  ${formatPairs('', pairs)}`;
    const width = this.out!.columns;
    if (typeof width === 'number' && width > 1 && line.length >= width) line = line.slice(0, width - 1);
    this.out!.write(`\r\x1b[K${line}`);
    this.drawn = true;
  }

  /** The epoch's summary line (replacing the bar on a terminal). */
  line(text: string): void {
    if (this.out === null) return;
    this.out.write(`${this.drawn ? '\r\x1b[K' : ''}${text}\n`);
    this.drawn = false;
    this.lastDraw = 0;
  }
}
