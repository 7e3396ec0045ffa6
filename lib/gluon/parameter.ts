// gluon.Parameter and gluon.ParameterDict (MXNet 1.x Gluon). A parameter's array is an ordinary
// NDArray with attachGrad(gradReq), owned by the parameter (outside every tidy scope) until dispose.
import * as autograd from '../autograd';
import { NDArrayError } from '../errors';
import { invoke } from '../dispatch';
import { keep } from '../memory';
import { DType, DTYPES, NDArray } from '../ndarray';
import { createInit, Initializer, Uniform } from './initializer';
import { loadParameters, LoadParametersOptions, ParameterLike, saveParameters } from './params_io';

export type GradReq = 'write' | 'add' | 'null';
const GRAD_REQS: GradReq[] = ['write', 'add', 'null'];

// What the Trainer and the parameter files use of a parameter (declared with the files' functions).
export type { ParameterLike } from './params_io';

export interface ParameterOptions {
  /** 0 marks a dimension unknown until the first forward */
  shape?: number | number[];
  dtype?: DType;
  init?: Initializer | string | null;
  gradReq?: GradReq;
  lrMult?: number;
  wdMult?: number;
  allowDeferredInit?: boolean;
}
const PARAM_KEYS = new Set(['shape', 'dtype', 'init', 'gradReq', 'lrMult', 'wdMult', 'allowDeferredInit']);

export interface InitializeOptions {
  init?: Initializer | string | null;
  /** used when the parameter has no init of its own (Block/ParameterDict pass their init here) */
  defaultInit?: Initializer | string | null;
  forceReinit?: boolean;
  /** MXNet's context: cpu(0), the one context, is accepted */
  ctx?: unknown;
}
const INIT_KEYS = new Set(['init', 'defaultInit', 'forceReinit', 'ctx']);

/** @internal reads initialize's argument: an initializer (or its name) or an options object. */
export function initOptions(a: Initializer | string | InitializeOptions | null | undefined, who: string): InitializeOptions {
  if (a === undefined || a === null) return {};
  if (a instanceof Initializer || typeof a === 'string') return { init: a };
  if (typeof a !== 'object') throw new NDArrayError(`${who}: expected an initializer or an options object`, 'BAD_ARGUMENT');
  checkKeys(a, INIT_KEYS, who);
  checkCtx(a.ctx, who);
  return a;
}

/** MXNet's ctx arguments port unchanged for the one context, cpu(0); any other is an error. */
function checkCtx(ctx: unknown, who: string): void {
  if (ctx === undefined || ctx === null) return;
  for (const c of Array.isArray(ctx) ? ctx : [ctx]) {
    const s = String(c);
    if (s !== 'cpu(0)' && s !== 'cpu')
      throw new NDArrayError(`${who}: context ${s} is not available (ndgrad runs on one context, cpu(0))`, 'BAD_ARGUMENT');
  }
}

/** @internal misspelled option keys are an error, never ignored */
export function checkKeys(opts: object, allowed: ReadonlySet<string>, who: string): void {
  for (const k of Object.keys(opts))
    if (!allowed.has(k)) throw new NDArrayError(`${who}: unknown option '${k}' (known: ${[...allowed].join(', ')})`, 'BAD_ARGUMENT');
}

function toShape(s: number | number[] | undefined, who: string): number[] {
  if (s === undefined) return [0];
  const shape = typeof s === 'number' ? [s] : s;
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0))
    throw new NDArrayError(`${who}: shape must be a list of non-negative integers (0 = unknown), got ${JSON.stringify(s)}`, 'BAD_ARGUMENT');
  return [...shape];
}

export class Parameter implements ParameterLike {
  readonly name: string;
  lrMult: number;
  wdMult: number;
  init: Initializer | null;
  allowDeferredInit: boolean;
  /** @internal */
  private _shape: number[];
  /** @internal */
  private _dtype: DType;
  /** @internal */
  private _gradReq: GradReq;
  /** @internal */
  private _data: NDArray | null = null;
  /** @internal the initializer waiting for the shape (deferred initialization) */
  private _pending: Initializer | null = null;

  constructor(name: string, opts: ParameterOptions = {}) {
    if (typeof name !== 'string') throw new NDArrayError('Parameter: name must be a string', 'BAD_ARGUMENT');
    checkKeys(opts, PARAM_KEYS, `Parameter '${name}'`);
    this.name = name;
    this._shape = toShape(opts.shape, `Parameter '${name}'`);
    this._dtype = checkDtype(opts.dtype ?? 'float32', name);
    this.init = createInit(opts.init, `Parameter '${name}'`);
    this._gradReq = checkGradReq(opts.gradReq ?? 'write', name);
    this.lrMult = opts.lrMult ?? 1;
    this.wdMult = opts.wdMult ?? 1;
    this.allowDeferredInit = opts.allowDeferredInit ?? false;
  }

