// MXNet's printing (NumPy's array2string): "[2. 4. 6. 8.]", summarised past 1000 elements.

const THRESHOLD = 1000;
const EDGE = 3;

function floatFormatter(values: number[]): (v: number) => string {
  const finite = values.filter((v) => Number.isFinite(v));
  const abs = finite.map(Math.abs).filter((v) => v > 0);
  const max = abs.length ? Math.max(...abs) : 0;
  const min = abs.length ? Math.min(...abs) : 0;
  const sci = max >= 1e8 || (min > 0 && min < 1e-4) || (min > 0 && max / min > 1e3 && max >= 1e3);
  const special = (v: number): string | null => (Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : null);
  if (sci) {
    let digits = 0;
    for (const v of finite) {
      const m = v.toExponential(8).split('e')[0].replace(/0+$/, '').split('.')[1] || '';
      digits = Math.max(digits, m.length);
    }
    return (v) => {
      const s = special(v);
      if (s) return s;
      const [m, e] = v.toExponential(digits).split('e');
      const exp = Number(e);
      return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
    };
  }
  let frac = 0;
  for (const v of finite) {
    const f = v.toFixed(8).replace(/0+$/, '').split('.')[1] || '';
    frac = Math.max(frac, f.length);
  }
  return (v) => {
    const s = special(v);
    if (s) return s;
    let t = v.toFixed(frac);
    if (frac === 0) return (Object.is(v, -0) ? '-' : '') + t + '.';
    // NumPy pads the fraction with spaces instead of trailing zeros: "1.  " next to "0.25".
    const [ip, fp] = t.split('.');
    const trimmed = fp.replace(/0+$/, '');
    t = `${ip}.${trimmed}${' '.repeat(frac - trimmed.length)}`;
    return t;
  };
}

export function formatArray(data: ArrayLike<number>, shape: number[], dtype: string): string {
  const values = Array.from(data);
  const size = values.length;
  const summarise = size > THRESHOLD;
  const isFloat = dtype === 'float32' || dtype === 'float64';
  const fmt = isFloat ? floatFormatter(values) : (v: number) => String(v);
  if (shape.length === 0) return fmt(values[0]);
  const strides: number[] = new Array(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = acc;
    acc *= shape[i];
  }
  // Width of the widest shown element, so columns line up.
  let width = 0;
  for (const v of values) width = Math.max(width, fmt(v).length);
  const pad = (s: string) => s.padStart(width);
  const rec = (axis: number, offset: number, indent: string): string => {
    const n = shape[axis];
    const idx: (number | null)[] = [];
    if (summarise && n > 2 * EDGE) {
      for (let i = 0; i < EDGE; i++) idx.push(i);
      idx.push(null);
      for (let i = n - EDGE; i < n; i++) idx.push(i);
    } else for (let i = 0; i < n; i++) idx.push(i);
    if (axis === shape.length - 1) {
      return '[' + idx.map((i) => (i === null ? '...' : pad(fmt(values[offset + i])))).join(' ') + ']';
    }
    const sep = '\n'.repeat(shape.length - axis - 1);
    const parts = idx.map((i) => (i === null ? indent + ' ...' : rec(axis + 1, offset + i * strides[axis], indent + ' ')));
    return '[' + parts.map((p, k) => (k === 0 ? p : indent + ' ' + p.replace(/^\s+/, ''))).join(sep) + ']';
  };
  return rec(0, 0, '');
}
