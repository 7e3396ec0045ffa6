// The public type surface: the declarations `npm run build:ts` emits (built here from lib/ with
// tsconfig.build.json into a temporary directory) hold no internal name, declare every name that
// exists at run time, and are enough on their own for a strict consumer without @types/node or the
// esnext.disposable lib, the README's example included.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';
import * as lib from '../lib';
import { autograd, nd, NDArray } from '../lib';

const root = path.join(__dirname, '..');
let outDir: string;

/** Emits lib/'s declarations as the build does; returns them by file name. */
function emitDeclarations(dir: string): Map<string, string> {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.build.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  })!;
  const program = ts.createProgram(config.fileNames, { ...config.options, outDir: dir, emitDeclarationOnly: true });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  expect(diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
  const files = new Map<string, string>();
  program.emit(undefined, (name, text) => {
    fs.mkdirSync(path.dirname(name), { recursive: true }); // lib/gluon/... emits into subfolders
    fs.writeFileSync(name, text);
    files.set(path.relative(dir, name), text);
  });
  return files;
}

/** A strict consumer's program: `ndgrad` resolves to the emitted declarations; no @types, ES2022 only. */
function consumer(sources: Record<string, string>): { program: ts.Program; errors: string[] } {
  const dir = fs.mkdtempSync(path.join(outDir, 'consumer-'));
  const names = Object.entries(sources).map(([name, text]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  });
  const program = ts.createProgram(names, {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'],
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    types: [],
    baseUrl: dir,
    paths: { ndgrad: [path.join(outDir, 'index.d.ts')] },
  });
  const errors = ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${path.basename(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start!).line + 1}` : '';
    return `${where} TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
  return { program, errors };
}

let declarations: Map<string, string>;
beforeAll(() => {
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ndgrad-types-'));
  declarations = emitDeclarations(outDir);
});
afterAll(() => fs.rmSync(outDir, { recursive: true, force: true }));

// Names of lib/'s internals: none may be declared anywhere in the emitted types.
const INTERNAL = [
  'hFor', 'h', 'wrap', 'wrapHandle', 'invoke', 'invokeN', 'unaryOp', 'binaryOp', 'addMethods', 'handleOf',
  'options', 'optionKeys', 'checkList', 'describeValue', 'track', 'ownHandle', 'register', 'unregister',
  'withCreated', 'forPass', 'inPass', 'runBackward', 'BACKWARD_KEYS', 'MAX_LIST', 'DTYPES', 'DTYPE_CODE',
  'ERROR_CODES', 'customTemps', 'onGradReady',
];
const isPublic = (name: string): boolean => !name.startsWith('_') && !INTERNAL.includes(name);