  get shape(): number[] {
    return [...this._shape];
  }
  /** Fills unknown (0) dimensions; a known dimension cannot change. */
  set shape(s: number[]) {
    const next = toShape(s, `Parameter '${this.name}'`);
    const ok = next.length === this._shape.length && this._shape.every((d, i) => d === 0 || d === next[i]);
    if (!ok && this._shape.some((d) => d !== 0) || (this._data && !ok))
      throw new NDArrayError(`Parameter '${this.name}': shape [${next}] is incompatible with [${this._shape}]`, 'SHAPE_MISMATCH');
    this._shape = next;
  }
  get dtype(): DType {
    return this._dtype;
  }
  get gradReq(): GradReq {
    return this._gradReq;
  }
  set gradReq(req: GradReq) {
    checkGradReq(req, this.name);
    if (req === this._gradReq) return;
    this._gradReq = req;
    if (this._data) this.attach();
  }
  /** True once the array exists. */
  get isInitialized(): boolean {
    return this._data !== null;
  }
  /** True while initialization waits for the first forward to give the shape. */
  get isDeferred(): boolean {
    return this._pending !== null;
  }

  /** The live array (writes into it change the parameter). */
  data(): NDArray {
    if (this._data) return this._data;
    if (this._pending)
      throw new NDArrayError(`Parameter '${this.name}': its shape [${this._shape}] is not known yet (deferred initialization finishes at the first forward)`, 'NOT_INITIALIZED');
    throw new NDArrayError(`Parameter '${this.name}' has not been initialized (call initialize() on it or its block)`, 'NOT_INITIALIZED');
  }
  /** The live gradient buffer. */
  grad(): NDArray {
    const d = this.data();
    if (this._gradReq === 'null' || !d.grad)
      throw new NDArrayError(`Parameter '${this.name}': no gradient, its gradReq is 'null'`, 'BAD_ARGUMENT');
    return d.grad;
  }
  /** [data()] (MXNet's per-context list; ndgrad has one context) */
  listData(): NDArray[] {
    return [this.data()];
  }
  listGrad(): NDArray[] {
    return [this.grad()];
  }

  /** Copies x's values in (cast to the parameter's dtype); initializes an uninitialized parameter with them. */
  setData(x: NDArray): void {
    if (!(x instanceof NDArray)) throw new NDArrayError(`Parameter '${this.name}': setData expects an NDArray`, 'BAD_ARGUMENT');
    if (!this._data) {
      this.shape = x.shape;
      this._pending = null;
      this.allocate();
    } else if (x.shape.length !== this._shape.length || x.shape.some((d, i) => d !== this._shape[i]))
      throw new NDArrayError(`Parameter '${this.name}': setData got shape [${x.shape}], the parameter has [${this._shape}]`, 'SHAPE_MISMATCH');
    const d = this._data as NDArray;
    autograd.pause(() => {
      if (x.dtype === d.dtype) d.set(x);
      else {
        const c = x.astype(d.dtype);
        d.set(c);
        c.dispose();
      }
    }, { trainMode: autograd.isTraining() });
  }

  initialize(a?: Initializer | string | InitializeOptions | null): void {
    const o = initOptions(a, `Parameter '${this.name}'.initialize`);
    if (this._data && !o.forceReinit) return; // MXNet warns and keeps the values
    const chosen = createInit(o.init, 'initialize') ?? this.init ?? createInit(o.defaultInit, 'initialize') ?? new Uniform();
    if (this._shape.some((d) => d === 0)) {
      if (!this.allowDeferredInit)
        throw new NDArrayError(`Parameter '${this.name}': cannot initialize with unknown shape [${this._shape}] (give the shape or allowDeferredInit)`, 'NOT_INITIALIZED');
      this.release();
      this._pending = chosen;
      return;
    }
    this._pending = null;
    const fresh = !this._data;
    if (fresh) this.allocate();
    try {
      this.fill(chosen);
    } catch (e) {
      if (fresh) this.release(); // a failed initialization leaves the parameter uninitialized
      throw e;
    }
  }

  /** @internal called by a block at its first forward once the shape is known */
  _finishDeferredInit(): void {
    if (!this._pending) return;
    if (this._shape.some((d) => d === 0))
      throw new NDArrayError(`Parameter '${this.name}': the first forward left its shape [${this._shape}] unknown`, 'NOT_INITIALIZED');
    const chosen = this._pending;
    this.allocate();
    try {
      this.fill(chosen);
    } catch (e) {
      this.release(); // still deferred: the next forward tries again
      throw e;
    }
    this._pending = null;
  }

  zeroGrad(): void {
    if (this._data && this._data.grad && this._gradReq !== 'null') this._data.grad.set(0);
  }

  /** Converts the array (and sets the dtype used at a later initialization). */
  cast(dtype: DType): void {
    checkDtype(dtype, this.name);
    this._dtype = dtype;
    if (!this._data || this._data.dtype === dtype) return;
    const old = this._data;
    this._data = keep(autograd.pause(() => old.astype(dtype)));
    old.dispose();
    this.attach();
  }

  /** Frees the array and its gradient; the parameter is uninitialized again. */
  dispose(): void {
    this.release();
    this._pending = null;
  }

