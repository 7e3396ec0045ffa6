// MXNet's KVStore (DIST.md): 'local' (one process) and 'dist_sync' (data-parallel over Open MPI, through
// the optional module native/dist, loaded by explicit path). The collectives run as tasks of the
// engine (engineCall), in issue order, over the arrays' data: no copy passes through JavaScript.
import * as path from 'path';
import { inspect } from 'util';
import { isMainThread } from 'worker_threads';
import { native } from './binding';
import { invoke } from './dispatch';
import { NDArrayError } from './errors';
import { optionKeys, options } from './args';
import { dispose, keep } from './memory';
import { waitAll } from './engine';
import { NDArray } from './ndarray';
import { zeros } from './creation';

/** A key of a KVStore: a string or a non-negative integer. */
export type Key = string | number;

/** @internal the MPI module's exports (native/dist/dist.cc) */
interface DistModule {
  init(timeoutSeconds: number): [number, number, number];
  finalize(): void;
  abort(code: number): void;
  tasks: { allreduce: object; pushpull: object; broadcast: object; barrier: object; bucketStart: object; bucketFinish: object };
  ctx: object;
  mpiVersion: string;
}

const INSTALL_HINT =
  'install Open MPI (Debian/Ubuntu: `apt-get install libopenmpi-dev openmpi-bin`), then build ndgrad\'s MPI module ' +
  'with `npm run build:dist`';
const PREBUILT_NEEDS =
  'the prebuilt MPI module needs Open MPI 4.1 (libmpi.so.40; Debian/Ubuntu: `apt-get install openmpi-bin`), ' +
  'or build it against the MPI you have with `npm run build:dist`';
// the MPI module's directory: node-gyp-build loads its local build, else the prebuild for this platform
const DIST_DIR = path.join(__dirname, '..', 'native', 'dist');

let dist: DistModule | null = null;
let world: { rank: number; size: number } | null = null;

/** @internal the MPI module, started once per process (MPI_Init_thread); NO_MPI when it cannot be. */
export function mpi(): { module: DistModule; rank: number; size: number } {
  if (dist && world) return { module: dist, ...world };
  // one MPI world per process, driven from one JS thread (collectives of several threads' engines
  // would reach the ranks in different orders)
  if (!isMainThread) throw new NDArrayError("kvstore 'dist_sync' runs on the main thread only, not in a worker", 'BAD_ARGUMENT');
  if (process.env.NDGRAD_NO_MPI === '1')
    throw new NDArrayError(`kvstore 'dist_sync': MPI is disabled by NDGRAD_NO_MPI=1; to use it, unset it (or ${INSTALL_HINT})`, 'NO_MPI');
  let m: DistModule;
  let file = '';
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    file = require('node-gyp-build').resolve(DIST_DIR) as string;
    m = require(file) as DistModule;
  } catch (e) {
    const cause = (e as Error).message.split('\n')[0];
    if (!file) throw new NDArrayError(`kvstore 'dist_sync': the MPI module is not built and no prebuild fits this platform; ${INSTALL_HINT}`, 'NO_MPI');
    // a prebuild on a system without Open MPI's library, or with another ABI
    const prebuilt = file.includes(`${path.sep}prebuilds${path.sep}`);
    throw new NDArrayError(`kvstore 'dist_sync': the MPI module ${file} could not be loaded (${cause}); ${prebuilt ? PREBUILT_NEEDS : INSTALL_HINT}`, 'NO_MPI');
  }
  const timeout = Number(process.env.NDGRAD_DIST_TIMEOUT ?? 300);
  if (!(timeout > 0))
    throw new NDArrayError(`NDGRAD_DIST_TIMEOUT must be a positive number of seconds, got '${process.env.NDGRAD_DIST_TIMEOUT}'`, 'BAD_ARGUMENT');
  let r: [number, number, number];
  try {
    r = m.init(timeout);
  } catch (e) {
    const { message, code } = e as Error & { code?: string };
    if (code === 'DIST_FAILURE') throw new NDArrayError(`kvstore 'dist_sync': ${message}`, 'DIST_FAILURE');
    throw new NDArrayError(`kvstore 'dist_sync': ${message}; ${INSTALL_HINT}`, 'NO_MPI');
  }
  dist = m;
  world = { rank: r[0], size: r[1] };
  // A rank that throws or exits with an error ends the whole job at once (MPI_Abort); a clean exit
  // finalises MPI once the queued collectives have run.
  // Node emits 'exit' before it prints an uncaught error, and MPI_Abort would end the process first:
  // print it here, naming the rank.
  process.on('uncaughtExceptionMonitor', (err, origin) => {
    if (process.listenerCount('uncaughtException') > 0) return;  // the script handles it
    process.stderr.write(`ndgrad rank ${world?.rank}: ${origin === 'unhandledRejection' ? 'unhandled rejection' : 'uncaught exception'}: ${inspect(err)}\n`);
  });
  process.on('exit', (code) => {
    if (code !== 0) return m.abort(code);
    try {
      waitAll();
    } catch {
      return m.abort(1);
    }
    m.finalize();
  });
  return { module: m, ...world };
}

