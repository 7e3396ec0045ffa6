// Initializers (MXNet's mx.init): each fills a parameter's array in place, drawing from nd.random so
// that nd.random.seed makes initialization reproducible.
import { NDArrayError } from '../errors';
import { invoke } from '../dispatch';
import { tidy } from '../memory';
import { NDArray } from '../ndarray';
import { array } from '../creation';

/** Base class: a custom initializer overrides initWeight(name, arr) and writes into arr. */
export class Initializer {
  initWeight(name: string, arr: NDArray): void {
    throw new NDArrayError(`${this.constructor.name}: an Initializer must override initWeight(name, arr) (parameter '${name}')`, 'BAD_ARGUMENT');
  }
  /** @internal runs initWeight with its temporaries freed */
  _fill(name: string, arr: NDArray): void {
    tidy(() => {
      this.initWeight(name, arr);
    });
  }
}

function uniformInto(arr: NDArray, low: number, high: number): void {
  invoke('random_uniform', [], { low, high, shape: arr.shape, dtype: arr.dtype }, arr);
}
function normalInto(arr: NDArray, loc: number, scale: number): void {
  invoke('random_normal', [], { loc, scale, shape: arr.shape, dtype: arr.dtype }, arr);
}

export class Zero extends Initializer {
  initWeight(_name: string, arr: NDArray): void {
    arr.set(0);
  }
}
export class One extends Initializer {
  initWeight(_name: string, arr: NDArray): void {
    arr.set(1);
  }
}
export class Constant extends Initializer {
  constructor(readonly value: number) {
    super();
    if (typeof value !== 'number') throw new NDArrayError('init.Constant: value must be a number', 'BAD_ARGUMENT');
  }
  initWeight(_name: string, arr: NDArray): void {
    arr.set(this.value);
  }
}
/** Uniform on [-scale, scale]. */
export class Uniform extends Initializer {
  constructor(readonly scale = 0.07) {
    super();
  }
  initWeight(_name: string, arr: NDArray): void {
    uniformInto(arr, -this.scale, this.scale);
  }
}
/** Normal with mean 0 and standard deviation sigma. */
export class Normal extends Initializer {
  constructor(readonly sigma = 0.01) {
    super();
  }
  initWeight(_name: string, arr: NDArray): void {
    normalInto(arr, 0, this.sigma);
  }
}

export interface XavierOptions {
  rndType?: 'uniform' | 'gaussian';
  factorType?: 'avg' | 'in' | 'out';
  magnitude?: number;
}
/** Glorot: scale = sqrt(magnitude / factor), factor from fan-in/fan-out (kernel area included). */
export class Xavier extends Initializer {
  readonly rndType: 'uniform' | 'gaussian';
  readonly factorType: 'avg' | 'in' | 'out';
  readonly magnitude: number;
  constructor(opts: XavierOptions = {}) {
    super();
    this.rndType = opts.rndType ?? 'uniform';
    this.factorType = opts.factorType ?? 'avg';
    this.magnitude = opts.magnitude ?? 3;
    if (!['uniform', 'gaussian'].includes(this.rndType))
      throw new NDArrayError(`init.Xavier: unknown rndType '${this.rndType}' (uniform or gaussian)`, 'BAD_ARGUMENT');
    if (!['avg', 'in', 'out'].includes(this.factorType))
      throw new NDArrayError(`init.Xavier: unknown factorType '${this.factorType}' (avg, in or out)`, 'BAD_ARGUMENT');
  }
  initWeight(name: string, arr: NDArray): void {
    const s = arr.shape;
    if (s.length < 2)
      throw new NDArrayError(`init.Xavier: cannot initialize '${name}' of shape [${s}] (at least 2 dimensions needed)`, 'BAD_ARGUMENT');
    const hw = s.slice(2).reduce((a, b) => a * b, 1);
    const fanIn = s[1] * hw;
    const fanOut = s[0] * hw;
    const factor = this.factorType === 'avg' ? (fanIn + fanOut) / 2 : this.factorType === 'in' ? fanIn : fanOut;
    const scale = Math.sqrt(this.magnitude / factor);
    if (this.rndType === 'uniform') uniformInto(arr, -scale, scale);
    else normalInto(arr, 0, scale);
  }
}
/** He/Kaiming for PReLU: Xavier gaussian with magnitude 2 / (1 + slope²). */
export class MSRAPrelu extends Xavier {
  constructor(opts: { factorType?: 'avg' | 'in' | 'out'; slope?: number } = {}) {
    const slope = opts.slope ?? 0.25;
    super({ rndType: 'gaussian', factorType: opts.factorType ?? 'avg', magnitude: 2 / (1 + slope * slope) });
  }
}

