/** Tables like OpenNebula's CLI (header row, columns separated by spaces) and `--json`. */
import type { CliIo } from './program.js';

export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string | number;
  /** Right-align (numbers); default left. */
  readonly right?: boolean;
}

export function printTable<T>(io: CliIo, columns: readonly Column<T>[], rows: readonly T[]): void {
  const cells = rows.map((row) => columns.map((c) => String(c.value(row))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: readonly string[]): string =>
    values
      .map((v, i) => (columns[i]!.right === true ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join(' ')
      .trimEnd();
  io.stdout(`${line(columns.map((c) => c.header))}\n`);
  for (const r of cells) io.stdout(`${line(r)}\n`);
}

export function printJson(io: CliIo, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

/** `KEY : value` lines for `show` (OpenNebula's layout). */
export function printFields(io: CliIo, title: string, fields: readonly [string, string | number][]): void {
  io.stdout(`${title}\n`);
  const width = Math.max(...fields.map(([k]) => k.length));
  for (const [k, v] of fields) io.stdout(`${k.padEnd(width)} : ${v}\n`);
}

/** A JSON template as OpenNebula text, for `show`. */
export function printTemplate(io: CliIo, title: string, template: Record<string, unknown>): void {
  io.stdout(`\n${title}\n`);
  for (const [name, value] of Object.entries(template)) {
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      if (typeof v === 'object' && v !== null) {
        const inner = Object.entries(v as Record<string, string>)
          .map(([k, s]) => `${k}="${s}"`)
          .join(', ');
        io.stdout(`${name}=[${inner}]\n`);
      } else {
        io.stdout(`${name}="${String(v)}"\n`);
      }
    }
  }
}

/** OpenNebula's permission string (um-u-----) from a PERMISSIONS block. */
export function permissionString(p: Record<string, number> | undefined): string {
  if (p === undefined) return '---------';
  const bit = (k: string, c: string): string => (p[k] === 1 ? c : '-');
  return ['OWNER', 'GROUP', 'OTHER']
    .map((w) => bit(`${w}_U`, 'u') + bit(`${w}_M`, 'm') + bit(`${w}_A`, 'a'))
    .join('');
}