/** @internal queues one of the MPI module's tasks over arrays (engineCall); `written` marks outputs. */
export function distTask(task: keyof DistModule['tasks'], arrays: NDArray[], written: boolean[], op: string): void {
  const m = mpi().module;
  native.engineCall(m.tasks[task], m.ctx, arrays.map((a) => a.hFor(op)), written, 'DIST_FAILURE');
}

/** bfloat16 is summed in float32 and rounded once */
const SUMMABLE = new Set(['float32', 'float64', 'int32', 'bfloat16']);

function isKey(k: unknown): k is Key {
  return typeof k === 'string' || (typeof k === 'number' && Number.isInteger(k) && k >= 0);
}

/** MXNet's KVStore: `kvstore.create('local' | 'dist_sync')`. */
export class KVStore {
  /** 'local' or 'dist_sync' */
  readonly type: 'local' | 'dist_sync';
  /** @internal */
  private readonly store = new Map<Key, NDArray>();
  /** @internal */
  private readonly world: { rank: number; size: number };

  /** @internal use kvstore.create */
  constructor(type: 'local' | 'dist_sync') {
    this.type = type;
    this.world = type === 'local' ? { rank: 0, size: 1 } : mpi();
  }

  /** This worker's rank (MPI rank; 0 for 'local'). */
  get rank(): number {
    return this.world.rank;
  }
  /** The number of workers (MPI size; 1 for 'local'). */
  get numWorkers(): number {
    return this.world.size;
  }

  /** Stores the initial value of each key: rank 0's value, broadcast to every worker. */
  init(key: Key | Key[], value: NDArray | NDArray[]): void {
    for (const [k, v] of this.pairs('init', key, value)) {
      if (this.store.has(k)) throw new NDArrayError(`KVStore.init: key ${String(k)} is already initialised`, 'BAD_ARGUMENT');
      const s = keep(v.copy());
      this.collective('broadcast', s, s, 'KVStore.init');
      this.store.set(k, s);
    }
  }

  /** Stores the sum over workers of each pushed value (no optimizer on the store: MXNet's default). */
  push(key: Key | Key[], value: NDArray | NDArray[]): void {
    for (const [v, s] of this.summed('push', this.pairs('push', key, value))) this.collective('allreduce', v, s, 'KVStore.push');
  }

  /** Copies each key's stored value into `out` (one array per key). */
  pull(key: Key | Key[], opts: { out: NDArray | NDArray[] }): void {
    const o = options(opts, 'KVStore.pull', optionKeys('out', 'priority'));
    for (const [k, out] of this.pairs('pull', key, o.out as NDArray | NDArray[])) invoke('copy', [this.stored('pull', k, out)], null, out);
  }

  /**
   * Push then pull in one call (MXNet's pushpull): the store keeps the sum over workers of each value,
   * and `out` (default: the value itself, in place) receives it. The key must be initialised, and the
   * value match it.
   */
  pushpull(key: Key | Key[], value: NDArray | NDArray[], opts: { out?: NDArray | NDArray[] } = {}): void {
    const o = options(opts, 'KVStore.pushpull', optionKeys('out', 'priority'));
    const vs = this.pairs('pushpull', key, value);
    const outs = o.out === undefined ? vs : this.pairs('pushpull', key, o.out);
    vs.forEach(([k, v], i) => this.checkOut('pushpull', k, v, outs[i][1]));
    this.summed('pushpull', vs).forEach(([v, s], i) => {
      const out = outs[i][1];
      if (this.type === 'local') {
        invoke('copy', [v], null, s);
        invoke('copy', [s], null, out);
      } else {
        // one task: the sum into out (in place when out is the value), copied into the store piece by
        // piece while the rest is still being summed
        distTask('pushpull', [v, out, s], [false, true, true], 'KVStore.pushpull');
      }
    });
  }

