/**
 * Column codecs shared by the row mappers: JSON text for nested values, 0/1 for booleans,
 * hex text for 64-bit ACL masks.
 */

export function toJson(value: unknown): string {
  return JSON.stringify(value);
}

export function fromJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

export function toFlag(value: boolean): number {
  return value ? 1 : 0;
}

export function fromFlag(value: number): boolean {
  return value !== 0;
}

/** Lower-case hex without 0x (OpenNebula's ACL wire form); a sign prefix keeps negatives exact. */
export function bigintToHex(value: bigint): string {
  return value < 0n ? `-${(-value).toString(16)}` : value.toString(16);
}

export function hexToBigint(text: string): bigint {
  return text.startsWith('-') ? -BigInt(`0x${text.slice(1)}`) : BigInt(`0x${text}`);
}
