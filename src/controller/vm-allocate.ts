/**
 * The shared VM allocate path (`one.vm.allocate`, `one.template.instantiate`): validate the
 * template, take image references and NIC leases, split TEMPLATE / USER_TEMPLATE, charge quotas
 * and store the VM — all inside the caller's transaction, so any refusal leaves nothing behind.
 * Also the inverse for VMs that never left the controller (`releaseVmResources`).
 */
import { defaultPermissions, parseUmask } from '../domain/auth/permissions.js';
import type { DatastoreRecord } from '../domain/datastore/record.js';
import { fail, NimbusError, ok, type Result } from '../domain/errors.js';
import {
  acquireImage,
  assignDiskTargets,
  diskAttributesFromImage,
  ImageType,
  isLockedState,
  releaseAfterVmFailure,
  releaseImage,
  type DiskTargetKind,
  type VmFailureRelease,
  type DiskTargetRequest,
  type ImageRecord,
} from '../domain/image/index.js';
import { validateObjectName } from '../domain/object.js';
import { getSingle, getVectors, listVariables } from '../domain/template/index.js';
import type { Template, TemplateValue, VectorValue } from '../domain/template/types.js';
import { checkRestrictedAttributes, finishHistory, VmState } from '../domain/vm/index.js';
import type { VmRecord } from '../domain/vm/record.js';
import {
  applyLeaseChange,
  nicAttributes,
  planLease,
  VnetLeases,
  type LeaseRecord,
  type VnetRecord,
} from '../domain/vnet/index.js';
import type { Repositories } from '../store/index.js';
import { compileRank, compileRequirement } from '../scheduler/expressions.js';
import type { Caller } from './caller.js';
import { imageAuthObject } from './images.js';
import { vnetAuthObject } from './vnets.js';
import { unwrap } from './results.js';
import type { ControllerContext } from './context.js';
import { chargeQuota, releaseQuota, type QuotaCharge } from './quotas.js';
import { joinVmGroup, leaveVmGroup } from './vmgroups.js';

// -------------------------------------------------------------------------------------------------
// Pure rules

/** CPU, MEMORY (MB) and VCPU of a VM template, validated with OpenNebula's messages (§4.3). */
export interface VmCapacity {
  readonly cpu: number;
  readonly memory: number;
  readonly vcpu: number | undefined;
}

