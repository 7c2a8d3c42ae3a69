/**
 * From a plan's driver effects to protocol operations: which host runs each, and its arguments
 * (deployment spec, checkpoint, TM paths). Pure: the VM, its HISTORY and the datastore location in,
 * operations out.
 */
import {
  deployIdOf,
  type DeployDisk,
  type DeployNic,
  type DeploymentSpec,
  type TransferDisk,
} from '../../protocol/agent.js';
import { getSingle, getVectors } from '../../domain/template/attributes.js';
import type { Template, VectorValue } from '../../domain/template/types.js';
import type { Effect } from '../../domain/vm/plan.js';
import type { HistoryRecord, VmRecord } from '../../domain/vm/record.js';

/** One operation to send, before it gets its id. */
export interface PlannedOperation {
  readonly hostId: number;
  readonly driver: 'vmm' | 'tm';
  readonly op: string;
  readonly args: Record<string, unknown>;
  /** Whose result settles the VM's pending step (the last of a plan that leaves the VM waiting). */
  readonly settles: boolean;
}

export interface OperationInputs {
  readonly vm: VmRecord;
  readonly history: readonly HistoryRecord[];
  /** HOME/datastores: system datastore directories are `<location>/<ds>/<vm>`. */
  readonly datastoreLocation: string;
  /** The disk / NIC a hotplug is about (its DISK_ID / NIC_ID). */
  readonly diskId?: number;
  readonly nicId?: number;
  /** disk-resize: the new size, MB. */
  readonly size?: number;
}

export function systemDir(location: string, dsId: number, vmId: number): string {
  return `${location}/${dsId}/${vmId}`;
}

const num = (text: string | undefined, fallback: number): number => {
  const n = Number(text);
  return text !== undefined && text.trim() !== '' && Number.isFinite(n) ? n : fallback;
};

function diskFormat(disk: VectorValue): 'raw' | 'qcow2' {
  const f = (disk['FORMAT'] ?? disk['DRIVER'] ?? '').toLowerCase();
  return f === 'qcow2' ? 'qcow2' : 'raw';
}

function diskType(disk: VectorValue): DeployDisk['TYPE'] {
  const t = (disk['TYPE'] ?? '').toUpperCase();
  if (t === 'CDROM') return 'CDROM';
  if (t === 'BLOCK' || t === 'RBD') return 'BLOCK';
  if (t === 'SWAP') return 'SWAP';
  return 'FILE';
}

function deployDisk(disk: VectorValue, index: number, dir: string): DeployDisk {
  const id = num(disk['DISK_ID'], index);
  const type = diskType(disk);
  const size = disk['SIZE'] !== undefined ? Math.max(0, Math.trunc(num(disk['SIZE'], 0))) : undefined;
  return {
    DISK_ID: id,
    SOURCE: `${dir}/disk.${id}`,
    TARGET: /^[a-z]{2,3}[a-z]{1,2}$/.test(disk['TARGET'] ?? '')
      ? (disk['TARGET'] as string)
      : `vd${String.fromCharCode(97 + (id % 26))}`,
    FORMAT: diskFormat(disk),
    TYPE: type,
    READONLY: type === 'CDROM' || (disk['READONLY'] ?? '').toUpperCase() === 'YES',
    ...(size !== undefined ? { SIZE: size } : {}),
    ...(disk['CACHE'] !== undefined ? { CACHE: disk['CACHE'].slice(0, 32) } : {}),
  };
}

function deployNic(nic: VectorValue, index: number, vmId: number): DeployNic | undefined {
  const mac = nic['MAC'];
  if (mac === undefined || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac)) return undefined;
  const id = num(nic['NIC_ID'], index);
  const bridge = (nic['BRIDGE'] ?? '').slice(0, 15) || 'nimbus0';
  return {
    NIC_ID: id,
    MAC: mac,
    BRIDGE: bridge,
    MODEL: nic['MODEL'] ?? 'virtio',
    TARGET: nic['TARGET'] ?? `one-${vmId}-${id}`.slice(0, 15),
    ...(nic['VLAN_ID'] !== undefined && /^\d+$/.test(nic['VLAN_ID']) && Number(nic['VLAN_ID']) <= 4095
      ? { VLAN_ID: Number(nic['VLAN_ID']) }
      : {}),
  };
}

