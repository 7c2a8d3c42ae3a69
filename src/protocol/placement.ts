import { Type, type Static } from 'typebox';

/**
 * `GET /api/v1/vms/:id/placement` (a Nimbus extension): what the scheduler would do with the VM
 * now and why, candidate by candidate. Figures are OpenNebula's HOST_SHARE units: CPU in
 * hundredths of a core, MEMORY in KB.
 */
const Verdict = Type.Union([Type.Literal('SELECTED'), Type.Literal('ELIGIBLE'), Type.Literal('REJECTED')]);

/** Rank of a candidate that passed; null for a rejected one. */
const Rank = Type.Union([Type.Number(), Type.Null()]);

/** Every candidate's id and name … */
const named = { ID: Type.Integer(), NAME: Type.String() };
/** … and what the scheduler made of it. */
const judged = {
  VERDICT: Verdict,
  /** '' unless rejected: HOST_STATE, PERMISSION, CPU, MEMORY, REQUIREMENTS, VM_AFFINITY … */
  REASON_CODE: Type.String(),
  REASON: Type.String(),
  RANK: Rank,
};

export const PlacementHost = Type.Object({
  ...named,
  CLUSTER_ID: Type.Integer(),
  ...judged,
  /** The system datastore the VM would use on this host; null when rejected. */
  DS_ID: Type.Union([Type.Integer(), Type.Null()]),
});
export type PlacementHost = Static<typeof PlacementHost>;

export const PlacementDatastore = Type.Object({ ...named, ...judged });
export type PlacementDatastore = Static<typeof PlacementDatastore>;

export const PlacementNetwork = Type.Object({ NIC_ID: Type.Integer(), ...named, ...judged });
export type PlacementNetwork = Static<typeof PlacementNetwork>;

export const Placement = Type.Object({
  VM_ID: Type.Integer(),
  /** PENDING, HOLD, RUNNING … (the LCM state name while ACTIVE). */
  STATE: Type.String(),
  PENDING: Type.Boolean(),
  /** USER_TEMPLATE/SCHED_MESSAGE as the scheduler last wrote it, or ''. */
  SCHED_MESSAGE: Type.String(),
  /** What the scheduler would write now (without the time); '' when the VM can be placed. */
  MESSAGE: Type.String(),
  /** Since when (epoch s) this nimbusd has seen the VM pending without a host; null when it has not. */
  PENDING_SINCE: Type.Union([Type.Integer(), Type.Null()]),
  REQUIREMENTS: Type.String(),
  RANK: Type.String(),
  DS_REQUIREMENTS: Type.String(),
  DS_RANK: Type.String(),
  /** Grouping warnings of the expressions (`&` and `|` mixed without parentheses). */
  WARNINGS: Type.Array(Type.String()),
  DEMAND: Type.Object({ CPU: Type.Number(), MEMORY: Type.Number(), DISK_MB: Type.Number() }),
  CHOICE: Type.Union([
    Type.Object({ HOST_ID: Type.Integer(), DS_ID: Type.Integer(), RANK: Type.Number() }),
    Type.Null(),
  ]),
  /** Rejected hosts per reason code. */
  REJECTED: Type.Record(Type.String(), Type.Integer()),
  HOSTS: Type.Array(PlacementHost),
  DATASTORES: Type.Array(PlacementDatastore),
  NETWORKS: Type.Array(PlacementNetwork),
});
export type Placement = Static<typeof Placement>;
