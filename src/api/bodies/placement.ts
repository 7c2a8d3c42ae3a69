import { getSingle } from '../../domain/template/attributes.js';
import { stateLabel, VmState, type VmRecord } from '../../domain/vm/index.js';
import type { Placement, PlacementHost } from '../../protocol/placement.js';
import type { PlacementExplanation, Verdict, VerdictKind } from '../../scheduler/pass.js';

const VERDICTS: Readonly<Record<VerdictKind, PlacementHost['VERDICT']>> = {
  selected: 'SELECTED',
  eligible: 'ELIGIBLE',
  rejected: 'REJECTED',
};

/** A rank as JSON can carry it (an expression may divide by zero). */
function rankOf(rank: number | undefined): number | null {
  return rank === undefined || !Number.isFinite(rank) ? null : rank;
}

function verdictFields(
  v: Verdict<string>,
): Pick<PlacementHost, 'VERDICT' | 'REASON_CODE' | 'REASON' | 'RANK'> {
  return {
    VERDICT: VERDICTS[v.verdict],
    REASON_CODE: v.reason?.code ?? '',
    REASON: v.reason?.text ?? '',
    RANK: rankOf(v.rank),
  };
}

/**
 * The body of `GET /api/v1/vms/:id/placement`: the VM's state and current SCHED_MESSAGE, then the
 * scheduler's explanation in OpenNebula-like keys.
 */
export function placementBody(
  vm: VmRecord,
  e: PlacementExplanation,
  pendingSinceMs: number | undefined,
): Placement {
  const pending = vm.state === VmState.PENDING;
  return {
    VM_ID: vm.id,
    STATE: stateLabel(vm.state, vm.lcmState),
    PENDING: pending,
    SCHED_MESSAGE: getSingle(vm.userTemplate, 'SCHED_MESSAGE') ?? '',
    MESSAGE: e.message,
    // The scheduler forgets a VM that left PENDING only at its next pass.
    PENDING_SINCE: pending && pendingSinceMs !== undefined ? Math.floor(pendingSinceMs / 1000) : null,
    REQUIREMENTS: e.requirements,
    RANK: e.rank,
    DS_REQUIREMENTS: e.dsRequirements,
    DS_RANK: e.dsRank,
    WARNINGS: [...e.warnings],
    DEMAND: { CPU: e.demand.cpu, MEMORY: e.demand.mem, DISK_MB: e.demand.diskMb },
    CHOICE:
      e.choice === undefined
        ? null
        : { HOST_ID: e.choice.hostId, DS_ID: e.choice.dsId, RANK: rankOf(e.choice.rank) ?? 0 },
    REJECTED: Object.fromEntries(Object.entries(e.rejected).filter(([, n]) => n !== undefined)) as Record<
      string,
      number
    >,
    HOSTS: e.hosts.map((h) => ({
      ID: h.id,
      NAME: h.name,
      CLUSTER_ID: h.clusterId,
      ...verdictFields(h),
      DS_ID: h.datastoreId ?? null,
    })),
    DATASTORES: e.datastores.map((d) => ({ ID: d.id, NAME: d.name, ...verdictFields(d) })),
    NETWORKS: e.networks.map((n) => ({ NIC_ID: n.nicId, ID: n.id, NAME: n.name, ...verdictFields(n) })),
  };
}
