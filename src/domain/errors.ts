/**
 * Errors are values: a stable machine code, a message a person can act on, and where useful the
 * field it is about (e.g. `DISK[0]/IMAGE`). The API maps codes to HTTP statuses; the CLI prints
 * the message; XML-RPC maps them to OpenNebula's error codes.
 */
export interface DomainError {
  readonly code: string;
  readonly message: string;
  readonly field?: string;
}

export type Result<T, E = DomainError> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

export function fail(
  code: string,
  message: string,
  field?: string,
): { readonly ok: false; readonly error: DomainError } {
  return { ok: false, error: field === undefined ? { code, message } : { code, message, field } };
}

/** Thrown form of a DomainError, for code paths (parsers, the store) where throwing is clearer. */
export class NimbusError extends Error implements DomainError {
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'NimbusError';
  }
}
