// A hand-written SVG of training curves: two panels (loss, accuracy) with one polyline per series over
// the epochs, axes with a few ticks, and a legend. No dependency: the SVG is plain text.

export interface Series {
  name: string;
  color: string;
  values: number[];
}

const W = 360, H = 260, M = { left: 52, right: 14, top: 30, bottom: 40 };

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function ticks(lo: number, hi: number, n: number): number[] {
  return Array.from({ length: n + 1 }, (_, i) => lo + ((hi - lo) * i) / n);
}

function panel(x0: number, title: string, series: Series[], fixed?: [number, number]): string {
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  let [lo, hi] = fixed ?? [Math.min(...all), Math.max(...all)];
  if (!(hi > lo)) [lo, hi] = [lo - 0.5, hi + 0.5];
  const epochs = Math.max(1, ...series.map((s) => s.values.length));
  const pw = W - M.left - M.right, ph = H - M.top - M.bottom;
  const px = (e: number): number => x0 + M.left + (epochs === 1 ? pw / 2 : (pw * (e - 1)) / (epochs - 1));
  const py = (v: number): number => M.top + ph - (ph * (v - lo)) / (hi - lo);
  const out: string[] = [`<text x="${x0 + M.left}" y="18" font-weight="bold">${esc(title)}</text>`];
  out.push(`<rect x="${x0 + M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  for (const v of ticks(lo, hi, 4))
    out.push(`<line x1="${x0 + M.left}" x2="${x0 + M.left + pw}" y1="${py(v).toFixed(1)}" y2="${py(v).toFixed(1)}" stroke="#eee"/>`,
      `<text x="${x0 + M.left - 4}" y="${(py(v) + 4).toFixed(1)}" text-anchor="end">${v.toFixed(2)}</text>`);
  const step = Math.max(1, Math.ceil(epochs / 10));
  for (let e = 1; e <= epochs; e += step) out.push(`<text x="${px(e)}" y="${M.top + ph + 16}" text-anchor="middle">${e}</text>`);
  out.push(`<text x="${x0 + M.left + pw / 2}" y="${H - 6}" text-anchor="middle">epoch</text>`);
  // the legend sits above the panel's right end, clear of the curves
  series.forEach((s, k) => {
    const pts = s.values.map((v, i) => `${px(i + 1).toFixed(1)},${py(v).toFixed(1)}`);
    out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const p of pts) out.push(`<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="2.5" fill="${s.color}"/>`);
    const lx = x0 + M.left + pw - 60 * (series.length - k);
    out.push(`<line x1="${lx}" x2="${lx + 16}" y1="14" y2="14" stroke="${s.color}" stroke-width="2"/>`,
      `<text x="${lx + 20}" y="18">${esc(s.name)}</text>`);
  });
  return out.join('\n');
}

/** An SVG document: the loss curves on the left, the accuracy curves (0 to 1) on the right. */
export function trainingCurves(title: string, loss: Series[], accuracy: Series[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H + 20}" font-family="sans-serif" font-size="11">`,
    `<title>${esc(title)}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<g transform="translate(0,20)">`,
    panel(0, `${title}: loss`, loss),
    panel(W, `${title}: accuracy`, accuracy, [Math.max(0, Math.floor(Math.min(...accuracy.flatMap((s) => s.values)) * 10) / 10), 1]),
    `</g>`,
    `</svg>`,
    '',
  ].join('\n');
}
