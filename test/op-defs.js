// Reads the op rows of native/src/defs/*.def (the X-macro tables every floor expands) for the
// tests: names, whether an op has a gradient, and the test columns (input ranges, the PyTorch
// expression). Plain JS so node scripts can use it too; make_fixtures.py asks it through node.
'use strict';
const fs = require('fs');
const path = require('path');

const DEFS = path.join(__dirname, '..', 'native', 'src', 'defs');

/** The arguments of each `MACRO(...)` call in `text`, split at top-level commas. */
function macroCalls(text, macro) {
  const src = text.replace(/\/\/.*$/gm, '');
  const calls = [];
  let at = 0;
  for (;;) {
    const start = src.indexOf(macro + '(', at);
    if (start < 0) return calls;
    const args = [];
    let depth = 0, quote = false, cur = '';
    let i = start + macro.length + 1;
    for (; i < src.length; i++) {
      const c = src[i];
      if (quote) {
        cur += c;
        if (c === '"' && src[i - 1] !== '\\') quote = false;
      } else if (c === '"') {
        quote = true;
        cur += c;
      } else if (c === '(') {
        depth++;
        cur += c;
      } else if (c === ')' && depth === 0) {
        break;
      } else if (c === ')') {
        depth--;
        cur += c;
      } else if (c === ',' && depth === 0) {
        args.push(cur.trim().replace(/\s+/g, ' '));
        cur = '';
      } else cur += c;
    }
    args.push(cur.trim().replace(/\s+/g, ' '));
    calls.push(args);
    at = i;
  }
}

const str = (s) => JSON.parse(s);
const num = (s) => Number(s);

/** Unary rows: { name, aliases[], differentiable, keepsInt, range: [lo, hi], gradRange: [lo, hi], torch }. */
function unaryRows() {
  return macroCalls(fs.readFileSync(path.join(DEFS, 'unary.def'), 'utf8'), 'NDG_UNARY').map((a) => ({
    kind: a[0],
    name: a[1],
    aliases: str(a[2]).split(' ').filter(Boolean),
    keepsInt: a[3].startsWith('INT('),
    save: a[5],
    grad: a[6],
    differentiable: a[6].startsWith('GRAD('),
    range: [num(a[7]), num(a[8])],
    gradRange: [num(a[9]), num(a[10])],
    torch: str(a[11]),
  }));
}

/** Binary rows: as unary, with ranges [lo_a, hi_a, lo_b, hi_b]. */
function binaryRows() {
  return macroCalls(fs.readFileSync(path.join(DEFS, 'binary.def'), 'utf8'), 'NDG_BINARY').map((a) => ({
    kind: a[0],
    name: a[1],
    aliases: str(a[2]).split(' ').filter(Boolean),
    floatResult: a[3] === 'FLOAT',
    save: a[5],
    grad: a[6],
    differentiable: a[6].startsWith('GRAD('),
    range: a.slice(7, 11).map(num),
    gradRange: a.slice(11, 15).map(num),
    torch: str(a[15]),
  }));
}

/** The nd.* name of a row (the native name, or its first alias without '_': not_equal -> notEqual). */
function jsName(row) {
  return [row.name, ...row.aliases].find((n) => !n.includes('_'));
}

module.exports = { unaryRows, binaryRows, jsName, macroCalls };
