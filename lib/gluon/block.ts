// gluon.Block, HybridBlock, Sequential, HybridSequential. A block's children and parameters are its
// own enumerable properties (a Block, a Parameter, or an array of them), found in insertion order,
// plus its ParameterDict (`this.params.get(...)`) and registerChild's; names are structural
// (`features.3.gamma`), as MXNet's save_parameters writes them.
import { NDArrayError } from '../errors';
import { DType, NDArray } from '../ndarray';
import * as root from '../index';
import { Initializer } from './initializer';
import { initOptions, InitializeOptions, Parameter, ParameterDict } from './parameter';
import { loadParameters, LoadParametersOptions, saveParameters } from './params_io';

/** Where a parameter lives, so shareParameters can put another in its place. */
interface Slot {
  name: string;
  param: Parameter;
  replace(p: Parameter): void;
}

interface BlockState {
  name: string;
  params: ParameterDict;
  registered: [string, Block][];
}

const counters = new Map<string, number>();
const STATE = Symbol('blockState');

/** @internal the next MXNet 1.x block name for a class alias (dense0, dense1, ...) */
export function nextName(alias: string): string {
  const n = counters.get(alias) ?? 0;
  counters.set(alias, n + 1);
  return `${alias}${n}`;
}

/** The options every block takes (MXNet 1.x): `params` to share another block's ParameterDict. */
export interface BlockOptions {
  prefix?: string;
  params?: ParameterDict | null;
}

export class Block {
  constructor(opts: BlockOptions = {}) {
    const alias = (this.constructor as typeof Block).alias?.call(this) ?? this.constructor.name.toLowerCase();
    const shared = opts?.params ?? null;
    if (shared !== null && !(shared instanceof ParameterDict))
      throw new NDArrayError(`${this.constructor.name}: params must be a ParameterDict (another block's .params)`, 'BAD_ARGUMENT');
    const name = typeof opts?.prefix === 'string' ? opts.prefix.replace(/_$/, '') : nextName(alias);
    const state: BlockState = { name, params: new ParameterDict('', shared), registered: [] };
    Object.defineProperty(this, STATE, { value: state, enumerable: false });
  }
  /** The class's name in MXNet 1.x block names (dense0, conv1); subclasses may override. */
  static alias?(this: Block): string;

  /** @internal */
  private get _s(): BlockState {
    return (this as any)[STATE];
  }
  /** MXNet 1.x's name: the class alias and a per-class counter (dense0). */
  get name(): string {
    return this._s.name;
  }
  /** MXNet 1.x's name prefix (dense0_). */
  get prefix(): string {
    return this._s.name + '_';
  }
  /** @internal a parameter of this block's ParameterDict, or null when it has none of that name */
  _param(name: string): Parameter | null {
    return this._s.params.has(name) ? this._s.params.get(name) : null;
  }
  /** This block's own ParameterDict (MXNet 1.x): `this.params.get('weight', { shape })`. */
  get params(): ParameterDict {
    return this._s.params;
  }

  /** Registers a child under a computed name (default: the number of children so far). */
  registerChild<B extends Block>(block: B, name?: string): B {
    if (!(block instanceof Block)) throw new NDArrayError('registerChild: expected a Block', 'BAD_ARGUMENT');
    const key = name ?? String(this._children().length);
    if (this._children().some(([k]) => k === key)) throw new NDArrayError(`registerChild: a child named '${key}' exists`, 'BAD_ARGUMENT');
    this._s.registered.push([key, block]);
    return block;
  }

  /** @internal [name, child] in registration order: properties, then registerChild's */
  _children(): [string, Block][] {
    const out: [string, Block][] = [];
    for (const [k, v] of Object.entries(this)) {
      if (v instanceof Block) out.push([k, v]);
      else if (Array.isArray(v)) v.forEach((b, i) => b instanceof Block && out.push([`${k}.${i}`, b]));
    }
    return out.concat(this._s.registered);
  }
  /** @internal Own parameter slots: the ParameterDict's, then parameter properties. */
  private _ownSlots(): Slot[] {
    const slots: Slot[] = [];
    const dict = this._s.params;
    for (const [k, p] of dict) slots.push({ name: k, param: p, replace: (q) => dict.set(k, q) });
    for (const [k, v] of Object.entries(this)) {
      if (v instanceof Parameter) slots.push({ name: k, param: v, replace: (q) => ((this as any)[k] = q) });
      else if (Array.isArray(v))
        v.forEach((p, i) => p instanceof Parameter && slots.push({ name: `${k}.${i}`, param: p, replace: (q) => (v[i] = q) }));
    }
    return slots;
  }
  /** @internal */
  private _slots(prefix: string, into: Slot[], seen: Set<Block>): void {
    if (seen.has(this)) return;
    seen.add(this);
    for (const s of this._ownSlots()) into.push({ ...s, name: prefix + s.name });
    for (const [k, child] of this._children()) child._slots(`${prefix}${k}.`, into, seen);
  }

  /**
   * The parameters of this block and its descendants under structural names, each Parameter once
   * (a shared one under its first name). select: a regular expression matched at the start.
   */
  collectParams(select?: string | RegExp): ParameterDict {
    const slots: Slot[] = [];
    this._slots('', slots, new Set());
    let re: RegExp | null = null;
    if (select !== undefined && select !== null) {
      const src = select instanceof RegExp ? select.source : String(select);
      re = new RegExp(`^(?:${src})`, select instanceof RegExp ? select.flags.replace('g', '') : '');
    }
    const out = new ParameterDict();
    const taken = new Set<Parameter>();
    for (const s of slots) {
      if (taken.has(s.param) || (re && !re.test(s.name))) continue;
      taken.add(s.param);
      out.set(s.name, s.param);
    }
    return out;
  }

