/**
 * Virtual networks (`onevnet`, reference §1.5, §7): create, list, show, template update, rename,
 * chown, chmod, delete, address ranges, hold / release, reservations.
 *
 * Lease changes follow the plan / apply design of docs/decisions/virtual-networks.md: the domain
 * plans a LeaseChange from the network and its lease rows, and the change (lease rows taken and
 * freed, AR cursors) is written here in the same transaction that read them.
 */
import { randomBytes } from 'node:crypto';
import {
  AUTH_OPERATION_BITS,
  authorizationMessage,
  poolFilter,
  type AuthObject,
} from '../domain/auth/authorize.js';
import { defaultPermissions, DEFAULT_UMASK, parseChmod, parseUmask } from '../domain/auth/permissions.js';
import { groupAuthObject, userAuthObject } from '../domain/auth/users.js';
import { NimbusError } from '../domain/errors.js';
import { validateObjectName } from '../domain/object.js';
import { getVectors, applyTemplateUpdate } from '../domain/template/index.js';
import type { Template, TemplateValue } from '../domain/template/types.js';
import {
  AR_INVALID,
  checkReservationNetworks,
  DEFAULT_MAC_PREFIX,
  defineAddressRange,
  defineVnet,
  nextArId,
  parseLeaseDescription,
  parseReservationRequest,
  planAddressRangeRemoval,
  planHold,
  planRelease,
  planReservation,
  planReservationReturn,
  updateAddressRange,
  VNET_TEMPLATE_INVALID,
  VnetLeases,
  type AddressRangeRecord,
  type LeaseChange,
  type LeaseRecord,
  type VnetRecord,
} from '../domain/vnet/index.js';
import type { Repositories, VnetFilter } from '../store/index.js';
import type { Caller } from './caller.js';
import type { ControllerContext } from './context.js';
import { checkedName, ownedAuthObject, planPermissionBits } from './ownership.js';
import { chargeQuota, releaseQuota } from './quotas.js';
import { unwrap } from './results.js';

/** VNet STATE (reference §3.5). */
export const VNET_STATE_NAMES = [
  'INIT',
  'READY',
  'LOCK_CREATE',
  'LOCK_DELETE',
  'DONE',
  'ERROR',
  'UPDATE_FAILURE',
] as const;
const INIT = 0;
const READY = 1;

const DEFAULT_CLUSTER_ID = 0;

/** Unsigned 32-bit random integers, for the MACs of ranges without an IPv4 address. */
const random32 = (): number => randomBytes(4).readUInt32BE(0);

/** Driver attributes that a template update keeps when the new template leaves them out. */
const DRIVER_ATTRIBUTES = ['VN_MAD', 'PHYDEV', 'BRIDGE', 'VLAN_ID', 'OUTER_VLAN_ID', 'SECURITY_GROUPS'];

type Operation = 'USE' | 'MANAGE' | 'ADMIN';

/** A network with its used leases per AR_ID (list and show). */
export interface VnetView {
  readonly vnet: VnetRecord;
  readonly used: ReadonlyMap<number, number>;
}

/** `show`: also every lease, by AR then index. */
export interface VnetDetail extends VnetView {
  readonly leases: readonly LeaseRecord[];
}

export interface LeasePage {
  readonly vnet: VnetRecord;
  readonly leases: readonly LeaseRecord[];
  /** `AR_ID:index` of the last lease when more may follow, else null. */
  readonly nextAfter: string | null;
}

export interface VnetListQuery {
  readonly filter?: number | undefined;
  readonly name?: string | undefined;
  readonly state?: number | undefined;
  readonly limit?: number | undefined;
  readonly after?: number | undefined;
}

export function vnetAuthObject(vnet: VnetRecord): AuthObject {
  return ownedAuthObject('NET', vnet, vnet.clusters);
}

/** Clusters have no owner; joining one needs ADMIN on it (RequestManagerAllocate). */
function clusterAuthObject(id: number): AuthObject {
  return { type: 'CLUSTER', id, uid: -1, gid: -1, permissions: 0o600 };
}

