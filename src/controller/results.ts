import { NimbusError, type DomainError } from '../domain/errors.js';

/** Throws a domain Result's error as a NimbusError; returns its value otherwise. */
export function unwrap<T>(result: { ok: true; value: T } | { ok: false; error: DomainError }): T {
  if (!result.ok) throw new NimbusError(result.error.code, result.error.message, result.error.field);
  return result.value;
}
