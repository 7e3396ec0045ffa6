// gluon.Trainer (MXNet 1.9's): applies an optimizer to a set of parameters. step() rescales the
// gradients by 1 / batchSize, checks that every parameter to update has a fresh gradient, and
// updates them all with one fused native call; the optimizer's states belong to the trainer.
import * as fs from 'fs';
import { NDArrayError } from '../errors';
import { optionKeys, options } from '../args';
import { dispose, keep } from '../memory';
import { NDArray } from '../ndarray';
import { array } from '../creation';
import { create, Optimizer } from './optimizer';
import { create as createKVStore, KVStore } from '../kvstore';
import { GradBuckets } from './grad_buckets';
import type { ParameterLike } from './params_io';

export type { ParameterLike };

const FORMAT = 'ndgrad-trainer-states';
const bad = (msg: string) => new NDArrayError(`Trainer: ${msg}`, 'BAD_ARGUMENT');

export class Trainer {
  readonly optimizer: Optimizer;
  /** @internal */
  private readonly params: ParameterLike[];
  /** @internal */
  private readonly states = new Map<number, NDArray[]>();
  /** @internal */
  private readonly scale: number;
  /** @internal gradient buckets summed over the workers of a 'dist_sync' kvstore */
  private readonly dist: GradBuckets | null = null;

  /**
   * `params`: a ParameterDict or Map (name -> parameter) or a list of parameters; a parameter shared
   * by several blocks is updated once. `optimizer`: a name ('sgd', 'adam', ...) with its
   * `optimizerParams`, or an optimizer instance (then without optimizerParams, as MXNet).
   */
  constructor(
    params: Map<string, ParameterLike> | ParameterLike[],
    optimizer: string | Optimizer,
    optimizerParams?: object | null,
    opts: { kvstore?: string | KVStore | null | false; updateOnKvstore?: boolean | null; compressionParams?: object | null } = {},
  ) {
    const o = options(opts, 'Trainer', optionKeys('kvstore', 'updateOnKvstore', 'compressionParams'));
    const kv = o.kvstore === 'dist_sync' ? createKVStore('dist_sync') : o.kvstore;
    if (kv instanceof KVStore) {
      if (kv.type === 'dist_sync') this.dist = new GradBuckets();
    } else if (kv !== undefined && kv !== null && kv !== false && kv !== 'local' && kv !== 'device') {
      throw bad(`kvstore '${String(kv)}' is not available ('local', 'device', 'dist_sync', a KVStore or null)`);
    }
    const list = params instanceof Map ? [...params.values()] : params;
    if (!Array.isArray(list)) throw bad('params must be a ParameterDict, a Map of parameters or a list of parameters');
    this.params = [];
    const seen = new Set<ParameterLike>();
    for (const p of list) {
      if (!p || typeof p !== 'object' || typeof p.data !== 'function' || typeof p.grad !== 'function')
        throw bad(`params must hold Parameters, got ${String(p)}`);
      if (!seen.has(p)) this.params.push(p), seen.add(p);
    }
    if (optimizer instanceof Optimizer) {
      if (optimizerParams && Object.keys(optimizerParams).length > 0)
        throw bad('optimizerParams must be empty when optimizer is an Optimizer instance');
      this.optimizer = optimizer;
    } else {
      this.optimizer = create(optimizer, optimizerParams ?? {});
    }
    this.optimizer.paramDict = new Map(this.params.map((p, i) => [i, p]));
    this.scale = this.optimizer.rescaleGrad;
  }

  get learningRate(): number {
    return this.optimizer.learningRate;
  }
  setLearningRate(lr: number): void {
    this.optimizer.setLearningRate(lr);
  }

  /** One optimization step: gradients rescaled by 1 / batchSize (times the optimizer's rescaleGrad). */
  step(batchSize: number, opts: { ignoreStale?: boolean } = {}): void {
    const o = options(opts, 'Trainer.step', optionKeys('ignoreStale'));
    this.setBatch(batchSize, 'step');
    this.allreduceGrads();
    this.updateAll(o.ignoreStale ?? false);
  }

  /** Sums gradients across workers ('dist_sync' kvstore); with one process and one device, nothing to do. */
  allreduceGrads(): void {
    this.dist?.allreduce(this.params);
  }

  /** The update half of step (after allreduceGrads, e.g. to clip gradients in between). */
  update(batchSize: number, opts: { ignoreStale?: boolean } = {}): void {
    const o = options(opts, 'Trainer.update', optionKeys('ignoreStale'));
    this.setBatch(batchSize, 'update');
    this.updateAll(o.ignoreStale ?? false);
  }

  /** @internal */
  private setBatch(batchSize: number, what: string): void {
    if (typeof batchSize !== 'number' || !(batchSize > 0) || !Number.isFinite(batchSize))
      throw new NDArrayError(`Trainer.${what}: batchSize must be a positive number, got ${String(batchSize)}`, 'BAD_ARGUMENT');
    this.optimizer.rescaleGrad = this.scale / batchSize;
  }