const INTEGER = /^\s*[0-9]+\s*$/;
const FLOAT = /^\s*([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$/;
const MAX_INT32 = 2_147_483_647;

export const MEMORY_MESSAGE = 'MEMORY attribute must be a positive integer value.';
export const CPU_MESSAGE = 'CPU attribute must be a positive float or integer value.';
export const VCPU_MESSAGE = 'VCPU attribute must be a positive integer value.';

function positiveInteger(text: string | undefined): number | undefined {
  if (text === undefined || !INTEGER.test(text)) return undefined;
  const n = Number(text);
  return n > 0 && n <= MAX_INT32 ? n : undefined;
}

function positiveFloat(text: string | undefined): number | undefined {
  if (text === undefined || !FLOAT.test(text)) return undefined;
  const n = Number(text);
  return n > 0 && Number.isFinite(n) ? n : undefined;
}

/**
 * Checks MEMORY, CPU and VCPU. `required` (allocate): MEMORY and CPU must be present, as
 * OpenNebula's VirtualMachine::parse_defaults demands; a VM template may leave them to `extra`.
 */
export function checkCapacity(template: Template, required: boolean): Result<VmCapacity | null> {
  const memoryText = getSingle(template, 'MEMORY');
  const cpuText = getSingle(template, 'CPU');
  const vcpuText = getSingle(template, 'VCPU');
  const memory = positiveInteger(memoryText);
  if (memory === undefined && (required || memoryText !== undefined || template.MEMORY !== undefined))
    return fail('TEMPLATE_INVALID', MEMORY_MESSAGE, 'MEMORY');
  const cpu = positiveFloat(cpuText);
  if (cpu === undefined && (required || cpuText !== undefined || template.CPU !== undefined))
    return fail('TEMPLATE_INVALID', CPU_MESSAGE, 'CPU');
  const vcpu = positiveInteger(vcpuText);
  if (vcpu === undefined && (vcpuText !== undefined || template.VCPU !== undefined))
    return fail('TEMPLATE_INVALID', VCPU_MESSAGE, 'VCPU');
  if (memory === undefined || cpu === undefined) return ok(null);
  return ok({ cpu, memory, vcpu });
}

/** Vector attributes of a VM template that must not be written as single values. */
const VECTOR_ATTRIBUTES = [
  'DISK',
  'NIC',
  'NIC_ALIAS',
  'NIC_DEFAULT',
  'CONTEXT',
  'OS',
  'GRAPHICS',
  'FEATURES',
  'INPUT',
  'VIDEO',
  'RAW',
  'CPU_MODEL',
  'TOPOLOGY',
  'SCHED_ACTION',
];

/**
 * What can be checked of a VM template before it is used: capacity values when given, vector
 * attributes written as vectors, and every `$VARIABLE` reference well formed.
 */
export function checkVmTemplate(
  template: Template,
  options: { capacityRequired: boolean },
): VmCapacity | null {
  const capacity = checkCapacity(template, options.capacityRequired);
  if (!capacity.ok) throw new NimbusError(capacity.error.code, capacity.error.message, capacity.error.field);
  for (const name of VECTOR_ATTRIBUTES) {
    const values = template[name] ?? [];
    const i = values.findIndex((v) => typeof v === 'string');
    if (i >= 0) {
      const field = values.length > 1 ? `${name}[${i}]` : name;
      throw new NimbusError(
        'TEMPLATE_INVALID',
        `${name} must be a vector attribute: ${name} = [ ... ]`,
        field,
      );
    }
  }
  for (const [name, values] of Object.entries(template)) {
    values.forEach((value, i) => {
      const field = values.length > 1 ? `${name}[${i}]` : name;
      if (typeof value === 'string') checkVariables(value, field);
      else for (const [sub, text] of Object.entries(value)) checkVariables(text, `${field}/${sub}`);
    });
  }
  checkSchedulerExpressions(template);
  return capacity.value;
}

/** Scheduler expressions are checked when the template is written, not when the VM is placed. */
const SCHED_EXPRESSIONS: Readonly<Record<string, 'requirement' | 'rank'>> = {
  SCHED_REQUIREMENTS: 'requirement',
  SCHED_DS_REQUIREMENTS: 'requirement',
  SCHED_RANK: 'rank',
  SCHED_DS_RANK: 'rank',
};

function checkSchedulerExpressions(template: Template): void {
  const check = (text: string, kind: 'requirement' | 'rank', field: string): void => {
    // $VARIABLES are replaced at instantiate; the expression is checked once they are.
    if (text.includes('$')) return;
    const compiled = kind === 'requirement' ? compileRequirement(text) : compileRank(text);
    if (!compiled.ok) throw new NimbusError('TEMPLATE_INVALID', `${field}: ${compiled.error.message}`, field);
  };
  for (const [name, kind] of Object.entries(SCHED_EXPRESSIONS)) {
    const text = getSingle(template, name);
    if (text !== undefined) check(text, kind, name);
  }
  getVectors(template, 'NIC').forEach((nic, i) => {
    for (const [sub, kind] of [
      ['SCHED_REQUIREMENTS', 'requirement'],
      ['SCHED_RANK', 'rank'],
    ] as const) {
      const text = nic[sub];
      if (text !== undefined) check(text, kind, `NIC[${i}]/${sub}`);
    }
  });
}

function checkVariables(text: string, field: string): void {
  if (text.indexOf('$') === -1) return;
  try {
    listVariables(text);
  } catch (error) {
    if (error instanceof NimbusError) throw new NimbusError(error.code, error.message, field);
    throw error;
  }
}

/**
 * The attributes that live in a VM's TEMPLATE (reference §2.2); everything else the user wrote
 * goes to USER_TEMPLATE (SCHED_*, DESCRIPTION, LABELS, SUBMIT_ON_HOLD …). NAME becomes the VM's NAME.
 */
export const SYSTEM_TEMPLATE_ATTRIBUTES: ReadonlySet<string> = new Set([
  'AUTOMATIC_DS_REQUIREMENTS',
  'AUTOMATIC_NIC_REQUIREMENTS',
  'AUTOMATIC_REQUIREMENTS',
  'BACKUP_CONFIG',
  'CLONING_TEMPLATE_ID',
  'CONTEXT',
  'CPU',
  'CPU_COST',
  'CPU_MODEL',
  'DISK',
  'DISK_COST',
  'EMULATOR',
  'FEATURES',
  'GRAPHICS',
  'HYPERV_OPTIONS',
  'INPUT',
  'MEMORY',
  'MEMORY_COST',
  'MEMORY_MAX',
  'MEMORY_RESIZE_MODE',
  'MEMORY_SLOTS',
  'NIC',
  'NIC_ALIAS',
  'NIC_DEFAULT',
  'NUMA_NODE',
  'OS',
  'PCI',
  'RAW',
  'SECURITY_GROUP_RULE',
  'SNAPSHOT',
  'SPICE_OPTIONS',
  'TEMPLATE_ID',
  'TM_MAD_SYSTEM',
  'TOPOLOGY',
  'VCPU',
  'VCPU_MAX',
  'VIDEO',
  'VMGROUP',
  'VMID',
]);

/** Splits a VM template into TEMPLATE and USER_TEMPLATE; NAME is dropped (it is the VM's NAME). */
export function splitVmTemplate(template: Template): { system: Template; user: Template } {
  const system: Record<string, readonly TemplateValue[]> = {};
  const user: Record<string, readonly TemplateValue[]> = {};
  for (const name of Object.keys(template).sort()) {
    if (name === 'NAME') continue;
    if (SYSTEM_TEMPLATE_ATTRIBUTES.has(name)) system[name] = template[name]!;
    else user[name] = template[name]!;
  }
  return { system, user };
}

/** One element of the VM that pins it to clusters: a DISK's datastore or a NIC's network. */
export interface ClusterConstraint {
  /** `DISK 0`, `NIC 1` */
  readonly element: string;
  readonly clusters: readonly number[];
}

const NOT_PUBLIC_OR_PINNED = '!(PUBLIC_CLOUD = YES) & !(PIN_POLICY = PINNED)';

/**
 * AUTOMATIC_REQUIREMENTS and AUTOMATIC_DS_REQUIREMENTS (reference §5.1,
 * `VirtualMachine::automatic_requirements`): the clusters every DISK datastore and NIC network
 * share. No common cluster is an error naming the element that does not fit.
 */
export function automaticRequirements(
  constraints: readonly ClusterConstraint[],
): Result<Record<string, string>> {
  let common: number[] | null = null;
  for (const c of constraints) {
    if (c.clusters.length === 0) continue;
    const next: number[] = common === null ? [...c.clusters] : common.filter((id) => c.clusters.includes(id));
    if (next.length === 0) {
      const kind = c.element.startsWith('NIC') ? 'Network' : 'Datastore';
      return fail(
        'TEMPLATE_INVALID',
        `Incompatible clusters in ${c.element.split(' ')[0]}. ${kind} for ${c.element} is not in the same cluster as the one used by other VM elements (cluster [${(common ?? []).join(', ')}])`,
        c.element.replace(/ (\d+)$/, '[$1]'),
      );
    }
    common = next;
  }
  if (common === null) return ok({ AUTOMATIC_REQUIREMENTS: NOT_PUBLIC_OR_PINNED });
  const ids = [...new Set(common)].sort((a, b) => a - b);
  return ok({
    AUTOMATIC_REQUIREMENTS: `(${ids.map((id) => `CLUSTER_ID = ${id}`).join(' | ')}) & ${NOT_PUBLIC_OR_PINNED}`,
    AUTOMATIC_DS_REQUIREMENTS: `(${ids.map((id) => `"CLUSTERS/ID" @> ${id}`).join(' | ')})`,
  });
}

/** VM quota figures read back from a stored VM (CPU, MEMORY, images and leases it holds). */
export function vmQuotaCharge(template: Template, leases: readonly LeaseRecord[]): QuotaCharge {
  const perNetwork = new Map<number, number>();
  for (const l of leases) perNetwork.set(l.vnetId, (perNetwork.get(l.vnetId) ?? 0) + 1);
  const images = new Set<number>();
  for (const disk of getVectors(template, 'DISK')) {
    const id = disk.IMAGE_ID;
    if (id !== undefined && INTEGER.test(id)) images.add(Number(id));
  }
  return {
    vm: {
      cpu: positiveFloat(getSingle(template, 'CPU')) ?? 0,
      memory: positiveInteger(getSingle(template, 'MEMORY')) ?? 0,
    },
    leases: [...perNetwork].map(([networkId, count]) => ({ networkId, count })),
    imageRvms: [...images].sort((a, b) => a - b),
  };
}

function isYes(value: string | undefined): boolean {
  return (value ?? '').trim().toUpperCase() === 'YES';
}

// -------------------------------------------------------------------------------------------------
// The allocate path

/** Outside the oneadmin group, a template may not set VM_RESTRICTED_ATTR attributes. */
export function refuseRestricted(caller: Caller, template: Template): void {
  if (!caller.isOneadmin) unwrap(checkRestrictedAttributes(template));
}

export interface AllocateRequest {
  /** The whole VM template as the user sent it (instantiate: the template merged with `extra`). */
  readonly template: Template;
  readonly hold: boolean;
  /** The VM's NAME; undefined: the template's NAME, else `defaultName(id)`. */
  readonly name?: string | undefined;
  readonly defaultName: (vmId: number) => string;
  /** Instantiated from this template (TEMPLATE_ID). */
  readonly templateId?: number;
  /** For messages: `one.vm.allocate`, `one.template.instantiate`. */
  readonly method: string;
}

function integerField(value: string, field: string): number {
  if (!INTEGER.test(value))
    throw new NimbusError('TEMPLATE_INVALID', `${field} must be a non-negative integer`, field);
  return Number(value);
}

/** The owner a name reference means: `<PREFIX>_UID`, `<PREFIX>_UNAME`, else the caller. */
async function referencedOwner(
  tx: Repositories,
  vector: VectorValue,
  prefix: 'IMAGE' | 'NETWORK',
  field: string,
  caller: Caller,
): Promise<number> {
  const uid = vector[`${prefix}_UID`];
  if (uid !== undefined && uid.trim() !== '') return integerField(uid.trim(), `${field}/${prefix}_UID`);
  const uname = vector[`${prefix}_UNAME`];
  if (uname !== undefined && uname.trim() !== '') {
    const user = await tx.users.findByName(uname.trim());
    if (user === undefined)
      throw new NimbusError('NOT_FOUND', `user "${uname.trim()}" does not exist`, `${field}/${prefix}_UNAME`);
    return user.id;
  }
  return caller.uid;
}

/** Everything an allocation touched, so it is written once at the end. */
class AllocationWork {
  constructor(readonly method: string) {}
  readonly images = new Map<number, ImageRecord>();
  readonly datastores = new Map<number, DatastoreRecord>();
  readonly vnets = new Map<number, { vnet: VnetRecord; leases: VnetLeases; moved: boolean }>();
  readonly leases: LeaseRecord[] = [];
  readonly constraints: ClusterConstraint[] = [];
  cloning = false;
}

/** Writes what building disks and NICs took: acquired images, moved AR cursors, new leases. */
async function writeAllocationWork(tx: Repositories, work: AllocationWork): Promise<void> {
  for (const image of work.images.values()) await tx.images.update(image);
  for (const { vnet, leases, moved } of work.vnets.values()) {
    if (!moved) continue;
    await tx.vnets.update({
      ...vnet,
      ars: vnet.ars.map((ar) => ({ ...ar, next: leases.ar(ar.arId)?.next ?? ar.next })),
    });
  }
  if (work.leases.length > 0) await tx.leases.insertMany(work.leases);
}

/**
 * Allocates one VM inside `tx` and returns its id. Refusals throw NimbusError with the field
 * they are about (`DISK[1]/IMAGE`); the caller's transaction then rolls everything back.
 */
export async function allocateVm(
  tx: Repositories,
  ctx: ControllerContext,
  caller: Caller,
  request: AllocateRequest,
): Promise<number> {
  const { template, method } = request;
  ctx.authorize(caller, { operation: 'CREATE', type: 'VM' }, method);
  const capacity = checkVmTemplate(template, { capacityRequired: true })!;
  const requestedName = request.name ?? getSingle(template, 'NAME');
  if (requestedName !== undefined && requestedName !== '') {
    const valid = validateObjectName(requestedName);
    if (!valid.ok) throw new NimbusError(valid.error.code, valid.error.message, 'NAME');
  }
  const hold = request.hold || isYes(getSingle(template, 'SUBMIT_ON_HOLD'));

  // The id is needed for TARGETs and NIC names: insert the row first, fill it at the end.
  const umask = parseUmask(caller.umask);
  const placeholder: Omit<VmRecord, 'id' | 'version'> = {
    uid: caller.uid,
    gid: caller.gid,
    name: requestedName ?? '',
    permissions: defaultPermissions({
      uid: caller.uid,
      gid: caller.gid,
      ...(umask.ok ? { umask: umask.value } : {}),
    }),
    lock: null,
    template: {},
    state: hold ? VmState.HOLD : VmState.PENDING,
    lcmState: 0,
    prevState: 0,
    prevLcmState: 0,
    resched: false,
    stime: ctx.now(),
    etime: 0,
    deployId: '',
    lastPoll: 0,
    monitoring: {},
    userTemplate: {},
    hostId: null,
  };
  const id = await tx.vms.insert(placeholder);
  const work = new AllocationWork(method);

  const disks = await buildDisks(tx, ctx, caller, template, id, work);
  const nics = await buildNics(tx, ctx, caller, template, id, work);

  const requirements = automaticRequirements(work.constraints);
  if (!requirements.ok)
    throw new NimbusError(requirements.error.code, requirements.error.message, requirements.error.field);

  await writeAllocationWork(tx, work);
  // VM group: the VM joins its role now; the stored VMGROUP carries VMGROUP_ID.
  const vmGroup = await joinVmGroup(tx, ctx, caller, template, id, method);

  const split = splitVmTemplate(template);
  const system: Record<string, readonly TemplateValue[]> = { ...split.system };
  if (vmGroup !== undefined) system.VMGROUP = [vmGroup];
  if (disks.disks.length > 0) system.DISK = disks.disks;
  if (disks.context !== null) system.CONTEXT = [disks.context];
  if (nics.length > 0) system.NIC = nics;
  for (const [name, value] of Object.entries(requirements.value)) system[name] = [value];
  system.VMID = [String(id)];
  if (request.templateId !== undefined) system.TEMPLATE_ID = [String(request.templateId)];
  const sorted: Record<string, readonly TemplateValue[]> = {};
  for (const name of Object.keys(system).sort()) sorted[name] = system[name]!;

  const owner = { uid: caller.uid, gid: caller.gid };
  await chargeQuota(
    tx,
    owner,
    {
      vm: { cpu: capacity.cpu, memory: capacity.memory },
      leases: leaseCounts(work.leases),
      imageRvms: [...work.images.keys()].sort((a, b) => a - b),
    },
    method,
  );

  const stored = await tx.vms.get(id);
  await tx.vms.update({
    ...stored,
    name: requestedName !== undefined && requestedName !== '' ? requestedName : request.defaultName(id),
    template: sorted,
    userTemplate: split.user,
    state: work.cloning ? VmState.CLONING : stored.state,
  });
  return id;
}

function leaseCounts(leases: readonly LeaseRecord[]): { networkId: number; count: number }[] {
  const perNetwork = new Map<number, number>();
  for (const l of leases) perNetwork.set(l.vnetId, (perNetwork.get(l.vnetId) ?? 0) + 1);
  return [...perNetwork].map(([networkId, count]) => ({ networkId, count }));
}

const VOLATILE_TYPES: ReadonlySet<string> = new Set(['FS', 'SWAP']);

async function resolveImage(
  tx: Repositories,
  caller: Caller,
  disk: VectorValue,
  field: string,
): Promise<ImageRecord> {
  const imageId = disk.IMAGE_ID;
  if (imageId !== undefined && imageId.trim() !== '') {
    const id = integerField(imageId.trim(), `${field}/IMAGE_ID`);
    const image = await tx.images.find(id);
    if (image === undefined)
      throw new NimbusError('NOT_FOUND', `image ${id} does not exist`, `${field}/IMAGE_ID`);
    return image;
  }
  const name = (disk.IMAGE ?? '').trim();
  const uid = await referencedOwner(tx, disk, 'IMAGE', field, caller);
  const image = await tx.images.findByName(name, uid);
  if (image === undefined)
    throw new NimbusError('NOT_FOUND', `user ${uid} has no image named "${name}"`, `${field}/IMAGE`);
  return image;
}

async function buildDisks(
  tx: Repositories,
  ctx: ControllerContext,
  caller: Caller,
  template: Template,
  vmId: number,
  work: AllocationWork,
): Promise<{ disks: VectorValue[]; context: VectorValue | null }> {
  const disks: Record<string, string>[] = [];
  const targets: DiskTargetRequest[] = [];
  const vectors = getVectors(template, 'DISK');
  for (const [i, disk] of vectors.entries()) {
    const field = `DISK[${i}]`;
    const withId = { ...disk, DISK_ID: String(i) };
    const refersImage = (disk.IMAGE_ID ?? '').trim() !== '' || (disk.IMAGE ?? '').trim() !== '';
    if (!refersImage) {
      const type = (disk.TYPE ?? '').trim().toUpperCase();
      if (!VOLATILE_TYPES.has(type))
        throw new NimbusError(
          'TEMPLATE_INVALID',
          `DISK ${i} needs IMAGE_ID or IMAGE, or TYPE = fs | swap and SIZE for a volatile disk`,
          field,
        );
      if (positiveInteger(disk.SIZE) === undefined)
        throw new NimbusError(
          'TEMPLATE_INVALID',
          `volatile DISK ${i} needs SIZE, a positive integer (MB)`,
          `${field}/SIZE`,
        );
      disks.push({ ...withId, TYPE: type.toLowerCase() });
      targets.push({
        diskId: i,
        kind: 'VOLATILE',
        ...(disk.TARGET !== undefined ? { target: disk.TARGET } : {}),
        ...(disk.DEV_PREFIX !== undefined ? { devPrefix: disk.DEV_PREFIX } : {}),
      });
      continue;
    }

    const found = await resolveImage(tx, caller, disk, field);
    const current = work.images.get(found.id) ?? found;
    ctx.authorize(caller, { operation: 'USE', object: imageAuthObject(current) }, work.method);
    const acquired = acquireImage(current, vmId);
    if (!acquired.ok) throw new NimbusError(acquired.error.code, acquired.error.message, `${field}/IMAGE`);
    work.images.set(current.id, acquired.value);
    if (isLockedState(acquired.value.state)) work.cloning = true;

    let datastore = work.datastores.get(current.datastoreId);
    if (datastore === undefined) {
      datastore = await tx.datastores.get(current.datastoreId);
      work.datastores.set(datastore.id, datastore);
    }
    const attrs = diskAttributesFromImage(withId, acquired.value, datastore, {
      imageOwnerName: ctx.names.user(current.uid),
    });
    if (!attrs.ok) throw new NimbusError(attrs.error.code, attrs.error.message, `${field}/IMAGE`);
    disks.push({ ...attrs.value });
    work.constraints.push({ element: `DISK ${i}`, clusters: datastore.clusters });
    const kind: DiskTargetKind =
      current.type === ImageType.CDROM ? 'CDROM' : current.type === ImageType.OS ? 'OS' : 'DATABLOCK';
    const target = attrs.value.TARGET;
    const imageDevPrefix = getSingle(current.template, 'DEV_PREFIX');
    targets.push({
      diskId: i,
      kind,
      ...(target !== undefined ? { target } : {}),
      ...(disk.DEV_PREFIX !== undefined ? { devPrefix: disk.DEV_PREFIX } : {}),
      ...(imageDevPrefix !== undefined ? { imageDevPrefix } : {}),
    });
  }

  const context = getVectors(template, 'CONTEXT')[0];
  const os = getVectors(template, 'OS')[0];
  const assigned = assignDiskTargets({
    vmId,
    disks: targets,
    context:
      context === undefined
        ? null
        : {
            ...(context.TARGET !== undefined ? { target: context.TARGET } : {}),
            ...(context.DEV_PREFIX !== undefined ? { devPrefix: context.DEV_PREFIX } : {}),
          },
    q35: /q35/i.test(os?.MACHINE ?? ''),
  });
  if (!assigned.ok) throw new NimbusError(assigned.error.code, assigned.error.message, assigned.error.field);
  for (const { diskId, target } of assigned.value.disks) disks[diskId]!.TARGET = target;
  const contextOut =
    context === undefined || assigned.value.context === null
      ? null
      : { ...context, DISK_ID: String(disks.length), TARGET: assigned.value.context };
  return { disks, context: contextOut };
}

async function resolveVnet(
  tx: Repositories,
  caller: Caller,
  nic: VectorValue,
  field: string,
): Promise<VnetRecord> {
  const networkId = nic.NETWORK_ID;
  if (networkId !== undefined && networkId.trim() !== '') {
    const id = integerField(networkId.trim(), `${field}/NETWORK_ID`);
    const vnet = await tx.vnets.find(id);
    if (vnet === undefined)
      throw new NimbusError('NOT_FOUND', `virtual network ${id} does not exist`, `${field}/NETWORK_ID`);
    return vnet;
  }
  const name = (nic.NETWORK ?? '').trim();
  const uid = await referencedOwner(tx, nic, 'NETWORK', field, caller);
  const vnet = await tx.vnets.findByName(name, uid);
  if (vnet === undefined)
    throw new NimbusError(
      'NOT_FOUND',
      `user ${uid} has no virtual network named "${name}"`,
      `${field}/NETWORK`,
    );
  return vnet;
}

async function buildNics(
  tx: Repositories,
  ctx: ControllerContext,
  caller: Caller,
  template: Template,
  vmId: number,
  work: AllocationWork,
  /** NIC_ID of the first NIC (an attach or a deploy builds one NIC with its own id). */
  firstNicId = 0,
): Promise<VectorValue[]> {
  const nics: VectorValue[] = [];
  for (const [i, nic] of getVectors(template, 'NIC').entries()) {
    const field = `NIC[${i}]`;
    const nicId = firstNicId + i;
    const withId = { ...nic, NIC_ID: String(nicId) };
    const refersNetwork = (nic.NETWORK_ID ?? '').trim() !== '' || (nic.NETWORK ?? '').trim() !== '';
    if (!refersNetwork) {
      // NETWORK_MODE = auto: the scheduler picks the network at deploy time.
      if ((nic.NETWORK_MODE ?? '').trim().toLowerCase() === 'auto') {
        nics.push(withId);
        continue;
      }
      throw new NimbusError(
        'TEMPLATE_INVALID',
        `NIC ${i} needs NETWORK_ID or NETWORK (or NETWORK_MODE = auto)`,
        field,
      );
    }
    const found = await resolveVnet(tx, caller, nic, field);
    let entry = work.vnets.get(found.id);
    if (entry === undefined) {
      entry = {
        vnet: found,
        leases: VnetLeases.fromRecords(found, await tx.leases.listByVnet(found.id)),
        moved: false,
      };
      work.vnets.set(found.id, entry);
    }
    ctx.authorize(caller, { operation: 'USE', object: vnetAuthObject(entry.vnet) }, work.method);
    const grant = planLease(entry.vnet, entry.leases, {
      owner: { kind: 'vm', id: vmId, nicId },
      ...(nic.IP !== undefined ? { ip: nic.IP } : {}),
      ...(nic.MAC !== undefined ? { mac: nic.MAC } : {}),
      ...(nic.IP6 !== undefined ? { ip6: nic.IP6 } : {}),
    });
    if (!grant.ok) {
      const sub = grant.error.field ?? 'NETWORK';
      throw new NimbusError(grant.error.code, grant.error.message, `${field}/${sub}`);
    }
    applyLeaseChange(entry.leases, grant.value.change);
    if (grant.value.change.cursors.length > 0) entry.moved = true;
    work.leases.push(grant.value.lease);
    work.constraints.push({ element: `NIC ${nicId}`, clusters: entry.vnet.clusters });
    nics.push(nicAttributes({ vnet: entry.vnet, lease: grant.value.lease, nic: withId, vmId }));
  }
  return nics;
}

// -------------------------------------------------------------------------------------------------
// Giving it all back

/**
 * Releases what a VM that never reached a host holds — NIC leases, image references, quota —
 * and ends it as DONE (ETIME now). Runs inside the caller's transaction.
 */
export async function releaseVmResources(
  tx: Repositories,
  ctx: ControllerContext,
  vm: VmRecord,
): Promise<VmRecord> {
  await releaseHeldResources(tx, ctx, vm);
  const now = ctx.now();
  const last = await tx.history.last(vm.id);
  if (last !== undefined && last.etime === 0) await tx.history.updateLast(finishHistory([last], now)[0]!);
  return tx.vms.update({
    ...vm,
    prevState: vm.state,
    prevLcmState: vm.lcmState,
    state: VmState.DONE,
    lcmState: 0,
    etime: now,
  });
}

/**
 * Gives back the NIC leases, image references and quota of a VM that ends (`free_vm_resources`).
 * With `failure`, images are released by the failure rules (`releaseAfterVmFailure`): READY
 * unless the image itself is at fault or a written persistent disk may be inconsistent.
 */
export async function releaseHeldResources(
  tx: Repositories,
  ctx: ControllerContext,
  vm: VmRecord,
  failure?: Omit<VmFailureRelease, 'vmId' | 'now'>,
  /** RUNNING_* are held (the VM ended from a running state); false after poweroff, stop … */
  runningHeld = true,
): Promise<void> {
  const leases = await tx.leases.listByOwner({ kind: 'vm', id: vm.id });
  await tx.leases.deleteByOwner({ kind: 'vm', id: vm.id });
  const charge = { ...vmQuotaCharge(vm.template, leases), vmRunning: runningHeld };
  for (const imageId of charge.imageRvms ?? []) {
    const image = await tx.images.find(imageId);
    if (image === undefined) continue;
    const released =
      failure === undefined
        ? releaseImage(image, vm.id)
        : mapOk(releaseAfterVmFailure(image, { ...failure, vmId: vm.id, now: ctx.now() }), (r) => r.image);
    if (released.ok) await tx.images.update(released.value);
    else ctx.log.warn({ vm: vm.id, image: imageId, reason: released.error.message }, 'image not released');
  }
  await releaseQuota(tx, { uid: vm.uid, gid: vm.gid }, charge);
  await leaveVmGroup(tx, vm);
}

function mapOk<T, U>(r: Result<T>, f: (v: T) => U): Result<U> {
  return r.ok ? { ok: true, value: f(r.value) } : r;
}

// -------------------------------------------------------------------------------------------------
// Hotplug: one more DISK or NIC on an existing VM

/**
 * Builds the DISK or NIC a `disk-attach` / `nic-attach` adds to `vm`: the image is acquired or the
 * lease taken (written in `tx`), DISK_ID / NIC_ID is the next free one and a TARGET already used
 * by another disk is moved to the next free name. The element carries `ATTACH = "YES"` until the
 * driver answers.
 */
export async function prepareAttachment(
  tx: Repositories,
  ctx: ControllerContext,
  caller: Caller,
  vm: VmRecord,
  kind: 'DISK' | 'NIC',
  element: VectorValue,
  method: string,
): Promise<{ element: VectorValue; id: number }> {
  const work = new AllocationWork(method);
  const existing = getVectors(vm.template, kind);
  const idKey = kind === 'DISK' ? 'DISK_ID' : 'NIC_ID';
  const context = getVectors(vm.template, 'CONTEXT')[0];
  const used = [
    ...existing.map((e) => Number(e[idKey] ?? -1)),
    ...(kind === 'DISK' && context?.DISK_ID !== undefined ? [Number(context.DISK_ID)] : []),
  ];
  const id = Math.max(-1, ...used.filter(Number.isFinite)) + 1;
  let built: VectorValue;
  if (kind === 'DISK') {
    const out = await buildDisks(tx, ctx, caller, { DISK: [element] }, vm.id, work);
    built = out.disks[0]!;
    const taken = new Set(existing.map((d) => d.TARGET).filter((t) => t !== undefined));
    if (context?.TARGET !== undefined) taken.add(context.TARGET);
    let target = built.TARGET ?? 'vdb';
    while (taken.has(target)) {
      const last = target.charCodeAt(target.length - 1);
      if (last >= 122) throw new NimbusError('TEMPLATE_INVALID', 'no free disk TARGET left', 'DISK/TARGET');
      target = target.slice(0, -1) + String.fromCharCode(last + 1);
    }
    built = { ...built, TARGET: target };
  } else {
    const out = await buildNics(tx, ctx, caller, { NIC: [element] }, vm.id, work, id);
    built = out[0]!;
    // LEASES quota of the VM's owner (given back on detach or rollback, or when the VM ends).
    await chargeQuota(tx, { uid: vm.uid, gid: vm.gid }, { leases: leaseCounts(work.leases) }, method);
  }
  await writeAllocationWork(tx, work);
  const renamed: Record<string, string> = { ...built, [idKey]: String(id), ATTACH: 'YES' };
  if (kind === 'NIC' && renamed.TARGET !== undefined) renamed.TARGET = `one-${vm.id}-${id}`;
  return { element: renamed, id };
}

/**
 * Leases for the NICs with `NETWORK_MODE = "auto"` on the networks the scheduler chose, taken in
 * the deploy step's transaction; the NICs keep their NIC_ID and get NETWORK_ID and the lease.
 */
export async function resolveAutoNics(
  tx: Repositories,
  ctx: ControllerContext,
  caller: Caller,
  vm: VmRecord,
  chosen: readonly { readonly nicId: number; readonly networkId: number }[],
): Promise<VmRecord> {
  if (chosen.length === 0) return vm;
  const work = new AllocationWork('one.vm.deploy');
  const nics = [...getVectors(vm.template, 'NIC')];
  for (const { nicId, networkId } of chosen) {
    const k = nics.findIndex((n) => Number(n.NIC_ID) === nicId);
    if (k < 0) throw new NimbusError('NOT_FOUND', `VM ${vm.id} has no NIC ${nicId}`, 'NIC');
    const [built] = await buildNics(
      tx,
      ctx,
      caller,
      { NIC: [{ ...nics[k]!, NETWORK_ID: String(networkId) }] },
      vm.id,
      work,
      nicId,
    );
    const nic: Record<string, string> = { ...built! };
    if (nic.TARGET !== undefined) nic.TARGET = `one-${vm.id}-${nicId}`;
    nics[k] = nic;
  }
  await chargeQuota(tx, { uid: vm.uid, gid: vm.gid }, { leases: leaseCounts(work.leases) }, 'one.vm.deploy');
  await writeAllocationWork(tx, work);
  return { ...vm, template: { ...vm.template, NIC: nics } };
}

/**
 * AUTOMATIC_REQUIREMENTS / AUTOMATIC_DS_REQUIREMENTS recomputed from the VM's current disks and
 * NICs (`VirtualMachine::automatic_requirements` on release, resume to PENDING and resched):
 * attached or detached elements change the clusters the VM may run in. An element whose
 * datastore or network is gone no longer constrains; incompatible clusters keep the old values.
 */
export async function recomputeAutomaticRequirements(
  tx: Repositories,
  ctx: ControllerContext,
  vm: VmRecord,
): Promise<VmRecord> {
  const constraints: ClusterConstraint[] = [];
  for (const [i, disk] of getVectors(vm.template, 'DISK').entries()) {
    const id = Number(disk.DATASTORE_ID ?? NaN);
    if (disk.IMAGE_ID === undefined || !Number.isInteger(id)) continue;
    const ds = await tx.datastores.find(id);
    if (ds !== undefined) constraints.push({ element: `DISK ${disk.DISK_ID ?? i}`, clusters: ds.clusters });
  }
  for (const [i, nic] of getVectors(vm.template, 'NIC').entries()) {
    const id = Number(nic.NETWORK_ID ?? NaN);
    if (!Number.isInteger(id)) continue;
    const vnet = await tx.vnets.find(id);
    if (vnet !== undefined) constraints.push({ element: `NIC ${nic.NIC_ID ?? i}`, clusters: vnet.clusters });
  }
  const computed = automaticRequirements(constraints);
  if (!computed.ok) {
    ctx.log.warn({ vm: vm.id, reason: computed.error.message }, 'AUTOMATIC_REQUIREMENTS kept');
    return vm;
  }
  const { AUTOMATIC_REQUIREMENTS: _r, AUTOMATIC_DS_REQUIREMENTS: _d, ...rest } = vm.template;
  const template: Record<string, readonly TemplateValue[]> = { ...rest };
  for (const [name, value] of Object.entries(computed.value)) template[name] = [value];
  return { ...vm, template };
}
