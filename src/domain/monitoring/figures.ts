/**
 * The figures of a monitoring sample (reference §12.2, §12.3) and how a downsampled bucket
 * combines them: a gauge is a level at one instant (averaged over the bucket), a counter only
 * grows (its last value in the bucket keeps rates computable), a total or a list is the last
 * one reported.
 */

export type MonitoringKind = 'host' | 'vm';

export const MONITORING_KINDS: readonly MonitoringKind[] = ['host', 'vm'];

export type FigureKind = 'gauge' | 'counter' | 'last';

/** Figures of a host sample: the numeric keys of the agent's `monitor-host` (§12.2, agent units). */
export const HOST_FIGURES = {
  /** cores × 100 */
  TOTALCPU: 'last',
  /** KB */
  TOTALMEMORY: 'last',
  USEDCPU: 'gauge',
  FREECPU: 'gauge',
  USEDMEMORY: 'gauge',
  FREEMEMORY: 'gauge',
  /** bytes, cumulative */
  NETRX: 'counter',
  NETTX: 'counter',
  /** MHz */
  CPUSPEED: 'last',
} as const satisfies Readonly<Record<string, FigureKind>>;

/** Figures of a VM sample: the MONITOR keys of `monitor-vms` (§12.3). */
export const VM_FIGURES = {
  /** percent of one core */
  CPU: 'gauge',
  /** KB */
  MEMORY: 'gauge',
  NETRX: 'counter',
  NETTX: 'counter',
  DISKRDBYTES: 'counter',
  DISKWRBYTES: 'counter',
  DISKRDIOPS: 'counter',
  DISKWRIOPS: 'counter',
  /** [{ID, SIZE MB}], kept as reported */
  DISK_SIZE: 'last',
} as const satisfies Readonly<Record<string, FigureKind>>;

export type HostFigure = keyof typeof HOST_FIGURES;
export type VmFigure = keyof typeof VM_FIGURES;

/** How many raw samples a bucket stands for (absent on a raw sample: 1). */
export const SAMPLES = 'SAMPLES';

const KINDS: Readonly<Record<string, FigureKind>> = { ...HOST_FIGURES, ...VM_FIGURES };

/** A key no table knows is kept as its last value: nothing is averaged by guess. */
export function figureKind(key: string): FigureKind {
  return Object.hasOwn(KINDS, key) ? KINDS[key]! : 'last';
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** The figures of a host report worth a time series: its numbers (HYPERVISOR, ARCH ... are not). */
export function hostFigures(report: Readonly<Record<string, unknown>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of Object.keys(HOST_FIGURES)) {
    const value = report[key];
    if (isFiniteNumber(value)) out[key] = value;
  }
  return out;
}

/** The figures of a VM's MONITOR block: its numbers, and DISK_SIZE as reported. */
export function vmFigures(monitor: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(VM_FIGURES)) {
    const value = monitor[key];
    if (key === 'DISK_SIZE' ? Array.isArray(value) : isFiniteNumber(value)) out[key] = value;
  }
  return out;
}

/**
 * The host record's MONITORING attributes from a host report, under the names OpenNebula stores
 * them (§12.2: CAPACITY FREE_CPU, USED_CPU, FREE_MEMORY, USED_MEMORY; SYSTEM NETRX, NETTX,
 * CPU_SPEED), as the text the record keeps.
 */
export function hostMonitoringAttributes(report: Readonly<Record<string, unknown>>): Record<string, string> {
  const names: readonly (readonly [string, HostFigure])[] = [
    ['FREE_CPU', 'FREECPU'],
    ['USED_CPU', 'USEDCPU'],
    ['FREE_MEMORY', 'FREEMEMORY'],
    ['USED_MEMORY', 'USEDMEMORY'],
    ['NETRX', 'NETRX'],
    ['NETTX', 'NETTX'],
    ['CPU_SPEED', 'CPUSPEED'],
  ];
  const out: Record<string, string> = {};
  for (const [name, key] of names) {
    const value = report[key];
    if (isFiniteNumber(value)) out[name] = String(value);
  }
  return out;
}