/** Rights (USE=1, MANAGE=2, ADMIN=4) that the network's own permission digits give the caller. */
function permissionRights(vnet: VnetRecord, caller: Caller): number {
  const p = vnet.permissions;
  let digit = p & 7;
  if (vnet.uid === caller.uid) digit |= (p >> 6) & 7;
  if (caller.gids.includes(vnet.gid)) digit |= (p >> 3) & 7;
  return ((digit & 4) >> 2) | (digit & 2) | ((digit & 1) << 2);
}

function usedByAr(leases: readonly LeaseRecord[]): Map<number, number> {
  const used = new Map<number, number>();
  for (const l of leases) used.set(l.arId, (used.get(l.arId) ?? 0) + 1);
  return used;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export class VnetService {
  constructor(private readonly ctx: ControllerContext) {}

  // -------------------------------------------------------------------------------------------
  // Authorization
  // -------------------------------------------------------------------------------------------

  /**
   * Why the caller may not do `operation` on the network, or null. ACL rules for `*` and
   * `%cluster` do not apply to reservations (VirtualNetwork::get_permissions), so a reservation
   * needs its own permissions or a rule naming its id or group.
   */
  private denial(caller: Caller, operation: Operation, vnet: VnetRecord, ignoreLock = false): string | null {
    const a = caller.authorizer;
    const reason = a.deny({ operation, object: vnetAuthObject(vnet), ignoreLock });
    if (reason !== null || vnet.parentNetworkId === null || a.isOneadmin) return reason;
    const grants = a.grants('NET');
    const rights =
      permissionRights(vnet, caller) | (grants.byId.get(vnet.id) ?? 0) | (grants.byGroup.get(vnet.gid) ?? 0);
    const bit = AUTH_OPERATION_BITS[operation];
    return (rights & bit) === bit ? null : `Not authorized to perform ${operation} NET [${vnet.id}]`;
  }

  private authorizeVnet(
    caller: Caller,
    operation: Operation,
    vnet: VnetRecord,
    method: string,
    ignoreLock = false,
  ): void {
    const reason = this.denial(caller, operation, vnet, ignoreLock);
    if (reason !== null)
      throw new NimbusError('AUTHORIZATION', authorizationMessage(method, caller.uid, reason));
  }

  private newPermissions(caller: Caller): number {
    const umask = parseUmask(caller.umask);
    return defaultPermissions({
      uid: caller.uid,
      gid: caller.gid,
      umask: umask.ok ? umask.value : DEFAULT_UMASK,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Create, read
  // -------------------------------------------------------------------------------------------

  /** one.vn.allocate: the caller owns the network; it joins `clusterId` (default cluster 0). */
  async create(caller: Caller, template: Template, clusterId?: number): Promise<number> {
    const method = 'one.vn.allocate';
    this.ctx.authorize(caller, { operation: 'CREATE', type: 'NET', gid: caller.gid }, method);
    const cluster = clusterId ?? DEFAULT_CLUSTER_ID;
    return this.ctx.store.transaction(
      async (tx) => {
        if ((await tx.clusters.find(cluster)) === undefined)
          throw new NimbusError('NOT_FOUND', `cluster ${cluster} does not exist`, 'cluster');
        if (clusterId !== undefined)
          this.ctx.authorize(caller, { operation: 'ADMIN', object: clusterAuthObject(cluster) }, method);
        // The default bridge name (onebr<id>) needs the id the network will get.
        const vnetId = await tx.sequences.peek('vnet');
        const def = unwrap(defineVnet(template, { vnetId, macPrefix: DEFAULT_MAC_PREFIX, random32 }));
        const name = unwrap(validateObjectName(def.name, '', VNET_TEMPLATE_INVALID));
        const id = await tx.vnets.insert({
          uid: caller.uid,
          gid: caller.gid,
          name,
          permissions: this.newPermissions(caller),
          lock: null,
          template: def.template,
          clusters: [cluster],
          bridge: def.bridge,
          bridgeType: def.bridgeType,
          state: READY,
          prevState: INIT,
          parentNetworkId: null,
          vnMad: def.vnMad,
          phydev: def.phydev,
          vlanId: def.vlanId,
          outerVlanId: def.outerVlanId,
          vlanIdAutomatic: def.vlanIdAutomatic,
          outerVlanIdAutomatic: def.outerVlanIdAutomatic,
          ars: def.ars,
        });
        if (id !== vnetId)
          throw new NimbusError('CONFLICT', `vnet id ${vnetId} was taken by a concurrent create; retry`);
        return id;
      },
      { retries: 3 },
    );
  }

  /** one.vn.info: the network, its used leases and every lease. */
  async get(caller: Caller, id: number): Promise<VnetDetail> {
    const vnet = await this.ctx.store.vnets.get(id);
    this.authorizeVnet(caller, 'USE', vnet, 'one.vn.info', true);
    const leases = await this.ctx.store.leases.listByVnet(id);
    return { vnet, used: usedByAr(leases), leases };
  }

  /** one.vnpool.info: what the caller may USE, narrowed by OpenNebula's filter flag. */
  async list(
    caller: Caller,
    query: VnetListQuery,
  ): Promise<{ items: VnetView[]; nextAfterId: number | null }> {
    const flag = query.filter ?? -2;
    let filter: VnetFilter = {
      ...(query.name !== undefined && query.name !== '' ? { nameContains: query.name } : {}),
      ...(query.state !== undefined && query.state >= 0 ? { state: query.state } : {}),
    };
    if (flag === -4) filter = { ...filter, gid: caller.gid };
    else if (flag === -3) filter = { ...filter, uid: caller.uid };
    else if (flag >= 0) filter = { ...filter, uid: flag };
    if (flag === -1) {
      filter = { ...filter, visibleTo: { uid: caller.uid, gids: caller.gids, otherUse: false } };
    } else {
      // Narrow the query where the grants can be expressed; the exact check follows per object.
      const pf = poolFilter(await this.ctx.acl.evaluator(), caller.authorizer.subject, 'NET', 'USE');
      if (!pf.all && pf.clusterIds.length === 0) {
        filter = {
          ...filter,
          visibleTo: {
            uid: pf.uid,
            gids: pf.memberGroups,
            otherUse: true,
            aclGids: pf.groupIds,
            aclIds: pf.ids,
          },
        };
      }
    }
    const page = await this.ctx.store.vnets.list(filter, {
      ...(query.limit !== undefined ? { limit: query.limit } : {}),
      ...(query.after !== undefined && query.after >= 0 ? { afterId: query.after } : {}),
    });
    const items: VnetView[] = [];
    for (const vnet of page.items) {
      if (this.denial(caller, 'USE', vnet, true) !== null) continue;
      items.push({ vnet, used: await this.ctx.store.leases.countByAr(vnet.id) });
    }
    return { items, nextAfterId: page.nextAfterId };
  }

  /** Leases of a network (of one range with `ar`), by range then address, in pages. */
  async leases(
    caller: Caller,
    id: number,
    query: { ar?: number | undefined; limit?: number | undefined; after?: string | undefined },
  ): Promise<LeasePage> {
    const vnet = await this.ctx.store.vnets.get(id);
    this.authorizeVnet(caller, 'USE', vnet, 'one.vn.info', true);
    if (query.ar !== undefined) this.addressRange(vnet, query.ar);
    let leases = await this.ctx.store.leases.listByVnet(id, query.ar);
    if (query.after !== undefined) {
      const [arId, index] = query.after.split(':').map(Number) as [number, number];
      leases = leases.filter((l) => l.arId > arId || (l.arId === arId && l.index > index));
    }
    let nextAfter: string | null = null;
    if (query.limit !== undefined && leases.length > query.limit) {
      leases = leases.slice(0, query.limit);
      const last = leases[leases.length - 1]!;
      nextAfter = `${last.arId}:${last.index}`;
    }
    return { vnet, leases, nextAfter };
  }

  // -------------------------------------------------------------------------------------------
  // Template, name, ownership, permissions, delete
  // -------------------------------------------------------------------------------------------

  /**
   * one.vn.update: replace or merge the template. NAME and AR are not taken from it (rename,
   * addar / updatear do that); driver attributes left out keep their values, and the result is
   * validated as at create, so BRIDGE, VN_MAD, PHYDEV and the VLAN ids stay consistent.
   */
  async updateTemplate(caller: Caller, id: number, input: Template, merge: boolean): Promise<void> {
    await this.ctx.store.transaction(
      async (tx) => {
        const vnet = await tx.vnets.get(id);
        this.authorizeVnet(caller, 'MANAGE', vnet, 'one.vn.update');
        const next: Record<string, TemplateValue[]> = {};
        for (const [key, values] of Object.entries(applyTemplateUpdate(vnet.template, input, merge))) {
          if (key !== 'NAME' && key !== 'AR') next[key] = [...values];
        }
        for (const key of DRIVER_ATTRIBUTES) {
          const old = vnet.template[key];
          if (next[key] === undefined && old !== undefined) next[key] = [...old];
        }
        const def = unwrap(
          defineVnet(
            { ...next, NAME: [vnet.name] },
            { vnetId: vnet.id, macPrefix: DEFAULT_MAC_PREFIX, random32 },
          ),
        );
        await tx.vnets.update({
          ...vnet,
          template: def.template,
          vnMad: def.vnMad,
          bridge: def.bridge,
          bridgeType: def.bridgeType,
          phydev: def.phydev,
          vlanId: def.vlanId,
          outerVlanId: def.outerVlanId,
        });
      },
      { retries: 3 },
    );
  }

  async rename(caller: Caller, id: number, newName: string): Promise<void> {
    const name = checkedName(newName, 'NAME');
    await this.ctx.store.transaction(
      async (tx) => {
        const vnet = await tx.vnets.get(id);
        this.authorizeVnet(caller, 'MANAGE', vnet, 'one.vn.rename');
        if (vnet.name !== name) await tx.vnets.update({ ...vnet, name });
      },
      { retries: 3 },
    );
  }

  /**
   * one.vn.chown: ADMIN on the network, MANAGE on the new owner, USE on the new group (-1 keeps).
   * A reservation's NETWORK quota moves with it.
   */
  async chown(caller: Caller, id: number, newUid = -1, newGid = -1): Promise<void> {
    const method = 'one.vn.chown';
    await this.ctx.store.transaction(
      async (tx) => {
        const vnet = await tx.vnets.get(id);
        this.authorizeVnet(caller, 'ADMIN', vnet, method);
        const uid = newUid < 0 ? vnet.uid : newUid;
        const gid = newGid < 0 ? vnet.gid : newGid;
        if (uid !== vnet.uid) {
          const user = await tx.users.find(uid);
          if (user === undefined) throw new NimbusError('NOT_FOUND', `user ${uid} does not exist`, 'uid');
          this.ctx.authorize(caller, { operation: 'MANAGE', object: userAuthObject(user) }, method);
        }
        if (gid !== vnet.gid) {
          const group = await tx.groups.find(gid);
          if (group === undefined) throw new NimbusError('NOT_FOUND', `group ${gid} does not exist`, 'gid');
          this.ctx.authorize(caller, { operation: 'USE', object: groupAuthObject(group) }, method);
        }
        if (uid === vnet.uid && gid === vnet.gid) return;
        if (vnet.parentNetworkId !== null) {
          const charge = { leases: [{ networkId: vnet.parentNetworkId, count: reservedSize(vnet) }] };
          await releaseQuota(tx, vnet, charge);
          await chargeQuota(tx, { uid, gid }, charge, method);
        }
        await tx.vnets.update({ ...vnet, uid, gid });
      },
      { retries: 3 },
    );
  }

  /** one.vn.chmod: MANAGE, or ADMIN when an ADMIN bit changes. */
  async chmod(caller: Caller, id: number, octet: string): Promise<void> {
    const bits = unwrap(parseChmod(octet));
    await this.ctx.store.transaction(
      async (tx) => {
        const vnet = await tx.vnets.get(id);
        const plan = planPermissionBits(caller, vnet.permissions, bits);
        this.authorizeVnet(caller, plan.operation, vnet, 'one.vn.chmod');
        if (plan.permissions !== vnet.permissions)
          await tx.vnets.update({ ...vnet, permissions: plan.permissions });
      },
      { retries: 3 },
    );
  }

  /**
   * one.vn.delete: refused while VMs use its leases or reservations were carved from it; held
   * leases go with it. A reservation gives its addresses back to the parent network.
   */
  async delete(caller: Caller, id: number): Promise<void> {
    await this.ctx.store.transaction(async (tx) => {
      const vnet = await tx.vnets.get(id);
      this.authorizeVnet(caller, 'MANAGE', vnet, 'one.vn.delete');
      const leases = await tx.leases.listByVnet(id);
      const byVms = leases.filter((l) => l.owner.kind === 'vm');
      if (byVms.length > 0) {
        const vms = [...new Set(byVms.flatMap((l) => (l.owner.kind === 'vm' ? [l.owner.id] : [])))];
        throw new NimbusError(
          'IN_USE',
          `Can not remove a virtual network with leases in use: vnet ${id} has ${plural(byVms.length, 'lease')} ` +
            `used by VMs (${vms.join(', ')}); detach those NICs or terminate the VMs first`,
        );
      }
      const reservations = await tx.vnets.list({ parentNetworkId: id });
      if (reservations.items.length > 0) {
        const ids = reservations.items.map((r) => r.id).join(', ');
        throw new NimbusError(
          'IN_USE',
          `Can not remove a virtual network with leases in use: vnet ${id} has ` +
            `${plural(reservations.items.length, 'reservation')} (vnet ${ids}); delete them first`,
        );
      }
      for (const l of leases) await tx.leases.delete(l.vnetId, l.arId, l.index);
      if (vnet.parentNetworkId !== null) {
        const returned = await tx.leases.deleteByOwner({ kind: 'vnet', id });
        await releaseQuota(tx, vnet, { leases: [{ networkId: vnet.parentNetworkId, count: returned }] });
      }
      await tx.vnets.delete(id, vnet.version);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Address ranges
  // -------------------------------------------------------------------------------------------

  private addressRange(vnet: VnetRecord, arId: number): AddressRangeRecord {
    const ar = vnet.ars.find((r) => r.arId === arId);
    if (ar === undefined)
      throw new NimbusError('NOT_FOUND', `address range ${arId} of vnet ${vnet.id} does not exist`, 'arId');
    return ar;
  }

  /** one.vn.add_ar: every `AR = [...]` of the template, with the next AR_IDs. */
  async addAddressRanges(caller: Caller, id: number, template: Template): Promise<number[]> {
    const vectors = getVectors(template, 'AR');
    if (vectors.length === 0)
      throw new NimbusError(AR_INVALID, 'the template has no AR = [ ... ] vector', 'AR');
    return this.ctx.store.transaction(
      async (tx) => {
        const vnet = await tx.vnets.get(id);
        this.authorizeVnet(caller, 'MANAGE', vnet, 'one.vn.add_ar');
        const ars = [...vnet.ars];
        let arId = nextArId(vnet);
        for (const [position, vector] of vectors.entries()) {
          const field = vectors.length === 1 ? 'AR' : `AR[${position}]`;
          ars.push(
            unwrap(
              defineAddressRange(vector, {
                arId: arId++,
                macPrefix: DEFAULT_MAC_PREFIX,
                random32,
                field,
                existing: ars,
              }),
            ),
          );
        }
        await tx.vnets.update({ ...vnet, ars });
        return ars.slice(vnet.ars.length).map((ar) => ar.arId);
      },
      { retries: 3 },
    );
  }

  /** one.vn.update_ar: the template's one AR replaces the range's attributes (SIZE checked against leases). */
  async updateAddressRange(caller: Caller, id: number, arId: number, template: Template): Promise<void> {
    const vectors = getVectors(template, 'AR');
    const vector = vectors[0];
    if (vector === undefined || vectors.length > 1)
      throw new NimbusError(AR_INVALID, 'the template must have exactly one AR = [ ... ] vector', 'AR');
    const given = vector['AR_ID']?.trim();
    if (given !== undefined && given !== '' && given !== String(arId)) {
      throw new NimbusError(
        AR_INVALID,
        `AR/AR_ID: the template names address range ${given}, the request ${arId}`,
        'AR/AR_ID',
      );
    }
    await this.ctx.store.transaction(
      async (tx) => {
        const vnet = await tx.vnets.get(id);
        this.authorizeVnet(caller, 'MANAGE', vnet, 'one.vn.update_ar');
        const ar = this.addressRange(vnet, arId);
        const leases = VnetLeases.fromRecords(vnet, await tx.leases.listByVnet(id, arId));
        const updated = unwrap(
          updateAddressRange(ar, vector, {
            leases: leases.ar(arId)!,
            isReservation: vnet.parentNetworkId !== null,
            field: 'AR',
          }),
        );
        await tx.vnets.update({ ...vnet, ars: vnet.ars.map((r) => (r.arId === arId ? updated : r)) });
      },
      { retries: 3 },
    );
  }

  /** one.vn.rm_ar (force drops the leases too). */
  async removeAddressRange(caller: Caller, id: number, arId: number, force: boolean): Promise<void> {
    await this.dropAddressRange(caller, id, arId, force, 'one.vn.rm_ar');
  }

  /** one.vn.free_ar: rm_ar without force; a reservation's addresses go back to its parent. */
  async freeAddressRange(caller: Caller, id: number, arId: number): Promise<void> {
    await this.dropAddressRange(caller, id, arId, false, 'one.vn.free_ar');
  }

  private async dropAddressRange(
    caller: Caller,
    id: number,
    arId: number,
    force: boolean,
    method: string,
  ): Promise<void> {
    await this.ctx.store.transaction(
      async (tx) => {
        const vnet = await tx.vnets.get(id);
        this.authorizeVnet(caller, 'MANAGE', vnet, method);
        this.addressRange(vnet, arId);
        const leases = VnetLeases.fromRecords(vnet, await tx.leases.listByVnet(id, arId));
        const removal = unwrap(planAddressRangeRemoval(vnet, leases, arId, { force }));
        await this.writeLeaseChange(tx, vnet, removal.change);
        await tx.vnets.update({ ...vnet, ars: vnet.ars.filter((r) => r.arId !== arId) });
        const ret = removal.returnToParent;
        if (ret === null) return;
        const parent = await tx.vnets.find(ret.parentVnetId);
        if (parent === undefined || !parent.ars.some((r) => r.arId === ret.parentArId)) return;
        const parentLeases = VnetLeases.fromRecords(
          parent,
          await tx.leases.listByVnet(parent.id, ret.parentArId),
        );
        const change = planReservationReturn(parent, parentLeases, ret);
        await this.writeLeaseChange(tx, parent, change);
        await releaseQuota(tx, vnet, { leases: [{ networkId: parent.id, count: change.freed.length }] });
      },
      { retries: 3 },
    );
  }

  // -------------------------------------------------------------------------------------------
  // Leases: hold, release, reserve
  // -------------------------------------------------------------------------------------------

  /** Persists a planned change: freed rows, taken rows, then the AR cursors. */
  private async writeLeaseChange(tx: Repositories, vnet: VnetRecord, change: LeaseChange): Promise<void> {
    for (const l of change.freed) await tx.leases.delete(l.vnetId, l.arId, l.index);
    if (change.taken.length > 0) await tx.leases.insertMany(change.taken);
    if (change.cursors.length > 0) {
      const next = new Map(change.cursors.map((c) => [c.arId, c.next]));
      await tx.vnets.update({
        ...vnet,
        ars: vnet.ars.map((ar) => (next.has(ar.arId) ? { ...ar, next: next.get(ar.arId)! } : ar)),
      });
    }
  }

  /** Hold / release: the leases read are those of the described AR_ID, or of every range. */
  private async changeLeases(
    caller: Caller,
    id: number,
    method: string,
    template: Template,
    plan: (vnet: VnetRecord, leases: VnetLeases) => LeaseChange,
  ): Promise<void> {
    const described = parseLeaseDescription(template);
    const arId = described.ok && described.value.arId !== null ? described.value.arId : undefined;
    await this.ctx.store.transaction(
      async (tx) => {
        const vnet = await tx.vnets.get(id);
        this.authorizeVnet(caller, 'MANAGE', vnet, method);
        const leases = VnetLeases.fromRecords(vnet, await tx.leases.listByVnet(id, arId));
        await this.writeLeaseChange(tx, vnet, plan(vnet, leases));
      },
      { retries: 3 },
    );
  }

  /** one.vn.hold: `LEASES = [IP = x]` (or MAC / IP6, optional AR_ID) becomes a lease of VM -1. */
  async hold(caller: Caller, id: number, template: Template): Promise<void> {
    await this.changeLeases(caller, id, 'one.vn.hold', template, (vnet, leases) =>
      unwrap(planHold(vnet, leases, template)),
    );
  }

  /** one.vn.release: frees a held address (succeeds, freeing nothing, when it is not on hold). */
  async release(caller: Caller, id: number, template: Template): Promise<void> {
    await this.changeLeases(caller, id, 'one.vn.release', template, (vnet, leases) =>
      unwrap(planRelease(vnet, leases, template)),
    );
  }

  /**
   * one.vn.reserve: carves SIZE addresses of network `id` into a new reservation network owned
   * by the caller (NAME), or into an existing one (NETWORK_ID). Needs USE on the parent, CREATE
   * NET for a new reservation or MANAGE on the existing one; charged to the NETWORK quota.
   */
  async reserve(caller: Caller, id: number, template: Template): Promise<number> {
    const method = 'one.vn.reserve';
    const request = unwrap(parseReservationRequest(template));
    if (request.networkId === null)
      this.ctx.authorize(caller, { operation: 'CREATE', type: 'NET', gid: caller.gid }, method);
    const name =
      request.name === null ? null : unwrap(validateObjectName(request.name, '', 'RESERVATION_INVALID'));
    return this.ctx.store.transaction(
      async (tx) => {
        const parent = await tx.vnets.get(id);
        this.authorizeVnet(caller, 'USE', parent, method);
        let target: VnetRecord | null = null;
        if (request.networkId !== null) {
          target = await tx.vnets.get(request.networkId);
          this.authorizeVnet(caller, 'MANAGE', target, method);
        }
        unwrap(checkReservationNetworks(parent, target));
        if (target === null) {
          const childId = await tx.vnets.insert(this.reservationRecord(caller, parent, name ?? ''));
          target = await tx.vnets.get(childId);
        }
        const leases = VnetLeases.fromRecords(
          parent,
          await tx.leases.listByVnet(parent.id, request.arId ?? undefined),
        );
        const plan = unwrap(
          planReservation(parent, leases, request, { vnetId: target.id, arId: nextArId(target) }),
        );
        await this.writeLeaseChange(tx, parent, plan.change);
        await tx.vnets.update({ ...target, ars: [...target.ars, plan.childAr] });
        await chargeQuota(
          tx,
          { uid: target.uid, gid: target.gid },
          { leases: [{ networkId: parent.id, count: request.size }] },
          method,
        );
        return target.id;
      },
      { retries: 3 },
    );
  }

  /** A new reservation network: the parent's driver settings, owned by the caller, no ranges yet. */
  private reservationRecord(
    caller: Caller,
    parent: VnetRecord,
    name: string,
  ): Omit<VnetRecord, 'id' | 'version'> {
    const template: Record<string, TemplateValue[]> = {};
    for (const key of [...DRIVER_ATTRIBUTES, 'BRIDGE_TYPE']) {
      const values = parent.template[key];
      if (values !== undefined) template[key] = [...values];
    }
    return {
      uid: caller.uid,
      gid: caller.gid,
      name,
      permissions: this.newPermissions(caller),
      lock: null,
      template,
      clusters: [...parent.clusters],
      bridge: parent.bridge,
      bridgeType: parent.bridgeType,
      state: READY,
      prevState: INIT,
      parentNetworkId: parent.id,
      vnMad: parent.vnMad,
      phydev: parent.phydev,
      vlanId: parent.vlanId,
      outerVlanId: parent.outerVlanId,
      vlanIdAutomatic: parent.vlanIdAutomatic,
      outerVlanIdAutomatic: parent.outerVlanIdAutomatic,
      ars: [],
    };
  }
}

/** Addresses a reservation network holds in its parent: the sizes of its reserved ranges. */
function reservedSize(vnet: VnetRecord): number {
  return vnet.ars.reduce((n, ar) => n + (ar.parentNetworkArId !== null ? ar.size : 0), 0);
}
