/**
 * The one catalogue of errors the API answers with. Each names its HTTP status; a bad request
 * names the field, so the caller knows what to fix.
 */
export class RunlogError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'RunlogError';
  }
}

export function badRequest(field: string, problem: string): RunlogError {
  return new RunlogError(400, 'BAD_REQUEST', `${field}: ${problem}`, field);
}

export function notFound(what: string, hint?: string): RunlogError {
  return new RunlogError(404, 'NOT_FOUND', `${what} not found${hint ? `: ${hint}` : ''}`);
}

/** The hub cannot serve this now, through no fault of the request: retry later, or elsewhere. */
export function unavailable(code: string, message: string): RunlogError {
  return new RunlogError(503, code, message);
}

export function conflict(message: string): RunlogError {
  return new RunlogError(409, 'CONFLICT', message);
}

export function unauthorized(message: string): RunlogError {
  return new RunlogError(401, 'UNAUTHORIZED', message);
}

export function forbidden(message: string, code = 'FORBIDDEN'): RunlogError {
  return new RunlogError(403, code, message);
}
