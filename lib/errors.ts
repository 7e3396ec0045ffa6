// NDArrayError, the one error ndgrad throws for a misuse; its codes come from the native list.
import type { NDArrayErrorCode } from './error_codes';

export type { NDArrayErrorCode };
/** The earlier name of NDArrayErrorCode. */
export type ErrorCode = NDArrayErrorCode;

/** Every misuse of ndgrad throws this, with a `code` from the API contract. */
export class NDArrayError extends Error {
  readonly code: NDArrayErrorCode;
  constructor(message: string, code: NDArrayErrorCode) {
    super(message);
    this.name = 'NDArrayError';
    this.code = code;
  }
}
