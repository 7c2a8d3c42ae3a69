import { NimbusError } from '../domain/errors.js';

/**
 * Store error codes. Callers act on the code: NOT_FOUND and NAME_TAKEN go back to the user,
 * CONFLICT means "read again and retry", IN_USE means "release the dependants first".
 */
export const StoreErrorCode = {
  NOT_FOUND: 'NOT_FOUND',
  NAME_TAKEN: 'NAME_TAKEN',
  CONFLICT: 'CONFLICT',
  LEASE_TAKEN: 'LEASE_TAKEN',
  ALREADY_EXISTS: 'ALREADY_EXISTS',
  IN_USE: 'IN_USE',
  SCHEMA_TOO_NEW: 'SCHEMA_TOO_NEW',
  NESTED_TRANSACTION: 'NESTED_TRANSACTION',
} as const;

export type DriverErrorKind = 'unique' | 'foreign_key' | 'retryable' | 'other';

/** What a better-sqlite3 or pg error means, from its code (SQLite extended codes, SQLSTATE). */
export function classifyDriverError(error: unknown): DriverErrorKind {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return 'other';
  switch (code) {
    case 'SQLITE_CONSTRAINT_UNIQUE':
    case 'SQLITE_CONSTRAINT_PRIMARYKEY':
    case '23505':
      return 'unique';
    case 'SQLITE_CONSTRAINT_FOREIGNKEY':
    case '23503':
      return 'foreign_key';
    case 'SQLITE_CONSTRAINT_TRIGGER':
      // SQLite reports ON DELETE RESTRICT through its trigger machinery.
      return /FOREIGN KEY/i.test((error as Error).message) ? 'foreign_key' : 'other';
    case 'SQLITE_BUSY':
    case 'SQLITE_BUSY_SNAPSHOT':
    case '40001': // serialization_failure
    case '40P01': // deadlock_detected
      return 'retryable';
    default:
      return 'other';
  }
}

export function notFound(noun: string, id: number | string): NimbusError {
  return new NimbusError(StoreErrorCode.NOT_FOUND, `${noun} ${id} does not exist`);
}

export function conflict(noun: string, id: number | string): NimbusError {
  return new NimbusError(StoreErrorCode.CONFLICT, `${noun} ${id} was changed by another request; retry`);
}

/**
 * Translate the driver errors a caller can act on; anything else (a bug, a lost connection) is
 * rethrown as it is. `onUnique` and `onForeignKey` word the message for the statement at hand.
 */
export async function translateDriverErrors<T>(
  statement: () => Promise<T>,
  words: { onUnique?: () => NimbusError; onForeignKey?: () => NimbusError },
): Promise<T> {
  try {
    return await statement();
  } catch (error) {
    throw translated(error, words) ?? error;
  }
}

function translated(
  error: unknown,
  words: { onUnique?: () => NimbusError; onForeignKey?: () => NimbusError },
): NimbusError | undefined {
  if (error instanceof NimbusError) return error;
  switch (classifyDriverError(error)) {
    case 'unique':
      return words.onUnique?.();
    case 'foreign_key':
      return words.onForeignKey?.();
    case 'retryable':
      return new NimbusError(
        StoreErrorCode.CONFLICT,
        `the database refused a concurrent change (${(error as Error).message}); retry`,
      );
    default:
      return undefined;
  }
}
