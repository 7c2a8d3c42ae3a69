/** Shared helpers for the template tests. */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { NimbusError } from '../../../src/domain/errors.js';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const fixturesDir = fileURLToPath(new URL('../../fixtures/templates/', import.meta.url));

/** Runs `fn`, expects a NimbusError and returns it (any other outcome fails the test). */
export function expectNimbusError(fn: () => unknown): NimbusError & { line?: number; column?: number } {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown !== undefined, 'expected an error, got a result');
  assert.ok(thrown instanceof NimbusError, `expected a NimbusError, got ${String(thrown)}`);
  return thrown as NimbusError & { line?: number; column?: number };
}
