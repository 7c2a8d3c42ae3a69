import assert from 'node:assert/strict';
import { NimbusError } from '../../../src/domain/errors.js';

/** Asserts that `work` rejects with a NimbusError of this code, and returns it for more checks. */
export async function rejectsWith(work: () => Promise<unknown>, code: string): Promise<NimbusError> {
  try {
    await work();
  } catch (error) {
    assert.ok(error instanceof NimbusError, `expected NimbusError ${code}, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}
