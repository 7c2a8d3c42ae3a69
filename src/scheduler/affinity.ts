/**
 * VM group rules during a pass: where each role's VMs are (before the pass and as it places
 * them), and whether a host is allowed for a VM of a role.
 *
 * - `HOST_AFFINED` / `HOST_ANTI_AFFINED`: static host lists, checked with the requirements.
 * - Role `POLICY = AFFINED` and group `AFFINED = "a, b"` make affined sets (OpenNebula's
 *   `VMGroupXML` affined sets): all VMs of the set go to the hosts where VMs of the set already
 *   run; when none runs, the first (the leader) needs room for every pending VM of the set, and
 *   the others follow it at once.
 * - Role `POLICY = ANTI_AFFINED`: no two VMs of the role share a host.
 * - Group `ANTI_AFFINED = "a, b"`: a VM of `a` never shares a host with a VM of `b`.
 */
import type { SchedGroup, SchedRole, SchedVm } from './model.js';

export class RoleState {
  /** Host id → VMs of the role on it. */
  readonly hosts = new Map<number, number>();
  /** VM id → host id, for members that are placed. */
  readonly where = new Map<number, number>();
  readonly antiAffinedWith: RoleState[] = [];
  /** The affined set the role belongs to, if any. */
  set: AffinedSet | undefined;
  /** Pending members of this pass, in dispatch order. */
  readonly pending: SchedVm[] = [];
  readonly hostAffined: ReadonlySet<number>;
  readonly hostAntiAffined: ReadonlySet<number>;

  constructor(
    readonly group: SchedGroup,
    readonly role: SchedRole,
  ) {
    this.hostAffined = new Set(role.hostAffined);
    this.hostAntiAffined = new Set(role.hostAntiAffined);
  }

  get label(): string {
    return `role "${this.role.name}" of VM group ${this.group.id} "${this.group.name}"`;
  }

  place(vmId: number, hostId: number): void {
    const before = this.where.get(vmId);
    if (before !== undefined) this.hosts.set(before, (this.hosts.get(before) ?? 1) - 1);
    this.where.set(vmId, hostId);
    this.hosts.set(hostId, (this.hosts.get(hostId) ?? 0) + 1);
  }

  /** Members on `hostId`, not counting `vmId` itself. */
  countOn(hostId: number, vmId: number): number {
    const n = this.hosts.get(hostId) ?? 0;
    return this.where.get(vmId) === hostId ? n - 1 : n;
  }

  /** Members placed anywhere, not counting `vmId`. */
  placedBesides(vmId: number): number {
    return this.where.size - (this.where.has(vmId) ? 1 : 0);
  }

  /** Hosts holding members other than `vmId`. */
  hostsBesides(vmId: number): number[] {
    const own = this.where.get(vmId);
    const out: number[] = [];
    for (const [h, n] of this.hosts) if (n - (h === own ? 1 : 0) > 0) out.push(h);
    return out.sort((a, b) => a - b);
  }

  /** The role's static host rule, or null when the host is allowed. */
  hostRule(hostId: number): string | null {
    if (this.hostAffined.size > 0 && !this.hostAffined.has(hostId))
      return `Not in HOST_AFFINED of ${this.label}.`;
    if (this.hostAntiAffined.has(hostId)) return `In HOST_ANTI_AFFINED of ${this.label}.`;
    return null;
  }

  /** The rule a host breaks for `vmId` given the VMs placed so far, or null. */
  vmRule(hostId: number, vmId: number): string | null {
    if (this.role.policy === 'ANTI_AFFINED' && this.countOn(hostId, vmId) > 0)
      return `${cap(this.label)} is ANTI_AFFINED and a VM of the role runs on this host.`;
    for (const other of this.antiAffinedWith) {
      if (other.countOn(hostId, vmId) > 0)
        return `Roles "${this.role.name}" and "${other.role.name}" are ANTI_AFFINED and a VM of "${other.role.name}" runs on this host.`;
    }
    const set = this.set;
    if (set !== undefined && set.placedBesides(vmId) > 0 && set.countOn(hostId, vmId) === 0)
      return `${set.label} are AFFINED: they run on host ${set.hostsBesides(vmId).join(', ')}.`;
    return null;
  }