/**
 * Orthogonal (Saxe et al.): a random matrix of shape (shape[0], rest) made orthonormal along its
 * shorter side (Gram-Schmidt in float64), times scale.
 */
export class Orthogonal extends Initializer {
  constructor(readonly scale = 1.414, readonly randType: 'uniform' | 'normal' = 'uniform') {
    super();
  }
  initWeight(name: string, arr: NDArray): void {
    const rows = arr.shape[0] ?? 1;
    const cols = arr.size / Math.max(rows, 1);
    if (arr.shape.length < 2)
      throw new NDArrayError(`init.Orthogonal: cannot initialize '${name}' of shape [${arr.shape}] (at least 2 dimensions needed)`, 'BAD_ARGUMENT');
    const draw = this.randType === 'uniform' ? invoke('random_uniform', [], { low: -1, high: 1, shape: [rows, cols], dtype: 'float64' })
      : invoke('random_normal', [], { loc: 0, scale: 1, shape: [rows, cols], dtype: 'float64' });
    const m = Array.from(draw.toTypedArray() as Float64Array);
    // orthonormalize the vectors of the shorter side: rows when rows <= cols, else columns
    const byRows = rows <= cols;
    const n = byRows ? rows : cols, len = byRows ? cols : rows;
    const at = (v: number, i: number): number => (byRows ? v * cols + i : i * cols + v);
    for (let v = 0; v < n; v++) {
      for (let u = 0; u < v; u++) {
        let d = 0;
        for (let i = 0; i < len; i++) d += m[at(v, i)] * m[at(u, i)];
        for (let i = 0; i < len; i++) m[at(v, i)] -= d * m[at(u, i)];
      }
      let norm = 0;
      for (let i = 0; i < len; i++) norm += m[at(v, i)] ** 2;
      norm = Math.sqrt(norm);
      for (let i = 0; i < len; i++) m[at(v, i)] /= norm;
    }
    for (let i = 0; i < m.length; i++) m[i] *= this.scale;
    arr.set(array(new Float64Array(m), { dtype: 'float64' }).reshape(arr.shape).astype(arr.dtype));
  }
}

const BY_NAME: Record<string, () => Initializer> = {
  zeros: () => new Zero(), zero: () => new Zero(), ones: () => new One(), one: () => new One(),
  uniform: () => new Uniform(), normal: () => new Normal(), xavier: () => new Xavier(),
  msraprelu: () => new MSRAPrelu(), orthogonal: () => new Orthogonal(),
};

/** @internal an initializer from an instance or MXNet's name ('zeros', 'xavier', ...); null stays null. */
export function createInit(init: Initializer | string | null | undefined, who: string): Initializer | null {
  if (init === null || init === undefined) return null;
  if (init instanceof Initializer) return init;
  if (typeof init === 'string' && BY_NAME[init.toLowerCase()]) return BY_NAME[init.toLowerCase()]();
  throw new NDArrayError(`${who}: unknown initializer ${typeof init === 'string' ? `'${init}'` : typeof init} (an init.* instance or one of ${Object.keys(BY_NAME).join(', ')})`, 'BAD_ARGUMENT');
}