  /** @internal */
  private updateAll(ignoreStale: boolean): void {
    const idx: number[] = [], ws: NDArray[] = [], gs: NDArray[] = [];
    this.params.forEach((p, i) => {
      if (p.gradReq === 'null') return;
      const w = p.data();
      if (!w.freshGrad) {
        if (ignoreStale) return;
        throw new NDArrayError(
          `Trainer.step: the gradient of Parameter '${p.name}' has not been updated by backward since the last step. ` +
            'This could mean a bug in your model that made it only use a subset of the Parameters (Blocks) for this ' +
            'iteration. If you are intentionally only using a subset, call step with { ignoreStale: true } to skip ' +
            'updating Parameters with stale gradients',
          'STALE_GRAD',
        );
      }
      idx.push(i), ws.push(w), gs.push(p.grad());
    });
    this.dist?.broadcastOnce(this.params);
    const ss = idx.map((i, k) => {
      let s = this.states.get(i);
      if (!s) this.states.set(i, (s = this.optimizer.createState(i, ws[k])));
      return s;
    });
    this.optimizer.update(idx, ws, gs, ss);
    for (const w of ws) w.freshGrad = false;
  }

  /** Writes the optimizer's states and counters to `path` (atomically). */
  saveStates(path: string): void {
    const states = [...this.states].map(([index, arrays]) => ({
      index,
      arrays: arrays.map((a) => {
        const t = a.toTypedArray();
        return { dtype: a.dtype, shape: a.shape, data: Buffer.from(t.buffer, t.byteOffset, t.byteLength).toString('base64') };
      }),
    }));
    const doc = { format: FORMAT, version: 1, optimizer: this.optimizer.name, info: this.optimizer.stateInfo, states };
    const tmp = `${path}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, JSON.stringify(doc));
    fs.renameSync(tmp, path);
  }

  /** Reads states saveStates wrote; everything is checked before any state is replaced. */
  loadStates(path: string): void {
    const fail = (msg: string, code: 'BAD_FILE' | 'SHAPE_MISMATCH' | 'DTYPE_MISMATCH' = 'BAD_FILE') =>
      new NDArrayError(`Trainer.loadStates: ${path}: ${msg}`, code);
    let doc: any;
    try {
      doc = JSON.parse(fs.readFileSync(path, 'utf8'));
    } catch (e) {
      throw fail(`not a trainer states file (${(e as Error).message})`);
    }
    if (!doc || doc.format !== FORMAT || doc.version !== 1 || !Array.isArray(doc.states) || !doc.info)
      throw fail('not a trainer states file');
    if (doc.optimizer !== this.optimizer.name) throw fail(`holds ${doc.optimizer} states, the trainer uses ${this.optimizer.name}`);
    // saveStates writes bfloat16 states (of bfloat16 weights without multiPrecision) as float32 values
    const ctor = { float32: Float32Array, float64: Float64Array, bfloat16: Float32Array } as const;
    const checked: [number, { dtype: 'float32' | 'float64' | 'bfloat16'; shape: number[]; bytes: Buffer }[]][] = [];
    for (const s of doc.states) {
      const p = this.params[s?.index];
      if (!p || !Array.isArray(s.arrays)) throw fail(`state for unknown parameter index ${String(s?.index)}`);
      const w = p.data();
      const master = this.optimizer.masterCopy(w); // a float32 master copy first, float32 states
      const count = this.optimizer.numStates + (master ? 1 : 0), dtype = master ? 'float32' : w.dtype;
      if (s.arrays.length !== count) throw fail(`'${p.name}' has ${s.arrays.length} states, expected ${count}`);
      const arrs = s.arrays.map((a: any) => {
        if (a.dtype !== dtype) throw fail(`a state of '${p.name}' has dtype ${a.dtype}, expected ${dtype}`, 'DTYPE_MISMATCH');
        if (!Array.isArray(a.shape) || a.shape.join() !== w.shape.join())
          throw fail(`a state of '${p.name}' has shape (${a.shape}), the parameter (${w.shape})`, 'SHAPE_MISMATCH');
        const bytes = Buffer.from(String(a.data), 'base64');
        if (!(a.dtype in ctor) || bytes.length !== w.size * ctor[a.dtype as 'float32'].BYTES_PER_ELEMENT) throw fail(`a state of '${p.name}' is truncated`);
        return { dtype: a.dtype, shape: a.shape, bytes };
      });
      checked.push([s.index, arrs]);
    }
    for (const s of this.states.values()) dispose(s);
    this.states.clear();
    for (const [index, arrs] of checked) {
      this.states.set(index, arrs.map(({ dtype, shape, bytes }) => {
        const C = ctor[dtype];
        const t = new C(bytes.length / C.BYTES_PER_ELEMENT);
        new Uint8Array(t.buffer).set(bytes);
        const flat = array(t, { dtype });
        const r = keep(flat.reshape(shape));
        flat.dispose();
        return r;
      }));
    }
    this.optimizer.setStateInfo(doc.info);
  }

  /** Frees the optimizer's states (the parameters are not the trainer's). */
  dispose(): void {
    this.dist?.dispose();
    for (const s of this.states.values()) dispose(s);
    this.states.clear();
  }
  /** `using trainer = new Trainer(...)` frees the states at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
