/**
 * VM groups (`onevmgroup`, `one.vmgroup.*`): allocate, info, pool, update, rename, chown, chmod,
 * lock, unlock, delete and the role calls; and the membership of a VM in a role, taken when the
 * VM is allocated and given back when it ends (`joinVmGroup`, `leaveVmGroup`).
 */
import { defaultPermissions, parseUmask } from '../domain/auth/permissions.js';
import { NimbusError } from '../domain/errors.js';
import { getVectors } from '../domain/template/index.js';
import type { Template, VectorValue } from '../domain/template/types.js';
import {
  addVmGroupRole,
  addVmToRole,
  deleteVmGroupRole,
  parseVmGroupTemplate,
  removeVmFromRole,
  updateVmGroupRole,
  updateVmGroupTemplate,
  vmGroupVmCount,
  type VmGroupRecord,
} from '../domain/vmgroup/index.js';
import type { VmRecord } from '../domain/vm/record.js';
import type { PageResult, Repositories } from '../store/index.js';
import type { Caller } from './caller.js';
import type { ControllerContext } from './context.js';
import {
  checkedName,
  ownedAuthObject,
  ownedListFilter,
  planChown,
  planLock,
  planPermissions,
  planUnlock,
} from './ownership.js';
import { unwrap } from './results.js';

export interface VmGroupListOptions {
  readonly filter: number;
  readonly name?: string | undefined;
  readonly limit?: number | undefined;
  readonly after?: number | undefined;
}

/** The one ROLE vector of a role call's template (`No ROLE attribute in template`). */
function roleOf(template: Template): VectorValue {
  const role = getVectors(template, 'ROLE')[0];
  if (role === undefined) throw new NimbusError('TEMPLATE_INVALID', 'No ROLE attribute in template', 'ROLE');
  return role;
}

export class VmGroupService {
  constructor(private readonly ctx: ControllerContext) {}

  /** `one.vmgroup.allocate`: CREATE VMGROUP; NAME unique per owner; roles and rules checked. */
  async create(caller: Caller, template: Template): Promise<number> {
    this.ctx.authorize(caller, { operation: 'CREATE', type: 'VMGROUP' }, 'one.vmgroup.allocate');
    const definition = unwrap(parseVmGroupTemplate(template));
    const umask = parseUmask(caller.umask);
    return this.ctx.store.vmGroups.insert({
      uid: caller.uid,
      gid: caller.gid,
      name: definition.name,
      permissions: defaultPermissions({
        uid: caller.uid,
        gid: caller.gid,
        ...(umask.ok ? { umask: umask.value } : {}),
      }),
      lock: null,
      roles: definition.roles,
      template: definition.template,
    });
  }

  /** `one.vmgroup.info`: USE, locked or not. */
  async get(caller: Caller, id: number): Promise<VmGroupRecord> {
    const group = await this.ctx.store.vmGroups.get(id);
    this.ctx.authorize(
      caller,
      { operation: 'USE', object: ownedAuthObject('VMGROUP', group), ignoreLock: true },
      'one.vmgroup.info',
    );
    return group;
  }

  /** `one.vmgrouppool.info` with OpenNebula's filter flag. */
  async list(caller: Caller, options: VmGroupListOptions): Promise<PageResult<VmGroupRecord>> {
    const filter = await ownedListFilter(this.ctx, caller, 'VMGROUP', options.filter);
    return this.ctx.store.vmGroups.list(
      {
        ...filter,
        ...(options.name !== undefined && options.name !== '' ? { nameContains: options.name } : {}),
      },
      {
        ...(options.limit !== undefined ? { limit: options.limit } : {}),
        ...(options.after !== undefined ? { afterId: options.after } : {}),
      },
    );
  }

