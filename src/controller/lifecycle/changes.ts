/**
 * Changes set up by a request and settled by the driver result (OpenNebula's attach/detach
 * markers): the DISK or NIC in flight carries `ATTACH = "YES"`, a live resize keeps the former
 * figures in `RESIZE_PREVIOUS`, a disk resize the new size in the DISK's `RESIZE`. `commit` keeps
 * the change, `rollback` undoes it (the image reference or lease is given back), `clear` drops
 * the marker.
 */
import { releaseImage } from '../../domain/image/index.js';
import { getVector, removeAttribute, setSingle } from '../../domain/template/attributes.js';
import type { Template, VectorValue } from '../../domain/template/types.js';
import type { ChangeKind } from '../../domain/vm/plan.js';
import type { VmRecord } from '../../domain/vm/record.js';
import type { Repositories } from '../../store/index.js';
import type { ControllerContext } from '../context.js';
import { releaseQuota } from '../quotas.js';
import { allocationOf, holdsCapacity, moveCapacity } from './capacity.js';

/** What a hotplug request is about. */
export interface PendingChange {
  readonly diskId?: number;
  readonly nicId?: number;
  /** disk-resize: new size, MB. */
  readonly size?: number;
}

const isMarked = (v: VectorValue): boolean => (v['ATTACH'] ?? '').toUpperCase() === 'YES';

function withoutMarker(v: VectorValue): VectorValue {
  const { ATTACH: _attach, ...rest } = v;
  return rest;
}

function replaceVectors(template: Template, name: string, vectors: readonly VectorValue[]): Template {
  const { [name]: _old, ...rest } = template;
  return vectors.length === 0 ? rest : { ...rest, [name]: vectors };
}

async function releaseDiskImage(
  tx: Repositories,
  ctx: ControllerContext,
  vm: VmRecord,
  disk: VectorValue,
): Promise<void> {
  const imageId = Number(disk['IMAGE_ID']);
  if (disk['IMAGE_ID'] === undefined || !Number.isInteger(imageId)) return;
  const image = await tx.images.find(imageId);
  if (image === undefined) return;
  const released = releaseImage(image, vm.id);
  if (released.ok) await tx.images.update(released.value);
  else ctx.log.warn({ vm: vm.id, image: imageId, reason: released.error.message }, 'image not released');
}

/** The NIC's lease goes back to its network, and its LEASES quota to the VM's owner. */
async function releaseNicLease(tx: Repositories, vm: VmRecord, nicId: number): Promise<void> {
  const leases = await tx.leases.listByOwner({ kind: 'vm', id: vm.id });
  for (const l of leases) {
    if (l.owner.kind !== 'vm' || l.owner.nicId !== nicId) continue;
    await tx.leases.delete(l.vnetId, l.arId, l.index);
    await releaseQuota(tx, vm, { leases: [{ networkId: l.vnetId, count: 1 }] });
  }
}

/** Settles the change in flight; returns the VM with its template updated (not yet written). */
export async function finishChange(
  tx: Repositories,
  ctx: ControllerContext,
  vm: VmRecord,
  change: ChangeKind,
  outcome: 'commit' | 'rollback' | 'clear',
): Promise<VmRecord> {
  switch (change) {
    case 'disk-attach':
    case 'disk-detach':
    case 'nic-attach':
    case 'nic-detach': {
      const name = change.startsWith('disk') ? 'DISK' : 'NIC';
      const attach = change.endsWith('attach');
      const vectors = (vm.template[name] ?? []).filter((v): v is VectorValue => typeof v !== 'string');
      const marked = vectors.find(isMarked);
      if (marked === undefined) return vm;
      // attach+commit and detach+rollback keep the element; the other two remove it.
      const keep = attach === (outcome !== 'rollback') || outcome === 'clear';
      if (keep) {
        return {
          ...vm,
          template: replaceVectors(
            vm.template,
            name,
            vectors.map((v) => (v === marked ? withoutMarker(v) : v)),
          ),
        };
      }
      if (name === 'DISK') await releaseDiskImage(tx, ctx, vm, marked);
      else await releaseNicLease(tx, vm, Number(marked['NIC_ID']));
      return {
        ...vm,
        template: replaceVectors(
          vm.template,
          name,
          vectors.filter((v) => v !== marked),
        ),
      };
    }
    case 'resize': {
      const previous = getVector(vm.template, 'RESIZE_PREVIOUS');
      let template = removeAttribute(vm.template, 'RESIZE_PREVIOUS');
      if (outcome === 'rollback' && previous !== undefined) {
        const before = allocationOf(vm.template);
        for (const name of ['CPU', 'VCPU', 'MEMORY']) {
          const value = previous[name];
          template = value === undefined ? removeAttribute(template, name) : setSingle(template, name, value);
        }
        if (vm.hostId !== null && holdsCapacity(vm)) {
          await moveCapacity(tx, vm.hostId, vm.id, 'remove', before, false);
          await moveCapacity(tx, vm.hostId, vm.id, 'add', allocationOf(template), false);
        }
      }
      return { ...vm, template };
    }
    case 'disk-resize': {
      const disks = (vm.template['DISK'] ?? []).filter((v): v is VectorValue => typeof v !== 'string');
      const updated = disks.map((d) => {
        if (d['RESIZE'] === undefined) return d;
        const { RESIZE: size, ...rest } = d;
        return outcome === 'commit' && size !== undefined ? { ...rest, SIZE: size } : rest;
      });
      return { ...vm, template: replaceVectors(vm.template, 'DISK', updated) };
    }
    default:
      return vm;
  }
}
