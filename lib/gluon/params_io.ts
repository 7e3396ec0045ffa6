// saveParameters / loadParameters over a name -> parameter map (what Block.saveParameters and
// ParameterDict.save/load call). Files are MXNet 1.x's NDArray format (Gluon's .params) or MXNet 2.x's
// .npz; loading is all-or-nothing: every name, shape and dtype is checked before any parameter changes.
import { NDArrayError } from '../errors';
import { describeValue } from '../args';
import { DType, NDArray } from '../ndarray';
import { fileSource, pathArg } from '../fileio';
import { FileEntry, readEntries, save } from '../mxnet_file';
import { isZip, npyToArray, parseNpz, writeNpz } from '../npy';

/** What saving and loading need of a parameter (gluon.Parameter implements it). */
export interface ParameterLike {
  readonly name: string;
  readonly gradReq: 'write' | 'add' | 'null';
  readonly lrMult: number;
  readonly wdMult: number;
  /** 0 marks a dimension not known yet (deferred initialization) */
  readonly shape: number[];
  readonly dtype: string;
  data(): NDArray;
  grad(): NDArray;
  setData(x: NDArray): void;
}

export interface LoadParametersOptions {
  /** parameters the file lacks are left as they are (else MISSING_PARAMETER) */
  allowMissing?: boolean;
  /** names the network lacks are skipped (else UNEXPECTED_PARAMETER) */
  ignoreExtra?: boolean;
  /** arrays of another dtype are converted to the parameter's (else DTYPE_MISMATCH) */
  castDtype?: boolean;
}

const LOAD_KEYS = new Set(['allowMissing', 'ignoreExtra', 'castDtype']);

function checkMap(op: string, params: unknown): Map<string, ParameterLike> {
  if (!(params instanceof Map)) throw new NDArrayError(`${op}: expected a Map of name -> Parameter, got ${describeValue(params)}`, 'BAD_ARGUMENT');
  return params as Map<string, ParameterLike>;
}

/**
 * Saves every parameter's data under its name (in the map's order): MXNet 1.x's NDArray file (what
 * Gluon's save_parameters writes, loadable by MXNet 1.x and 2.x), or an .npz archive (MXNet 2.x's
 * format) when the path ends in ".npz". Atomic; NOT_INITIALIZED before anything is written when a
 * parameter has no data yet.
 */
export function saveParameters(path: string, params: Map<string, ParameterLike>): void {
  const op = 'saveParameters';
  pathArg(op, path);
  const entries = [...checkMap(op, params)].map(([name, p]): [string, NDArray] => [name, p.data()]);
  if (path.endsWith('.npz')) writeNpz(op, path, entries, false);
  else save(path, Object.fromEntries(entries));
}

/** A loaded array's description and how to get it (from a file: created on demand). */
interface Source {
  name: string;
  dtype: string;
  shape: number[];
  /** the array, and whether it is ours to dispose */
  get(): { x: NDArray; owned: boolean };
}

/** The arrays a load reads from, and what to release when it is done. */
function sourcesOf(op: string, from: unknown): { where: string; sources: Source[]; close(): void } {
  if (typeof from === 'string') {
    pathArg(op, from);
    const src = fileSource(op, from);
    try {
      if (src.size >= 4 && isZip(src.read(0, 4))) {
        const sources = [...parseNpz(src, op, from)].map(([name, a]) => ({
          name,
          dtype: a.dtype,
          shape: a.shape,
          get: () => ({ x: npyToArray(a), owned: true }),
        }));
        return { where: from, sources, close: () => src.close() };
      }
      const { named, entries } = readEntries(op, from, src);
      if (!named && entries.length > 0)
        throw new NDArrayError(`${op}: ${from}: the file holds a list of arrays without names, not parameters`, 'BAD_FILE');
      const sources = entries.map((e: FileEntry) => ({ ...e, get: () => ({ x: e.make(), owned: true }) }));
      return { where: from, sources, close: () => src.close() };
    } catch (e) {
      src.close();
      throw e;
    }
  }
  if (from === null || typeof from !== 'object' || Array.isArray(from) || from instanceof NDArray)
    throw new NDArrayError(`${op}: expected a file path or a { name: NDArray } record, got ${describeValue(from)}`, 'BAD_ARGUMENT');
  const sources = Object.keys(from).map((name) => {
    const x = (from as Record<string, unknown>)[name];
    if (!(x instanceof NDArray)) throw new NDArrayError(`${op}: '${name}' is not an NDArray (${describeValue(x)})`, 'BAD_ARGUMENT');
    x.hFor(op);
    return { name, dtype: x.dtype, shape: x.shape, get: () => ({ x, owned: false }) };
  });
  return { where: 'the record', sources, close: () => undefined };
}