  /** Reads, authorizes (MANAGE unless said otherwise), changes and writes one group. */
  async #change(
    caller: Caller,
    id: number,
    method: string,
    change: (group: VmGroupRecord, tx: Repositories) => Promise<VmGroupRecord> | VmGroupRecord,
    operation: 'MANAGE' | null = 'MANAGE',
  ): Promise<void> {
    await this.ctx.store.transaction(
      async (tx) => {
        const current = await tx.vmGroups.get(id);
        if (operation !== null)
          this.ctx.authorize(caller, { operation, object: ownedAuthObject('VMGROUP', current) }, method);
        await tx.vmGroups.update(await change(current, tx));
      },
      { retries: 3 },
    );
  }

  /**
   * `one.vmgroup.update`: replace or merge the template (AFFINED / ANTI_AFFINED rules and user
   * attributes); refused while the group has VMs. NAME and ROLE are ignored (rename, role calls).
   */
  update(caller: Caller, id: number, template: Template, merge: boolean): Promise<void> {
    return this.#change(caller, id, 'one.vmgroup.update', (group) =>
      unwrap(updateVmGroupTemplate(group, template, merge)),
    );
  }

  rename(caller: Caller, id: number, name: string): Promise<void> {
    const valid = checkedName(name);
    return this.#change(caller, id, 'one.vmgroup.rename', (group) => ({ ...group, name: valid }));
  }

  chown(
    caller: Caller,
    id: number,
    request: { uid?: number | undefined; gid?: number | undefined },
  ): Promise<void> {
    return this.#change(
      caller,
      id,
      'one.vmgroup.chown',
      async (group, tx) => ({
        ...group,
        ...(await planChown(
          tx,
          this.ctx,
          caller,
          ownedAuthObject('VMGROUP', group),
          request,
          'one.vmgroup.chown',
        )),
      }),
      null,
    );
  }

  chmod(caller: Caller, id: number, octet: string): Promise<void> {
    return this.#change(
      caller,
      id,
      'one.vmgroup.chmod',
      (group) => ({
        ...group,
        permissions: planPermissions(
          this.ctx,
          caller,
          ownedAuthObject('VMGROUP', group),
          octet,
          'one.vmgroup.chmod',
        ),
      }),
      null,
    );
  }

  /** `one.vmgroup.lock`: level 1 use, 2 manage, 3 admin, 4 all; `test` refuses an existing lock. */
  lock(caller: Caller, id: number, level: number, test: boolean): Promise<void> {
    return this.#change(
      caller,
      id,
      'one.vmgroup.lock',
      (group) => ({
        ...group,
        lock: planLock(
          this.ctx,
          caller,
          ownedAuthObject('VMGROUP', group),
          group.lock,
          level,
          test,
          'one.vmgroup.lock',
        ),
      }),
      null,
    );
  }

  unlock(caller: Caller, id: number): Promise<void> {
    return this.#change(
      caller,
      id,
      'one.vmgroup.unlock',
      (group) => ({
        ...group,
        lock: planUnlock(
          this.ctx,
          caller,
          ownedAuthObject('VMGROUP', group),
          group.lock,
          'one.vmgroup.unlock',
        ),
      }),
      null,
    );
  }

  /** `one.vmgroup.delete`: MANAGE; refused while any role has VMs. */
  async delete(caller: Caller, id: number): Promise<void> {
    await this.ctx.store.transaction(async (tx) => {
      const current = await tx.vmGroups.get(id);
      this.ctx.authorize(
        caller,
        { operation: 'MANAGE', object: ownedAuthObject('VMGROUP', current) },
        'one.vmgroup.delete',
      );
      const vms = vmGroupVmCount(current);
      if (vms > 0) {
        const members = current.roles
          .filter((r) => r.vms.length > 0)
          .map((r) => `${r.name}: ${r.vms.join(', ')}`)
          .join('; ');
        throw new NimbusError(
          'IN_USE',
          `Cannot delete VM group ${id} "${current.name}": its roles have ${vms} VM${vms > 1 ? 's' : ''} (${members}); terminate them first`,
        );
      }
      await tx.vmGroups.delete(id, current.version);
    });
  }

  /** `one.vmgroup.roleadd`: a template with one ROLE vector. */
  addRole(caller: Caller, id: number, template: Template): Promise<void> {
    const role = roleOf(template);
    return this.#change(caller, id, 'one.vmgroup.roleadd', (group) => unwrap(addVmGroupRole(group, role)));
  }

  /** `one.vmgroup.roledelete`: refused while the role has VMs or a rule names it. */
  deleteRole(caller: Caller, id: number, roleId: number): Promise<void> {
    return this.#change(caller, id, 'one.vmgroup.roledelete', (group) =>
      unwrap(deleteVmGroupRole(group, roleId)),
    );
  }

  /** `one.vmgroup.roleupdate`: merged over the role; refused while the role has VMs. */
  updateRole(caller: Caller, id: number, roleId: number, template: Template): Promise<void> {
    const role = roleOf(template);
    return this.#change(caller, id, 'one.vmgroup.roleupdate', (group) =>
      unwrap(updateVmGroupRole(group, roleId, role)),
    );
  }
}

// -------------------------------------------------------------------------------------------------
// VM membership

