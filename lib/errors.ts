/** Every misuse of ndgrad throws this, with a `code` from the API contract. */
export class NDArrayError extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.name = 'NDArrayError';
    this.code = code;
  }
}