  /**
   * @internal every structural name with its parameter, a shared one under each of its names (what
   * MXNet's save_parameters writes without deduplicate, so saveParameters/loadParameters use this)
   */
  _allParams(): Map<string, Parameter> {
    const slots: Slot[] = [];
    this._slots('', slots, new Set());
    return new Map(slots.map((s) => [s.name, s.param]));
  }

  /** Uses the parameters of `shared` (structural names) in place of this block's own of the same name (which are disposed). */
  shareParameters(shared: Map<string, Parameter>): this {
    const slots: Slot[] = [];
    this._slots('', slots, new Set());
    for (const s of slots) {
      const p = shared.get(s.name);
      if (p && p !== s.param) {
        s.param.dispose();
        s.replace(p);
      }
    }
    return this;
  }

  /** Writes every parameter under its structural name (MXNet's save_parameters; .npz by the extension). */
  saveParameters(path: string): void {
    saveParameters(path, this._allParams());
  }
  /**
   * Reads the parameters by structural name from a file (MXNet 1.x NDArray file or 2.x .npz) or a
   * name -> NDArray record; everything is checked before any parameter changes.
   */
  loadParameters(from: string | Record<string, NDArray>, opts?: LoadParametersOptions): void {
    loadParameters(from, this._allParams(), opts);
  }
  initialize(a?: Initializer | string | InitializeOptions | null): void {
    const o = initOptions(a, `${this.name}.initialize`);
    this.collectParams().initialize(o);
  }
  zeroGrad(): void {
    this.collectParams().zeroGrad();
  }
  /** Converts every parameter to dtype: each child casts its own (BatchNorm keeps float32 for bfloat16, as MXNet for float16). */
  cast(dtype: DType): this {
    for (const s of this._ownSlots()) s.param.cast(dtype);
    for (const [, child] of this._children()) child.cast(dtype);
    return this;
  }
  /** ndgrad runs imperatively: returns the block unchanged. */
  hybridize(_active = true, _opts?: object): this {
    return this;
  }
  forward(..._args: unknown[]): unknown {
    throw new NDArrayError(`${this.constructor.name}: a Block must define forward(x, ...)`, 'BAD_ARGUMENT');
  }
  /** Frees every parameter's array and gradient. */
  dispose(): void {
    for (const p of this.collectParams().values()) p.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
  toString(): string {
    const kids = this._children().map(([k, b]) => `  (${k}): ${b.toString().replace(/\n/g, '\n  ')}`);
    return kids.length ? `${this.constructor.name}(\n${kids.join('\n')}\n)` : `${this.constructor.name}()`;
  }

  /** @internal own parameters by name (the keyword arguments of hybridForward) */
  _ownParams(): Record<string, Parameter> {
    const out: Record<string, Parameter> = {};
    for (const s of this._ownSlots()) out[s.name] = s.param;
    return out;
  }
}

/**
 * MXNet 1.x's HybridBlock: forward(x, ...args) finishes any deferred initialization (after
 * inferShape fills the unknown dimensions) and calls hybridForward(F = nd, x, ...args, params).
 */
export class HybridBlock extends Block {
  /** Fills the unknown (0) dimensions of this block's own parameters from the inputs. */
  inferShape(..._args: unknown[]): void {}
  hybridForward(_F: typeof root.nd, _x: NDArray, ..._args: unknown[]): NDArray {
    throw new NDArrayError(`${this.constructor.name}: a HybridBlock must define hybridForward(F, x, ...) or forward(x, ...)`, 'BAD_ARGUMENT');
  }
  forward(x: NDArray, ...args: unknown[]): NDArray {
    const own = this._ownParams();
    const ps = Object.values(own);
    if (ps.some((p) => p.isDeferred)) {
      this.inferShape(x, ...args);
      for (const p of ps) p._finishDeferredInit();
    }
    const arrays: Record<string, NDArray> = {};
    for (const [k, p] of Object.entries(own)) arrays[k] = p.data();
    return this.hybridForward(root.nd, x, ...args, arrays);
  }
}

function addChildren(self: Block, blocks: Block[]): void {
  for (const b of blocks) self.registerChild(b);
}

/** Runs its children in order. */
export class Sequential extends Block {
  constructor(opts?: BlockOptions) {
    super(opts);
  }
  add(...blocks: Block[]): this {
    addChildren(this, blocks);
    return this;
  }
  at(i: number): Block {
    const kids = this._children();
    const k = kids[i < 0 ? kids.length + i : i];
    if (!k) throw new NDArrayError(`${this.constructor.name}.at: index ${i} out of range for ${kids.length} blocks`, 'OUT_OF_RANGE');
    return k[1];
  }
  get length(): number {
    return this._children().length;
  }
  *[Symbol.iterator](): Iterator<Block> {
    for (const [, b] of this._children()) yield b;
  }
  /** Each child's output is the next one's input (extra arguments go to the first child). */
  forward(x: NDArray, ...args: unknown[]): NDArray {
    let y: unknown = x;
    for (const [, b] of this._children()) {
      y = b.forward(y, ...args);
      args = [];
    }
    return y as NDArray;
  }
}

export class HybridSequential extends Sequential {}