  /** Rank 0's value of each key into `out` (every dtype); a key not yet initialised is initialised with it. */
  broadcast(key: Key | Key[], value: NDArray | NDArray[], opts: { out: NDArray | NDArray[] }): void {
    const o = options(opts, 'KVStore.broadcast', optionKeys('out', 'priority'));
    if (o.out === undefined) throw new NDArrayError('KVStore.broadcast: `out` is required', 'BAD_ARGUMENT');
    const vs = this.pairs('broadcast', key, value);
    const outs = this.pairs('broadcast', key, o.out);
    vs.forEach(([k, v], i) => {
      const out = this.checkOut('broadcast', k, v, outs[i][1]);
      this.collective('broadcast', v, out, 'KVStore.broadcast');
      if (!this.store.has(k)) this.store.set(k, keep(out.copy()));
    });
  }

  /** Returns once every worker has called it (after this worker's queued work). */
  barrier(): void {
    if (this.type === 'local') return;
    const token = zeros([1]);
    try {
      distTask('barrier', [token], [true], 'KVStore.barrier');
      token.waitToRead();
    } finally {
      token.dispose();
    }
  }

  /** Frees the stored values. */
  dispose(): void {
    for (const v of this.store.values()) dispose(v);
    this.store.clear();
  }

  /**
   * @internal (value, stored value) of each pair to sum, every pair checked before the first collective
   * is issued, so that a misuse leaves no rank half-way through a list
   */
  private summed(op: string, pairs: [Key, NDArray][]): [NDArray, NDArray][] {
    return pairs.map(([k, v]) => {
      if (!SUMMABLE.has(v.dtype)) throw new NDArrayError(`KVStore.${op}: sums are float32, float64, int32 or bfloat16, got ${v.dtype}`, 'DTYPE_MISMATCH');
      return [v, this.stored(op, k, v)];
    });
  }

  /** @internal out = the collective over value ('local': a copy, the sum over one worker) */
  private collective(kind: 'allreduce' | 'broadcast', value: NDArray, out: NDArray, op: string): void {
    if (this.type === 'local') {
      if (value !== out) invoke('copy', [value], null, out);
    } else {
      distTask(kind, [value, out], [false, true], op);
    }
  }

  /** @internal (key, array) pairs of a call: one array per key, keys checked */
  private pairs(op: string, key: Key | Key[], value: NDArray | NDArray[]): [Key, NDArray][] {
    const many = Array.isArray(key);
    const keys = many ? key : [key];
    const vals = Array.isArray(value) ? value : [value];
    if (!many && Array.isArray(value) && value.length !== 1)
      throw new NDArrayError(`KVStore.${op}: one key takes one array, got a list of ${value.length}`, 'BAD_ARGUMENT');
    if (keys.length !== vals.length)
      throw new NDArrayError(`KVStore.${op}: ${keys.length} keys but ${vals.length} arrays`, 'BAD_ARGUMENT');
    return keys.map((k, i) => {
      if (!isKey(k)) throw new NDArrayError(`KVStore.${op}: a key is a string or a non-negative integer, got ${String(k)}`, 'BAD_ARGUMENT');
      if (!(vals[i] instanceof NDArray)) throw new NDArrayError(`KVStore.${op}: expected an NDArray for key ${String(k)}`, 'BAD_ARGUMENT');
      return [k, vals[i]];
    });
  }

  /** @internal the stored value of k, checked against x's shape and dtype */
  private stored(op: string, k: Key, x: NDArray): NDArray {
    const s = this.store.get(k);
    if (!s) throw new NDArrayError(`KVStore.${op}: key ${String(k)} has not been initialised (call init first)`, 'NOT_INITIALIZED');
    this.checkOut(op, k, s, x);
    return s;
  }

  /** @internal out must have value's shape and dtype */
  private checkOut(op: string, k: Key, value: NDArray, out: NDArray): NDArray {
    if (out.shape.join() !== value.shape.join())
      throw new NDArrayError(`KVStore.${op}: key ${String(k)} has shape (${value.shape}), got (${out.shape})`, 'SHAPE_MISMATCH');
    if (out.dtype !== value.dtype)
      throw new NDArrayError(`KVStore.${op}: key ${String(k)} has dtype ${value.dtype}, got ${out.dtype}`, 'DTYPE_MISMATCH');
    return out;
  }
}

/** MXNet's `kv.create(name)`: 'local' (also 'device', one process) or 'dist_sync' (Open MPI). */
export function create(name: 'local' | 'device' | 'dist_sync' = 'local'): KVStore {
  if (name === 'local' || name === 'device') return new KVStore('local');
  if (name === 'dist_sync') return new KVStore('dist_sync');
  throw new NDArrayError(`kvstore.create: unknown type '${String(name)}' (expected 'local', 'device' or 'dist_sync')`, 'BAD_ARGUMENT');
}
