import { fail, ok, type Result } from '../errors.js';
import type { Template } from '../template/types.js';
import type { HostShare } from './record.js';

/**
 * HOST_SHARE arithmetic (reference §2.5, §12.2, `HostShare.cc`). CPU is in CPU×100 (one core =
 * 100), memory in KB.
 *
 * MAX_CPU = TOTAL_CPU − RESERVED_CPU and MAX_MEM = TOTAL_MEM − RESERVED_MEM, where RESERVED_* comes
 * from the host template, else from its cluster's template, and is either absolute (CPU×100, KB)
 * or a percentage of the total (`"10%"`). A negative reservation overcommits: RESERVED_CPU = -200
 * on an 8-core host gives MAX_CPU 1000 (`set_reserved_metric`). MAX never goes below 0.
 *
 * CPU_USAGE / MEM_USAGE are the sum of the VMs placed on the host (VM CPU×100, MEMORY MB×1024).
 * Adding a VM is refused when it does not fit under MAX unless `enforce` is off (an admin's
 * `onevm deploy` without enforce); removing never takes a figure below 0.
 */

/** A reservation as written in a template: absolute or a percentage of the total. */
export type Reservation =
  | { readonly kind: 'none' }
  | { readonly kind: 'absolute'; readonly value: number }
  | { readonly kind: 'percent'; readonly value: number };

/** Parse RESERVED_CPU / RESERVED_MEM: `''`, `"-200"`, `"512000"`, `"10%"`, `"-25%"`. */
export function parseReservation(text: string | undefined): Result<Reservation> {
  const value = (text ?? '').trim();
  if (value === '') return ok({ kind: 'none' });
  const m = /^(-?\d+(?:\.\d+)?)(%?)$/.exec(value);
  if (m === null) {
    return fail(
      'TEMPLATE_INVALID',
      `"${value}" is not a reservation: use a number (CPU×100 or KB) or a percentage like 10%`,
    );
  }
  const n = Number(m[1]);
  if (m[2] === '%') return ok({ kind: 'percent', value: n });
  if (!Number.isInteger(n)) {
    return fail(
      'TEMPLATE_INVALID',
      `"${value}" is not a reservation: an absolute one is a whole number (CPU×100 or KB)`,
    );
  }
  return ok({ kind: 'absolute', value: n });
}

/** MAX from TOTAL and a reservation; a reservation that cannot be parsed reserves nothing, as in OpenNebula. */
export function maxFromReservation(total: number, reservation: string | undefined): number {
  const parsed = parseReservation(reservation);
  if (!parsed.ok || parsed.value.kind === 'none') return Math.max(0, total);
  const r = parsed.value;
  const max = r.kind === 'absolute' ? total - r.value : Math.trunc(total * (1 - r.value / 100));
  return Math.max(0, max);
}

function single(template: Template | undefined, name: string): string | undefined {
  const first = template?.[name]?.[0];
  return typeof first === 'string' && first.trim() !== '' ? first.trim() : undefined;
}

/** RESERVED_CPU / RESERVED_MEM in effect: the host's template wins over its cluster's. */
export function effectiveReservations(
  hostTemplate: Template,
  clusterTemplate?: Template,
): { readonly cpu: string | undefined; readonly mem: string | undefined } {
  return {
    cpu: single(hostTemplate, 'RESERVED_CPU') ?? single(clusterTemplate, 'RESERVED_CPU'),
    mem: single(hostTemplate, 'RESERVED_MEM') ?? single(clusterTemplate, 'RESERVED_MEM'),
  };
}

/** New TOTAL figures from a probe (TOTALCPU, TOTALMEMORY) or new reservations: recompute MAX. */
export function updateShareCapacity(
  share: HostShare,
  capacity: {
    readonly totalCpu: number;
    readonly totalMem: number;
    readonly reservedCpu?: string;
    readonly reservedMem?: string;
  },
): HostShare {
  const totalCpu = Math.max(0, Math.trunc(capacity.totalCpu));
  const totalMem = Math.max(0, Math.trunc(capacity.totalMem));
  return {
    ...share,
    totalCpu,
    totalMem,
    maxCpu: maxFromReservation(totalCpu, capacity.reservedCpu),
    maxMem: maxFromReservation(totalMem, capacity.reservedMem),
  };
}

/** What one VM takes from a host: CPU×100, memory in KB. */
export interface VmAllocation {
  readonly cpu: number;
  readonly mem: number;
}

/**
 * A VM's allocation from its template figures: CPU (cores, may be fractional) and MEMORY (MB).
 * CPU is rounded, where OpenNebula truncates `(int)(CPU * 100)` (0.29 → 28).
 */
export function vmAllocation(cpu: number, memoryMb: number): VmAllocation {
  return { cpu: Math.max(0, Math.round(cpu * 100)), mem: Math.max(0, Math.round(memoryMb * 1024)) };
}

export function freeCpu(share: HostShare): number {
  return Math.max(0, share.maxCpu - share.cpuUsage);
}

export function freeMem(share: HostShare): number {
  return Math.max(0, share.maxMem - share.memUsage);
}

/** Does the VM fit under MAX? CPU is checked first, as `HostShare::test_compute` does. */
export function fitsOnHost(share: HostShare, vm: VmAllocation): Result<VmAllocation> {
  if (vm.cpu > freeCpu(share)) {
    return fail('HOST_CAPACITY', `not enough CPU: requested ${vm.cpu}, available ${freeCpu(share)}`);
  }
  if (vm.mem > freeMem(share)) {
    return fail('HOST_CAPACITY', `not enough memory: requested ${vm.mem} KB, available ${freeMem(share)} KB`);
  }
  return ok(vm);
}

/** Place a VM on the host (deploy, migrate in). */
export function addVmToShare(
  share: HostShare,
  vm: VmAllocation,
  options: { readonly enforce?: boolean } = {},
): Result<HostShare> {
  if (vm.cpu < 0 || vm.mem < 0) {
    return fail('HOST_CAPACITY', `a VM cannot take negative capacity (CPU ${vm.cpu}, memory ${vm.mem} KB)`);
  }
  if (options.enforce ?? true) {
    const fits = fitsOnHost(share, vm);
    if (!fits.ok) return fits;
  }
  return ok({
    ...share,
    cpuUsage: share.cpuUsage + vm.cpu,
    memUsage: share.memUsage + vm.mem,
    runningVms: share.runningVms + 1,
  });
}

/** Take a VM off the host (epilog done, migrated out, deleted). */
export function removeVmFromShare(share: HostShare, vm: VmAllocation): HostShare {
  return {
    ...share,
    cpuUsage: Math.max(0, share.cpuUsage - Math.max(0, vm.cpu)),
    memUsage: Math.max(0, share.memUsage - Math.max(0, vm.mem)),
    runningVms: Math.max(0, share.runningVms - 1),
  };
}

export const EMPTY_HOST_SHARE: HostShare = {
  memUsage: 0,
  cpuUsage: 0,
  totalMem: 0,
  totalCpu: 0,
  maxMem: 0,
  maxCpu: 0,
  runningVms: 0,
};
