// MXNet's printing, which is NumPy's str(array) (array2string with its defaults: precision 8,
// floatmode 'maxprec', linewidth 75, summarised past 1000 elements with 3 edge items).
// A port of numpy/_core/arrayprint.py (FloatingFormat, IntegerFormat, _formatArray), e.g.
// "[2. 4. 6. 8.]", "[0.5 1.  2. ]", "[1.e-05 1.e+00]".

const THRESHOLD = 1000;
const EDGE = 3;
const LINE_WIDTH = 75;
const PRECISION = 8;

type Fmt = (v: number) => string;
/** a double rounded to the array's dtype */
type Rounding = (v: number) => number;

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
/** @internal v rounded to bfloat16 once, ties to even, as the native conversion rounds */
export function bf16Round(v: number): number {
  if (Number.isNaN(v)) return NaN;
  F32[0] = v;
  const u = U32[0];
  const low = u & 0xffff;
  // a float32 that is exactly a bfloat16 tie may come from a double above or below it
  const tie = F32[0] !== v ? Math.abs(v) > Math.abs(F32[0]) : (u & 0x10000) !== 0;
  U32[0] = ((u & 0xffff0000) >>> 0) + (low > 0x8000 || (low === 0x8000 && tie) ? 0x10000 : 0);
  return F32[0];
}
const ROUNDING: Record<string, Rounding> = { float32: Math.fround, float64: (v) => v, bfloat16: bf16Round };

/** Shortest digits (at most PRECISION) that read back as the same value in the array's dtype. */
function shortest(v: number, round: Rounding, render: (v: number, digits: number) => string): string {
  const same = (s: string) => round(parseFloat(s)) === v;
  for (let p = 0; p < PRECISION; p++) {
    const s = render(v, p);
    if (same(s)) return s;
  }
  return render(v, PRECISION);
}

function floatFormatter(values: number[], round: Rounding): Fmt {
  const finite = values.filter((v) => Number.isFinite(v));
  const abs = finite.filter((v) => v !== 0).map(Math.abs);
  let exp = false;
  if (abs.length) {
    let max = abs[0];
    let min = abs[0];
    for (const v of abs) {
      if (v > max) max = v;
      if (v < min) min = v;
    }
    exp = max >= 1e8 || min < 1e-4 || max / min > 1e3;
  }
  let padLeft = 0;
  let padRight = 0;
  let body: Fmt;
  if (finite.length === 0) {
    body = () => '';
  } else if (exp) {
    let precision = 0;
    let expSize = 2;
    for (const v of finite) {
      const [m, e] = shortest(v, round, (x, p) => x.toExponential(p)).split('e');
      precision = Math.max(precision, (m.split('.')[1] || '').length);
      expSize = Math.max(expSize, e.length - 1);
    }
    const render = (v: number): string => {
      const [m, e] = v.toExponential(precision).split('e');
      const mant = m.includes('.') ? m : m + '.';
      return `${mant}e${e[0]}${e.slice(1).padStart(expSize, '0')}`;
    };
    for (const v of finite) padLeft = Math.max(padLeft, render(v).split('.')[0].length);
    padRight = expSize + 2 + precision;
    body = (v) => {
      const s = render(v);
      return s.padStart(padLeft + (s.length - s.indexOf('.')));
    };
  } else {
    const positional = (v: number): string => {
      let s = shortest(v, round, (x, p) => x.toFixed(p));
      if ((Object.is(v, -0) || v < 0) && !s.startsWith('-')) s = '-' + s;
      return s.includes('.') ? s : s + '.';
    };
    for (const s of finite.map(positional)) {
      const [i, f] = s.split('.');
      padLeft = Math.max(padLeft, i.length);
      padRight = Math.max(padRight, f.length);
    }
    body = (v) => {
      const [i, f] = positional(v).split('.');
      return `${i.padStart(padLeft)}.${f.padEnd(padRight)}`;
    };
  }
  if (finite.length !== values.length) {
    const neginf = values.some((v) => v === -Infinity) ? 1 : 0;
    padLeft = Math.max(padLeft, 3 - (padRight + 1), 3 + neginf - (padRight + 1));
  }
  return (v) => {
    if (Number.isFinite(v)) return body(v);
    const s = Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
    return ' '.repeat(Math.max(0, padLeft + padRight + 1 - s.length)) + s;
  };
}

