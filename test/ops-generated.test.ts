// lib/ops.generated.ts (the TS face's op list) is what scripts/gen-ops.js makes of the addon's op
// table: a native op added, renamed or given an alias without `npm run gen:ops` fails here.
import * as fs from 'fs';
import { nd, NDArray } from '../lib';

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