/** Which group a VMGROUP vector means: VMGROUP_ID, or VMGROUP_NAME of VMGROUP_UID / _UNAME / the caller. */
async function referencedGroup(
  tx: Repositories,
  caller: Caller,
  vector: VectorValue,
): Promise<VmGroupRecord> {
  const text = (key: string): string | undefined => {
    const value = vector[key]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const integer = (value: string, field: string): number => {
    if (!/^\d+$/.test(value))
      throw new NimbusError('TEMPLATE_INVALID', `${field} must be a non-negative integer`, field);
    return Number(value);
  };
  const name = text('VMGROUP_NAME');
  if (name !== undefined) {
    let uid = caller.uid;
    const uidText = text('VMGROUP_UID');
    const uname = text('VMGROUP_UNAME');
    if (uidText !== undefined) uid = integer(uidText, 'VMGROUP/VMGROUP_UID');
    else if (uname !== undefined) {
      const user = await tx.users.findByName(uname);
      if (user === undefined)
        throw new NimbusError('NOT_FOUND', `user "${uname}" does not exist`, 'VMGROUP/VMGROUP_UNAME');
      uid = user.id;
    }
    const group = await tx.vmGroups.findByName(name, uid);
    if (group === undefined)
      throw new NimbusError(
        'NOT_FOUND',
        `Cannot find VM Group to associate the VM: user ${uid} has no VM group named "${name}"`,
        'VMGROUP/VMGROUP_NAME',
      );
    return group;
  }
  const idText = text('VMGROUP_ID');
  if (idText === undefined)
    throw new NimbusError(
      'TEMPLATE_INVALID',
      'Cannot find VM Group to associate the VM: VMGROUP needs VMGROUP_ID or VMGROUP_NAME',
      'VMGROUP/VMGROUP_ID',
    );
  const id = integer(idText, 'VMGROUP/VMGROUP_ID');
  const group = await tx.vmGroups.find(id);
  if (group === undefined)
    throw new NimbusError(
      'NOT_FOUND',
      `Cannot find VM Group to associate the VM: VM group ${id} does not exist`,
      'VMGROUP/VMGROUP_ID',
    );
  return group;
}

/**
 * `VirtualMachine::get_vmgroup` at allocate: the first VMGROUP vector of `template` names a
 * group (USE needed) and one of its roles; VM `vmId` joins the role in `tx`. Returns the vector
 * to store in the VM's TEMPLATE (VMGROUP_ID filled in), or undefined when there is none.
 */
export async function joinVmGroup(
  tx: Repositories,
  ctx: ControllerContext,
  caller: Caller,
  template: Template,
  vmId: number,
  method: string,
): Promise<VectorValue | undefined> {
  const values = template.VMGROUP ?? [];
  if (values.length === 0) return undefined;
  const vector = values[0]!;
  if (typeof vector === 'string')
    throw new NimbusError(
      'TEMPLATE_INVALID',
      'VMGROUP must be a vector: VMGROUP = [ VMGROUP_NAME = …, ROLE = … ]',
      'VMGROUP',
    );
  const role = vector.ROLE?.trim() ?? '';
  if (role === '')
    throw new NimbusError('TEMPLATE_INVALID', 'Missing role name in VM Group definition', 'VMGROUP/ROLE');
  const group = await referencedGroup(tx, caller, vector);
  ctx.authorize(caller, { operation: 'USE', object: ownedAuthObject('VMGROUP', group) }, method);
  const joined = addVmToRole(group, role, vmId);
  if (!joined.ok) {
    const roles = group.roles.map((r) => r.name).join(', ');
    throw new NimbusError(
      'NOT_FOUND',
      `Role does not exist in VM Group: VM group ${group.id} "${group.name}" has no role "${role}" (roles: ${roles === '' ? 'none' : roles})`,
      'VMGROUP/ROLE',
    );
  }
  await tx.vmGroups.update(joined.value);
  return { ...vector, ROLE: role, VMGROUP_ID: String(group.id) };
}

/** `VirtualMachine::release_vmgroup`: VM `vm` leaves its role (a group or role gone is no error). */
export async function leaveVmGroup(tx: Repositories, vm: VmRecord): Promise<void> {
  const vector = getVectors(vm.template, 'VMGROUP')[0];
  const id = vector?.VMGROUP_ID;
  const role = vector?.ROLE;
  if (id === undefined || role === undefined || !/^\d+$/.test(id)) return;
  const group = await tx.vmGroups.find(Number(id));
  if (group === undefined) return;
  const left = removeVmFromRole(group, role, vm.id);
  if (left.ok && left.value !== group) await tx.vmGroups.update(left.value);
}
