/** Host capacity bookkeeping of the lifecycle: what a VM takes, and moving it on and off hosts. */
import { NimbusError } from '../../domain/errors.js';
import { addVmToShare, removeVmFromShare, vmAllocation, type VmAllocation } from '../../domain/host/share.js';
import { getSingle } from '../../domain/template/attributes.js';
import type { Template } from '../../domain/template/types.js';
import { VmState } from '../../domain/vm/index.js';
import type { VmRecord } from '../../domain/vm/record.js';
import type { Repositories } from '../../store/index.js';

/** A positive CPU / VCPU / MEMORY figure of a VM template, or `fallback`. */
export function figure(template: Template, name: string, fallback = 0): number {
  const n = Number(getSingle(template, name));
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

export function allocationOf(template: Template): VmAllocation {
  return vmAllocation(figure(template, 'CPU', 0), figure(template, 'MEMORY', 0));
}

/** States in which a VM holds capacity on its host (deploy added it, epilog has not removed it). */
export function holdsCapacity(vm: Pick<VmRecord, 'state' | 'lcmState'>): boolean {
  return vm.state === VmState.ACTIVE || vm.state === VmState.POWEROFF || vm.state === VmState.SUSPENDED;
}

/**
 * Adds or removes the VM's allocation on a host and its VM list. Idempotent: a VM already on
 * (or off) the host is left alone, so a re-fired step does not count twice.
 */
export async function moveCapacity(
  tx: Repositories,
  hostId: number,
  vmId: number,
  op: 'add' | 'remove',
  alloc: VmAllocation,
  enforce: boolean,
): Promise<void> {
  const host = await tx.hosts.find(hostId);
  if (host === undefined) return; // a deleted host: nothing to account on
  const present = host.vms.includes(vmId);
  if (op === 'add') {
    if (present) return;
    const share = addVmToShare(host.share, alloc, { enforce });
    if (!share.ok) {
      throw new NimbusError('HOST_CAPACITY', `host ${hostId} "${host.name}": ${share.error.message}`, 'host');
    }
    await tx.hosts.update({
      ...host,
      share: share.value,
      vms: [...host.vms, vmId],
    });
  } else {
    if (!present) return;
    const share = removeVmFromShare(host.share, alloc);
    await tx.hosts.update({
      ...host,
      share,
      vms: host.vms.filter((id) => id !== vmId),
    });
  }
}
