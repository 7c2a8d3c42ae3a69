/**
 * VM group rules during a pass: where each role's VMs are (before the pass and as it places
 * them), and whether a host is allowed for a VM of a role.
 *
 * - `HOST_AFFINED` / `HOST_ANTI_AFFINED`: static host lists, checked with the requirements.
 * - Role `POLICY = AFFINED`: once a VM of the role is placed, the others go to a host that holds
 *   one. The first (the leader) needs room for all the role's pending VMs, which follow it at once.
 * - Role `POLICY = ANTI_AFFINED`: no two VMs of the role share a host.
 * - Group `AFFINED = "a, b"`: a VM of `a` goes where a VM of `b` is, once one is placed (and the
 *   other way round). Group `ANTI_AFFINED = "a, b"`: never on a host with a VM of the other role.
 */
import type { SchedGroup, SchedRole, SchedVm } from './model.js';

export class RoleState {
  /** Host id → VMs of the role on it. */
  readonly hosts = new Map<number, number>();
  /** VM id → host id, for members that are placed. */
  readonly where = new Map<number, number>();
  readonly affinedWith: RoleState[] = [];
  readonly antiAffinedWith: RoleState[] = [];
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
    if (this.role.policy === 'AFFINED' && this.placedBesides(vmId) > 0 && this.countOn(hostId, vmId) === 0)
      return `${cap(this.label)} is AFFINED: its VMs run on host ${this.hostsBesides(vmId).join(', ')}.`;
    for (const other of this.antiAffinedWith) {
      if (other.countOn(hostId, vmId) > 0)
        return `Roles "${this.role.name}" and "${other.role.name}" are ANTI_AFFINED and a VM of "${other.role.name}" runs on this host.`;
    }
    for (const other of this.affinedWith) {
      if (other.placedBesides(vmId) > 0 && other.countOn(hostId, vmId) === 0)
        return `Roles "${this.role.name}" and "${other.role.name}" are AFFINED: VMs of "${other.role.name}" run on host ${other.hostsBesides(vmId).join(', ')}.`;
    }
    return null;
  }

  /**
   * Hosts the VM is confined to by an AFFINED rule with VMs already placed, or undefined when
   * it may go anywhere the other rules allow.
   */
  confinedTo(vmId: number): number[] | undefined {
    if (this.role.policy === 'AFFINED' && this.placedBesides(vmId) > 0) return this.hostsBesides(vmId);
    for (const other of this.affinedWith) {
      if (other.placedBesides(vmId) > 0) return other.hostsBesides(vmId);
    }
    return undefined;
  }

  /** True when the VM opens an AFFINED role: it must find room for every pending member. */
  isLeader(vmId: number): boolean {
    return this.role.policy === 'AFFINED' && this.placedBesides(vmId) === 0 && this.pending.length > 1;
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
    const link = (lists: readonly (readonly string[])[], pick: (s: RoleState) => RoleState[]): void => {
      for (const list of lists) {
        for (const a of list) {
          for (const b of list) {
            if (a === b) continue;
            const sa = states.get(roleKey(group.id, a));
            const sb = states.get(roleKey(group.id, b));
            if (sa !== undefined && sb !== undefined && !pick(sa).includes(sb)) pick(sa).push(sb);
          }
        }
      }
    };
    link(group.affined, (s) => s.affinedWith);
    link(group.antiAffined, (s) => s.antiAffinedWith);
  }
  return states;
}

export function roleKey(groupId: number, role: string): string {
  return `${groupId}\u0000${role}`;
}
