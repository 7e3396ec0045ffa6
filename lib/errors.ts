/**
 * Every code an NDArrayError can carry (API.md, "Error codes"). The native addon holds the one list
 * (native/src/core/error.h); this copy gives TypeScript its union type, and a test fails when the two
 * differ.
 */
export const ERROR_CODES = [
  'SHAPE_MISMATCH', 'DTYPE_MISMATCH', 'BAD_AXIS', 'OUT_OF_RANGE', 'BAD_ARGUMENT', 'DISPOSED',
  'NOT_RECORDED', 'GRAPH_FREED', 'NO_GRAD_INPUTS', 'NOT_REACHABLE', 'NOT_A_VARIABLE',
  'INPLACE_IN_GRAPH', 'INPLACE_MODIFIED', 'NOT_DIFFERENTIABLE', 'BAD_CUSTOM_GRAD', 'ASYNC_SCOPE',
  'OUT_OF_MEMORY', 'NOT_INITIALIZED', 'STALE_GRAD', 'BAD_FILE', 'MISSING_PARAMETER',
  'UNEXPECTED_PARAMETER', 'NO_MPI', 'DIST_FAILURE',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Every misuse of ndgrad throws this, with a `code` from the API contract. */
export class NDArrayError extends Error {
  readonly code: ErrorCode;
  constructor(message: string, code: ErrorCode) {
    super(message);
    this.name = 'NDArrayError';
    this.code = code;
  }
}