  toString(): string {
    return `Parameter ${this.name} (shape=(${this._shape.join(', ')}), dtype=${this._dtype})`;
  }

  /** @internal */
  private release(): void {
    if (this._data) this._data.dispose();
    this._data = null;
  }
  /** @internal */
  private allocate(): void {
    this.release();
    const d = invoke('full', [], { shape: this._shape, value: 0, dtype: this._dtype }) as NDArray;
    this._data = keep(d); // out of tidy's reach; the GC backstop still frees a forgotten one
    this.attach();
  }
  /** @internal */
  private attach(): void {
    const d = this._data as NDArray;
    if (this._gradReq === 'null') {
      if (d.grad) d.dropGrad();
    } else d.attachGrad(this._gradReq);
  }
  /** @internal */
  private fill(chosen: Initializer): void {
    const d = this._data as NDArray;
    // never recorded, never an in-place write inside the graph (deferred init may run inside record())
    autograd.pause(() => chosen._fill(this.name, d), { trainMode: autograd.isTraining() });
  }
}

function checkGradReq(req: unknown, name: string): GradReq {
  if (!GRAD_REQS.includes(req as GradReq))
    throw new NDArrayError(`Parameter '${name}': gradReq must be 'write', 'add' or 'null', got ${JSON.stringify(req)}`, 'BAD_ARGUMENT');
  return req as GradReq;
}
function checkDtype(dtype: unknown, name: string): DType {
  if (!DTYPES.includes(dtype as DType))
    throw new NDArrayError(`Parameter '${name}': unknown dtype ${JSON.stringify(dtype)} (${DTYPES.join(', ')})`, 'BAD_ARGUMENT');
  return dtype as DType;
}

const SETTABLE = new Set(['gradReq', 'lrMult', 'wdMult']);

/** A Map from name to Parameter (MXNet 1.x's ParameterDict). */
export class ParameterDict extends Map<string, Parameter> {
  readonly prefix: string;
  /** parameters looked up here before get() creates one (MXNet 1.x's `params=` sharing) */
  readonly shared: ParameterDict | null;
  constructor(prefix = '', shared: ParameterDict | null = null) {
    super();
    this.prefix = prefix;
    this.shared = shared;
  }
  /**
   * The parameter under prefix + name: an existing one (its unknown dimensions filled from
   * opts.shape), one of the shared dict, or a new one (deferred initialization allowed).
   */
  get(name: string, opts?: ParameterOptions): Parameter {
    const full = this.prefix + name;
    let p = super.get(full);
    if (!p && this.shared && this.shared.has(full)) {
      p = this.shared.get(full);
      this.set(full, p);
    }
    if (!p) {
      p = new Parameter(full, { allowDeferredInit: true, ...(opts ?? {}) });
      this.set(full, p);
    } else if (opts?.shape !== undefined) {
      const want = toShape(opts.shape, full);
      if (want.length !== p.shape.length) throw new NDArrayError(`ParameterDict: '${full}' has shape [${p.shape}], not [${want}]`, 'SHAPE_MISMATCH');
      p.shape = p.shape.map((d, i) => (d === 0 ? want[i] : want[i] === 0 ? d : want[i]));
    }
    return p;
  }
  initialize(a?: Initializer | string | InitializeOptions | null): void {
    const o = initOptions(a, 'ParameterDict.initialize');
    for (const p of this.values()) p.initialize({ defaultInit: o.init ?? o.defaultInit, forceReinit: o.forceReinit });
  }
  zeroGrad(): void {
    for (const p of this.values()) p.zeroGrad();
  }
  /** Sets gradReq, lrMult or wdMult on every parameter. */
  setattr(name: 'gradReq', value: GradReq): void;
  setattr(name: 'lrMult' | 'wdMult', value: number): void;
  setattr(name: 'gradReq' | 'lrMult' | 'wdMult', value: GradReq | number): void {
    if (!SETTABLE.has(name))
      throw new NDArrayError(`ParameterDict.setattr: '${name}' is not settable (gradReq, lrMult, wdMult)`, 'BAD_ARGUMENT');
    for (const p of this.values()) (p as unknown as Record<string, unknown>)[name] = value;
  }
  /** Adds other's parameters (same name must be the same object). */
  update(other: Map<string, Parameter>): void {
    for (const [k, v] of other) {
      const mine = super.get(k);
      if (mine && mine !== v) throw new NDArrayError(`ParameterDict.update: a different parameter named '${k}' is already here`, 'BAD_ARGUMENT');
      this.set(k, v);
    }
  }
  /** Saves every parameter under its name (MXNet's NDArray file, or .npz by the extension). */
  save(path: string): void {
    saveParameters(path, this);
  }
  /** Loads values by name from a file or a name -> NDArray record; all-or-nothing. */
  load(from: string | Record<string, NDArray>, opts?: LoadParametersOptions): void {
    loadParameters(from, this, opts);
  }
  dispose(): void {
    for (const p of this.values()) p.dispose();
  }
  toString(): string {
    return `ParameterDict (\n${[...this.values()].map((p) => '  ' + p.toString()).join('\n')}\n)`;
  }
}
