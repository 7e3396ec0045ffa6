// The init namespace (MXNet's mx.init).
export { Initializer, Zero, One, Constant, Uniform, Normal, Xavier, MSRAPrelu, Orthogonal } from './initializer';
export type { XavierOptions } from './initializer';