/** The deployment spec (OpenNebula's deployment file, as JSON). */
export function deploymentSpec(vm: VmRecord, dir: string, template: Template = vm.template): DeploymentSpec {
  const cpu = num(getSingle(template, 'CPU'), 1);
  const vcpu = Math.max(1, Math.trunc(num(getSingle(template, 'VCPU'), Math.max(1, Math.ceil(cpu)))));
  const memory = Math.max(1, Math.trunc(num(getSingle(template, 'MEMORY'), 128)));
  const disks = getVectors(template, 'DISK').map((d, i) => deployDisk(d, i, dir));
  const nics = getVectors(template, 'NIC').flatMap((n, i) => deployNic(n, i, vm.id) ?? []);
  const graphics = getVectors(template, 'GRAPHICS')[0];
  const gtype = (graphics?.['TYPE'] ?? '').toUpperCase();
  return {
    VMID: vm.id,
    NAME: vm.name.slice(0, 256) || deployIdOf(vm.id),
    DEPLOY_ID: vm.deployId !== '' ? vm.deployId : deployIdOf(vm.id),
    CPU: cpu > 0 ? Math.min(cpu, 4096) : 1,
    VCPU: Math.min(vcpu, 4096),
    MEMORY: memory,
    DISK: disks,
    NIC: nics,
    ...(gtype === 'VNC' || gtype === 'SPICE' ? { GRAPHICS: { TYPE: gtype as 'VNC' | 'SPICE' } } : {}),
  };
}

function transferDisks(template: Template, dir: string): TransferDisk[] {
  return getVectors(template, 'DISK').map((d, i) => {
    const id = num(d['DISK_ID'], i);
    const persistent = (d['PERSISTENT'] ?? '').toUpperCase() === 'YES';
    const volatile = d['IMAGE_ID'] === undefined && d['SOURCE'] === undefined;
    return {
      DISK_ID: id,
      ...(d['SOURCE'] !== undefined && d['SOURCE'] !== '' ? { SOURCE: d['SOURCE'] } : {}),
      PATH: `${dir}/disk.${id}`,
      FORMAT: diskFormat(d),
      MODE: volatile ? 'volatile' : persistent ? 'link' : 'clone',
      ...(d['SIZE'] !== undefined && /^\d+$/.test(d['SIZE']) ? { SIZE: Number(d['SIZE']) } : {}),
    };
  });
}

/**
 * The operations of a plan's driver effects, in order. `settles` marks the last one when the
 * VM waits for it (`waits`); the others run first, in order, and their failure fails the step.
 */
