// The op list and its source: lib/ops.generated.ts (the TS face's op list) is what
// scripts/gen-ops.js makes of the addon's op table (a native op added, renamed or given an alias
// without `npm run gen:ops` fails here), every name is reachable and typed, and each row of
// native/src/defs/*.def saves what its derivative reads and has PyTorch fixture cases.
import * as fs from 'fs';
import { nd, NDArray } from '../lib';
import { binaryRows, jsName, unaryRows } from './op-defs';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const gen = require('../scripts/gen-ops.js');

test('lib/ops.generated.ts matches the native op table (run npm run gen:ops)', () => {
  expect(fs.readFileSync(gen.OUT, 'utf8')).toBe(gen.render(nd._opTable()));
});

test.each(nd._opTable().filter((o) => ['unary', 'binary', 'reduce'].includes(o.kind)).map((o) => [o.name, o]))(
  '%s is reachable as nd.* and as a method under each TS name',
  (_name, op) => {
    for (const n of gen.tsNames(op)) {
      expect(typeof (nd as any)[n]).toBe('function');
      expect(typeof (NDArray.prototype as any)[n]).toBe('function');
    }
  },
);

// Compile-time: every name of the generated list has its own type, not `any` (ts-jest type-checks
// this file, so an untyped name fails the suite).
type IsAny<T> = 0 extends 1 & T ? true : false;
test('the aliases are typed (nd.neg, nd.sub, nd.mul, nd.div, nd.pow and the methods)', () => {
  const typed: [
    IsAny<typeof nd.neg>, IsAny<typeof nd.sub>, IsAny<typeof nd.mul>, IsAny<typeof nd.div>, IsAny<typeof nd.pow>,
    IsAny<NDArray['neg']>, IsAny<NDArray['sub']>, IsAny<NDArray['mul']>, IsAny<NDArray['div']>, IsAny<NDArray['pow']>,
  ] = [false, false, false, false, false, false, false, false, false, false];
  expect(typed.every((t) => t === false)).toBe(true);
  expect(nd.neg).toBe(nd.negative);
});

// The `save` column of native/src/defs/*.def must cover what the row's derivative reads, or its
// backward would meet an array that was never saved; and it should save nothing more (memory).
const reads = (grad: string, names: string[]) => names.filter((n) => new RegExp(`\\b${n}\\b`).test(grad.replace(/"[^"]*"/g, '')));
test.each(unaryRows().map((r) => [r.name, r]))('unary %s saves exactly what its derivative reads', (_n, row) => {
  const want = reads(row.grad, ['x', 'y']).join('').toUpperCase() || 'NONE';
  expect(row.save).toBe(want);
});
test.each(binaryRows().map((r) => [r.name, r]))('binary %s saves what its derivative reads', (_n, row) => {
  // the binary family saves both inputs or neither (AB), and the output (Y) when read
  const r = reads(row.grad, ['a', 'b', 'y']);
  const want = r.includes('y') ? 'ABY' : r.length ? 'AB' : 'NONE';
  expect(row.save).toBe(want);
});

// A row's values are checked against PyTorch (make_fixtures.py) only through its torch column, and
// those cases must be in the committed fixtures.
test.each([...unaryRows(), ...binaryRows()].map((r) => [r.name, r]))('%s has a PyTorch expression and fixture cases', (_n, row) => {
  expect(row.torch).not.toBe('');
  const cases = [...require('./fixtures/elementwise.json'), ...require('./fixtures/coverage.json')];
  expect(cases.some((c: { opts: { name?: string } }) => c.opts.name === jsName(row))).toBe(true);
});