/** A loaded shape fits a parameter's when they agree on every dimension the parameter knows. */
function shapeFits(param: number[], loaded: number[]): boolean {
  return param.length === loaded.length && param.every((d, i) => d === 0 || d === loaded[i]);
}

const fmt = (shape: number[]): string => `(${shape.join(', ')})`;

/** Every check of a load, before anything changes: the parameters to set and where from. */
function checkedPlan(
  op: string, where: string, sources: Source[], params: Map<string, ParameterLike>,
  { allowMissing, ignoreExtra, castDtype }: Required<LoadParametersOptions>,
): [ParameterLike, Source][] {
  const byName = new Map(sources.map((s) => [s.name, s]));
  if (!allowMissing)
    for (const name of params.keys())
      if (!byName.has(name))
        throw new NDArrayError(`${op}: parameter '${name}' is missing from ${where} (pass allowMissing to skip it)`, 'MISSING_PARAMETER');
  const plan: [ParameterLike, Source][] = [];
  for (const s of sources) {
    const p = params.get(s.name);
    if (p === undefined) {
      if (ignoreExtra) continue;
      throw new NDArrayError(`${op}: ${where} has '${s.name}', which is not a parameter of the network (pass ignoreExtra to skip it)`, 'UNEXPECTED_PARAMETER');
    }
    if (!shapeFits(p.shape, s.shape))
      throw new NDArrayError(`${op}: ${where}: parameter '${s.name}' has shape ${fmt(s.shape)}, the network's is ${fmt(p.shape)}`, 'SHAPE_MISMATCH');
    if (s.dtype !== p.dtype && !castDtype)
      throw new NDArrayError(`${op}: ${where}: parameter '${s.name}' is ${s.dtype}, the network's is ${p.dtype} (pass castDtype to convert)`, 'DTYPE_MISMATCH');
    plan.push([p, s]);
  }
  return plan;
}

/**
 * Loads parameter values from a file (MXNet 1.x NDArray file or MXNet 2.x .npz) or a name -> NDArray
 * record. Everything is checked before any parameter changes: BAD_FILE (the file),
 * MISSING_PARAMETER (unless allowMissing), UNEXPECTED_PARAMETER (unless ignoreExtra),
 * SHAPE_MISMATCH, DTYPE_MISMATCH (unless castDtype); each message names the file and the parameter.
 */
export function loadParameters(
  from: string | Record<string, NDArray>,
  params: Map<string, ParameterLike>,
  opts: LoadParametersOptions = {},
): void {
  const op = 'loadParameters';
  checkMap(op, params);
  if (opts === null || typeof opts !== 'object') throw new NDArrayError(`${op}: options must be an object, got ${describeValue(opts)}`, 'BAD_ARGUMENT');
  for (const k of Object.keys(opts)) if (!LOAD_KEYS.has(k)) throw new NDArrayError(`${op}: unknown option '${k}'`, 'BAD_ARGUMENT');
  const { allowMissing = false, ignoreExtra = false, castDtype = false } = opts;
  const { where, sources, close } = sourcesOf(op, from);
  try {
    const plan = checkedPlan(op, where, sources, params, { allowMissing, ignoreExtra, castDtype });
    // Only now do parameters change: one array at a time, freed as soon as it is copied in.
    for (const [p, s] of plan) {
      const { x, owned } = s.get();
      let cast: NDArray | null = null;
      try {
        if (x.dtype !== p.dtype) cast = x.astype(p.dtype as DType);
        p.setData(cast ?? x);
      } finally {
        if (cast) cast.dispose();
        if (owned) x.dispose();
      }
    }
  } finally {
    close();
  }
}
