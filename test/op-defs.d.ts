// Types of test/op-defs.js (plain JS, so node scripts such as the fuzz driver can load it).
export interface OpRow {
  kind: string;
  name: string;
  aliases: string[];
  differentiable: boolean;
  /** what backward reads: NONE, X, Y, XY (binary: NONE, AB, ABY) */
  save: string;
  /** the derivative column as written: GRAD(...) or NO_GRAD */
  grad: string;
  /** where the SIMD kernels are compared with the reference: [lo, hi] (binary: [lo_a, hi_a, lo_b, hi_b]) */
  range: number[];
  /** where values are checked against PyTorch and gradients by finite differences */
  gradRange: number[];
  /** the PyTorch expression of x (binary: a, b) */
  torch: string;
}
export interface UnaryRow extends OpRow {
  keepsInt: boolean;
}
export interface BinaryRow extends OpRow {
  floatResult: boolean;
}
export function unaryRows(): UnaryRow[];
export function binaryRows(): BinaryRow[];
export function jsName(row: OpRow): string;
export function macroCalls(text: string, macro: string): string[][];