  /** Hosts the VM is confined to by its affined set, or undefined when it may go anywhere. */
  confinedTo(vmId: number): number[] | undefined {
    const set = this.set;
    return set !== undefined && set.placedBesides(vmId) > 0 ? set.hostsBesides(vmId) : undefined;
  }

  /** True when the VM opens its affined set: it must find room for every pending member. */
  isLeader(vmId: number): boolean {
    const set = this.set;
    return set !== undefined && set.placedBesides(vmId) === 0 && set.pending().length > 1;
  }
}

/** Roles whose VMs must share hosts: an AFFINED role, or roles joined by `AFFINED` rules. */
export class AffinedSet {
  constructor(readonly roles: readonly RoleState[]) {}

  get label(): string {
    const g = this.roles[0]!.group;
    const names = this.roles.map((r) => `"${r.role.name}"`).join(', ');
    return `VMs of ${this.roles.length === 1 ? 'role' : 'roles'} ${names} of VM group ${g.id} "${g.name}"`;
  }

  countOn(hostId: number, vmId: number): number {
    return this.roles.reduce((n, r) => n + r.countOn(hostId, vmId), 0);
  }

  placedBesides(vmId: number): number {
    return this.roles.reduce((n, r) => n + r.placedBesides(vmId), 0);
  }

  hostsBesides(vmId: number): number[] {
    return [...new Set(this.roles.flatMap((r) => r.hostsBesides(vmId)))].sort((a, b) => a - b);
  }

  /** Pending VMs of the set not placed yet, in dispatch order. */
  pending(): SchedVm[] {
    const all = this.roles.flatMap((r) => r.pending.filter((v) => !r.where.has(v.id)));
    return all.sort((a, b) => b.priority - a.priority || a.id - b.id);
  }
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Role states of every group, with where their VMs are before the pass. */
export function roleStates(
  groups: readonly SchedGroup[],
  placedVms: ReadonlyMap<number, number>,
): Map<string, RoleState> {
  const states = new Map<string, RoleState>();
  for (const group of groups) {
    for (const role of group.roles) {
      const state = new RoleState(group, role);
      for (const vmId of role.vms) {
        const h = placedVms.get(vmId);
        if (h !== undefined) state.place(vmId, h);
      }
      states.set(roleKey(group.id, role.name), state);
    }
    const byName = (name: string) => states.get(roleKey(group.id, name));
    for (const list of group.antiAffined) {
      for (const a of list) {
        for (const b of list) {
          const sa = byName(a);
          const sb = byName(b);
          if (a !== b && sa !== undefined && sb !== undefined && !sa.antiAffinedWith.includes(sb))
            sa.antiAffinedWith.push(sb);
        }
      }
    }
    // Affined sets: each AFFINED role alone, merged with every role an AFFINED rule joins it to.
    const parent = new Map<string, string>();
    const find = (n: string): string => {
      const p = parent.get(n) ?? n;
      if (p === n) return n;
      const root = find(p);
      parent.set(n, root);
      return root;
    };
    const inSet = new Set(group.roles.filter((r) => r.policy === 'AFFINED').map((r) => r.name));
    for (const list of group.affined) {
      for (const name of list) inSet.add(name);
      for (const name of list.slice(1)) parent.set(find(name), find(list[0]!));
    }
    const sets = new Map<string, RoleState[]>();
    for (const name of inSet) {
      const state = byName(name);
      if (state === undefined) continue;
      const members = sets.get(find(name)) ?? [];
      members.push(state);
      sets.set(find(name), members);
    }
    for (const members of sets.values()) {
      const set = new AffinedSet(members);
      for (const m of members) m.set = set;
    }
  }
  return states;
}

export function roleKey(groupId: number, role: string): string {
  return `${groupId}\u0000${role}`;
}