/** Every declared name in a declaration file (exports, members, namespaces); `private x` as 'private x'. */
function declaredNames(text: string): string[] {
  const sf = ts.createSourceFile('x.d.ts', text, ts.ScriptTarget.ES2022, true);
  const names: string[] = [];
  const visit = (node: ts.Node): void => {
    const name = (node as ts.NamedDeclaration).name;
    if (name && !ts.isParameter(node) && !ts.isTypeParameterDeclaration(node) &&
        (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isPrivateIdentifier(name))) {
      const hidden = ts.canHaveModifiers(node) && ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword);
      names.push(hidden ? `private ${name.text}` : name.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return names;
}

describe('the emitted declarations leak no internals', () => {
  test("no declared name is private, starts with an underscore or is one of lib/'s internal helpers", () => {
    const leaks: string[] = [];
    for (const [file, text] of declarations)
      for (const n of declaredNames(text))
        if (/^(private |_|#)/.test(n) || INTERNAL.includes(n)) leaks.push(`${file}: ${n}`);
    expect(leaks).toEqual([]);
  });

  test('no declaration is typed any', () => {
    const anys: string[] = [];
    for (const [file, text] of declarations)
      text.split('\n').forEach((line, i) => /\bany\b/.test(line.replace(/\/\/.*|\/\*.*?\*\/|^\s*\*.*/g, '')) && anys.push(`${file}:${i + 1}: ${line.trim()}`));
    expect(anys).toEqual([]);
  });

  test('NDArrayError.code is the union of the native codes', () => {
    const { types } = constTypes([
      "import { NDArrayError, NDArrayErrorCode } from 'ndgrad';",
      'declare const e: NDArrayError;',
      'export const c: NDArrayErrorCode = e.code;',
      "export const ok: NDArrayErrorCode = 'BAD_AXIS';",
    ]);
    expect(types.c.isUnion()).toBe(true);
    const members = (types.c as ts.UnionType).types.map((t) => (t as ts.StringLiteralType).value);
    expect(members).toEqual(nd._native.errorCodes());
  });
});

/** The types a strict consumer's checker gives each `export const` of `lines` (which must compile). */
function constTypes(lines: string[]): { checker: ts.TypeChecker; types: Record<string, ts.Type> } {
  const { program, errors } = consumer({ 'consts.ts': lines.join('\n') });
  expect(errors).toEqual([]);
  const checker = program.getTypeChecker();
  const types: Record<string, ts.Type> = {};
  for (const st of program.getSourceFile(program.getRootFileNames()[0])!.statements)
    if (ts.isVariableStatement(st) && st.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword))
      for (const d of st.declarationList.declarations)
        types[(d.name as ts.Identifier).text] = checker.getTypeOfSymbolAtLocation(checker.getSymbolAtLocation(d.name)!, d);
  return { checker, types };
}

describe('every name that exists at run time is declared', () => {
  // The names a consumer's checker sees on each public value, compared with the runtime keys.
  let declaredNames: Record<string, string[]> | undefined;
  function declared(): Record<string, string[]> {
    if (declaredNames) return declaredNames;
    const { checker, types } = constTypes([
      "import * as pkg from 'ndgrad';",
      "import { nd, autograd, NDArray } from 'ndgrad';",
      'export const p = pkg;',
      'export const n = nd;',
      'export const r = nd.random;',
      'export const a = autograd;',
      'declare const x: NDArray;',
      'export const i = x;',
    ]);
    declaredNames = {};
    for (const [name, t] of Object.entries(types)) declaredNames[name] = checker.getPropertiesOfType(t).map((p) => p.name);
    return declaredNames;
  }

  // Runtime names that are internal by name (an underscore) or by the INTERNAL list are left out:
  // the leak test above checks that those are not declared.
  const runtime = {
    p: Object.keys(lib).filter(isPublic),
    n: Object.keys(nd).filter(isPublic),
    r: Object.keys(nd.random).filter(isPublic),
    a: Object.keys(autograd).filter(isPublic),
    i: Object.getOwnPropertyNames(NDArray.prototype).filter((k) => k !== 'constructor' && isPublic(k)),
  };

  test.each([
    ['the package exports', 'p'],
    ['nd', 'n'],
    ['nd.random', 'r'],
    ['autograd', 'a'],
    ['NDArray methods and getters', 'i'],
  ] as const)('%s', (_what, key) => {
    const types = declared()[key];
    expect(runtime[key].length).toBeGreaterThan(2);
    expect(runtime[key].filter((k) => !types.includes(k))).toEqual([]);
  });

  test("nd's internals exist at run time for tests and benchmarks, but are not declared", () => {
    expect(Object.keys(nd).filter((k) => k.startsWith('_')).sort()).toEqual(['_native', '_opTable']);
    expect(declared().n.filter((k) => k.startsWith('_'))).toEqual([]);
  });
});

describe('a strict consumer without @types/node or esnext.disposable compiles', () => {
  test("the README's example", () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const m = /## Example\s+```ts\n([\s\S]*?)```/.exec(readme);
    expect(m).not.toBeNull();
    expect(m![1]).toContain("from 'ndgrad'");
    // the consumer has no @types/node, so it declares the one Node global the example uses
    const prelude = 'declare const console: { log(...args: unknown[]): void };\n';
    expect(consumer({ 'readme.ts': prelude + m![1] }).errors).toEqual([]);
  });

  test("the README's Gluon example", () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const m = /## Gluon[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme);
    expect(m).not.toBeNull();
    const prelude = 'declare const console: { log(...args: unknown[]): void };\n';
    expect(consumer({ 'gluon.ts': prelude + m![1] }).errors).toEqual([]);
  });

  test('using, toArray, the error code union, options and null checks', () => {
    const src = `
      import { nd, autograd, NDArray, NDArrayError, NDArrayErrorCode, NestedArray } from 'ndgrad';
      {
        using a = nd.ones([2, 2]);
        const rows: NestedArray = a.toArray();
        const n: number = a.sum().item();
        using scope = autograd.pause({ trainMode: true });
        const same: NDArray = autograd.record(() => a, { trainMode: false });
        void rows; void n; void scope; void same;
      }
      const x = nd.array([1, 2, 3]);
      x.attachGrad();
      autograd.record(() => x.mul(x).sub(1).neg().div(2).pow(2).sum()).backward();
      const g: NDArray | null = x.grad;
      if (g !== null) g.toString();
      try {
        nd.sum(x, { axis: 3 });
      } catch (e) {
        if (e instanceof NDArrayError) {
          const code: NDArrayErrorCode = e.code;
          // @ts-expect-error a code outside the list
          const bad: NDArrayErrorCode = 'NOT_A_CODE';
          void code; void bad;
        }
      }
      // @ts-expect-error an NDArray is made by nd functions, not new
      new NDArray();
      // @ts-expect-error .grad may be null under strict
      x.grad.toString();
      nd.tidy(() => nd.dot(x.reshape(1, 3), x.reshape(3, 1), { transposeA: false }));
      nd.dispose([x]);
    `;
    expect(consumer({ 'consumer.ts': src }).errors).toEqual([]);
  });
});