export function plannedOperations(
  effects: readonly Effect[],
  input: OperationInputs,
  waits: boolean,
): PlannedOperation[] {
  const { vm, history } = input;
  const current = history[history.length - 1];
  const previous = history[history.length - 2];
  if (current === undefined) return [];
  const dir = systemDir(input.datastoreLocation, current.dsId, vm.id);
  const prevDir = previous === undefined ? dir : systemDir(input.datastoreLocation, previous.dsId, vm.id);
  const spec = (): DeploymentSpec => deploymentSpec(vm, dir);
  const out: Omit<PlannedOperation, 'settles'>[] = [];
  const on = (hostId: number, driver: 'vmm' | 'tm', op: string, args: Record<string, unknown> = {}): void => {
    out.push({ hostId, driver, op, args });
  };
  const here = current.hid;
  const before = previous?.hid ?? here;

  // A step that opens a new HISTORY record (a migration) acts on the guest where it still runs: the
  // previous host.
  let opened = false;
  for (const e of effects) {
    if (e.kind === 'history' && e.op === 'open') opened = true;
    const guest = opened ? before : here;
    if (e.kind === 'vmm') {
      switch (e.op) {
        case 'deploy':
          on(here, 'vmm', 'deploy', { spec: spec() });
          break;
        case 'restore':
          on(here, 'vmm', 'restore', { spec: spec(), checkpoint: `${dir}/checkpoint` });
          break;
        case 'save':
          on(guest, 'vmm', 'save', { checkpoint: `${opened ? prevDir : dir}/checkpoint` });
          break;
        case 'shutdown':
        case 'cancel':
          on(guest, 'vmm', e.op);
          break;
        case 'migrate':
          // Live: prepare the destination, then stream from the source (its target filled in
          // from the destination's answer when the send goes out).
          on(here, 'vmm', 'migrate', { role: 'receive', spec: spec() });
          on(before, 'vmm', 'migrate', { role: 'send', target: { hostId: here, uri: 'pending' } });
          break;
        case 'attach-disk': {
          const disk = getVectors(vm.template, 'DISK').find((d) => num(d['DISK_ID'], -1) === input.diskId);
          if (disk !== undefined)
            on(here, 'vmm', 'attach-disk', { disk: deployDisk(disk, input.diskId ?? 0, dir) });
          break;
        }
        case 'detach-disk':
          on(here, 'vmm', 'detach-disk', { diskId: input.diskId ?? 0 });
          break;
        case 'attach-nic': {
          const nic = getVectors(vm.template, 'NIC').find((n) => num(n['NIC_ID'], -1) === input.nicId);
          const deploy = nic === undefined ? undefined : deployNic(nic, input.nicId ?? 0, vm.id);
          if (deploy !== undefined) on(here, 'vmm', 'attach-nic', { nic: deploy });
          break;
        }
        case 'detach-nic':
          on(here, 'vmm', 'detach-nic', { nicId: input.nicId ?? 0 });
          break;
        case 'resize': {
          const cpu = num(getSingle(vm.template, 'CPU'), 1);
          on(here, 'vmm', 'resize', {
            resize: {
              CPU: cpu,
              VCPU: Math.max(1, Math.trunc(num(getSingle(vm.template, 'VCPU'), Math.ceil(cpu)))),
              MEMORY: Math.max(1, Math.trunc(num(getSingle(vm.template, 'MEMORY'), 128))),
            },
          });
          break;
        }
        case 'disk-resize':
          on(here, 'vmm', 'disk-resize', { diskId: input.diskId ?? 0, size: Math.max(1, input.size ?? 1) });
          break;
        case 'cleanup-previous':
          on(before, 'vmm', 'cleanup');
          break;
        case 'cleanup-both':
          on(here, 'vmm', 'cleanup');
          if (before !== here) on(before, 'vmm', 'cleanup');
          break;
        case 'driver-cancel':
          // Aborts whatever runs for this VM on the host; the controller fills in the target.
          on(here, 'vmm', 'driver-cancel', { target: 'pending' });
          break;
        default:
          on(here, 'vmm', e.op);
      }
    } else if (e.kind === 'tm') {
      const args = (d: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
        systemDir: d,
        disks: transferDisks(vm.template, d),
        ...extra,
      });
      switch (e.op) {
        case 'prolog-migrate':
          on(here, 'tm', e.op, args(dir, { otherHost: { hostId: before, address: `host-${before}` } }));
          break;
        case 'epilog-delete-both':
          on(here, 'tm', 'epilog-delete', args(dir));
          if (before !== here) on(before, 'tm', 'epilog-delete', args(prevDir));
          break;
        case 'driver-cancel':
          on(here, 'tm', 'driver-cancel', { systemDir: dir, target: 'pending' });
          break;
        case 'prolog-attach':
        case 'epilog-detach':
        case 'resize':
          on(here, 'tm', e.op, {
            ...args(dir),
            ...(input.diskId !== undefined ? { diskId: input.diskId } : {}),
            ...(input.size !== undefined ? { size: input.size } : {}),
          });
          break;
        default:
          on(here, 'tm', e.op, args(dir));
      }
    }
  }
  return out.map((o, i) => ({ ...o, settles: waits && i === out.length - 1 }));
}
