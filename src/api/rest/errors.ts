import type { DomainError } from '../../domain/errors.js';

/** HTTP status per error code. Any other NimbusError is a 400 (bad input or wrong state). */
const STATUS: Readonly<Record<string, number>> = {
  AUTHENTICATION: 401,
  AUTHORIZATION: 403,
  NOT_FOUND: 404,
  NAME_TAKEN: 409,
  CONFLICT: 409,
  IN_USE: 409,
  LEASE_TAKEN: 409,
  ALREADY_EXISTS: 409,
  ACTION: 409,
  ACTION_NOT_ALLOWED: 409,
  IMAGE_STATE: 409,
  IMAGE_IN_USE: 409,
  CLUSTER_NOT_EMPTY: 409,
  IMAGE_TYPE: 409,
  DATASTORE_PERSISTENT_ONLY: 409,
  DATASTORE_DISABLED: 409,
  DATASTORE_FULL: 409,
  NO_FREE_LEASE: 409,
  IMAGE_CANCELLED: 409,
  HOST_CAPACITY: 409,
  HOST_STATE: 409,
  EVENT_WRONG_STATE: 409,
  UNAVAILABLE: 503,
  UPGRADE_REQUIRED: 426,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INTERNAL: 500,
  SCHEMA_TOO_NEW: 500,
  NESTED_TRANSACTION: 500,
};

export function statusOf(code: string): number {
  return STATUS[code] ?? 400;
}

/** The JSON body of every error answer. */
export interface ErrorBody {
  readonly code: string;
  readonly message: string;
  readonly field?: string;
}

export function errorBody(error: DomainError): ErrorBody {
  return error.field === undefined
    ? { code: error.code, message: error.message }
    : { code: error.code, message: error.message, field: error.field };
}