function intFormatter(values: number[]): Fmt {
  let width = 0;
  for (const v of values) width = Math.max(width, String(v).length);
  return (v) => String(v).padStart(width);
}

function extendLine(s: string, line: string, word: string, width: number, prefix: string): [string, string] {
  if (line.length + word.length > width && line.length > prefix.length) {
    s += line.trimEnd() + '\n';
    line = prefix;
  }
  return [s, line + word];
}

/**
 * NumPy's str() of a 0-d array, which is str() of its scalar (`_array_str_implementation`): the
 * shortest round-trip digits, positional for 1e-4 <= |v| < 1e8 (float32) or 1e16 (float64) or v == 0,
 * keeping one zero after the point ("6.0"), else scientific with trailing zeros trimmed ("1e-05").
 */
function scalarStr(v: number, dtype: string): string {
  const round = ROUNDING[dtype];
  if (!round) return String(v);
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  const f32 = dtype !== 'float64';
  const a = Math.abs(v);
  if (a === 0 || (a >= 1e-4 && a < (f32 ? 1e8 : 1e16))) {
    // String(x) of the shortest decimal is positional in this range (JS switches at 1e-7 and 1e21)
    let digits = String(v);
    if (f32) {
      for (let p = 1; p <= 9; p++) {
        const s = v.toPrecision(p);
        if (round(parseFloat(s)) === v) {
          digits = String(parseFloat(s));
          break;
        }
      }
    }
    if (Object.is(v, -0)) digits = '-0';
    return digits.includes('.') ? digits : digits + '.0';
  }
  let mant = '';
  let exp = '';
  for (let p = 0; p <= 16; p++) {
    const s = v.toExponential(p);
    if (round(parseFloat(s)) === v) {
      [mant, exp] = s.split('e');
      break;
    }
  }
  if (mant.includes('.')) mant = mant.replace(/0+$/, '').replace(/\.$/, '');
  return `${mant}e${exp[0]}${exp.slice(1).padStart(2, '0')}`;
}

export function formatArray(data: ArrayLike<number>, shape: number[], dtype: string): string {
  if (shape.length === 0) return scalarStr(data[0], dtype);
  const size = data.length;
  const summarise = size > THRESHOLD;
  const strides: number[] = new Array(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = acc;
    acc *= shape[i];
  }
  const shown = (n: number): number[] => {
    if (summarise && n > 2 * EDGE) return [0, 1, 2, n - 3, n - 2, n - 1];
    return Array.from({ length: n }, (_, i) => i);
  };
  // The formatter sees only the elements that are shown (NumPy's _leading_trailing).
  const values: number[] = [];
  const gather = (axis: number, offset: number): void => {
    if (axis === shape.length) values.push(data[offset]);
    else for (const i of shown(shape[axis])) gather(axis + 1, offset + i * strides[axis]);
  };
  if (size > 0) gather(0, 0);
  const round = ROUNDING[dtype];
  const fmt = round ? floatFormatter(values, round) : intFormatter(values);
  if (size === 0) return '[]';

  const rec = (axis: number, offset: number, hanging: string, width: number): string => {
    if (axis === shape.length) return fmt(data[offset]);
    const n = shape[axis];
    const nextHanging = hanging + ' ';
    const nextWidth = width - 1;
    const idx = shown(n);
    const summary = idx.length < n;
    let s = '';
    if (axis === shape.length - 1) {
      const elemWidth = width - 1;
      let line = hanging;
      idx.forEach((i, k) => {
        if (summary && k === EDGE) {
          [s, line] = extendLine(s, line, '...', elemWidth, hanging);
          line += ' ';
        }
        [s, line] = extendLine(s, line, fmt(data[offset + i]), elemWidth, hanging);
        if (k < idx.length - 1) line += ' ';
      });
      s += line;
    } else {
      const sep = '\n'.repeat(shape.length - axis - 1);
      idx.forEach((i, k) => {
        if (summary && k === EDGE) s += hanging + '...' + sep;
        s += hanging + rec(axis + 1, offset + i * strides[axis], nextHanging, nextWidth);
        if (k < idx.length - 1) s += sep;
      });
    }
    return '[' + s.slice(hanging.length) + ']';
  };
  return rec(0, 0, ' ', LINE_WIDTH);
}
