/**
 * Why a host, datastore or network was not chosen, and the VM-level summary written to
 * SCHED_MESSAGE — OpenNebula's texts where it has them (reference §5.4), the same style where
 * Nimbus checks more (affinity, automatic requirements kept apart from the user's).
 */

export type HostReasonCode =
  | 'HOST_STATE'
  | 'PERMISSION'
  | 'CPU'
  | 'MEMORY'
  | 'AUTOMATIC_REQUIREMENTS'
  | 'REQUIREMENTS'
  | 'HOST_AFFINITY'
  | 'VM_AFFINITY'
  | 'CURRENT_HOST'
  | 'NO_DATASTORE'
  | 'NO_NETWORK'
  | 'DISPATCH_LIMIT';

export type DatastoreReasonCode =
  | 'DATASTORE_STATE'
  | 'PERMISSION'
  | 'AUTOMATIC_REQUIREMENTS'
  | 'REQUIREMENTS'
  | 'NOT_MONITORED'
  | 'CAPACITY'
  | 'NOT_IN_CLUSTER';

export type NetworkReasonCode = 'PERMISSION' | 'REQUIREMENTS' | 'NO_LEASES' | 'NOT_IN_CLUSTER';

/** One rejected candidate: a code for programs and OpenNebula's sentence for people. */
export interface Reason<C extends string> {
  readonly code: C;
  readonly text: string;
}

const HOST_STATE_NAMES: Readonly<Record<number, string>> = {
  0: 'INIT',
  1: 'MONITORING_MONITORED',
  2: 'MONITORED',
  3: 'ERROR',
  4: 'DISABLED',
  5: 'MONITORING_ERROR',
  6: 'MONITORING_INIT',
  7: 'MONITORING_DISABLED',
  8: 'OFFLINE',
};

export const hostReason = {
  state: (state: number): Reason<HostReasonCode> => ({
    code: 'HOST_STATE',
    text: `Host is ${HOST_STATE_NAMES[state] ?? `in state ${state}`}, not enabled to run VMs.`,
  }),
  permission: (): Reason<HostReasonCode> => ({ code: 'PERMISSION', text: 'Permission denied.' }),
  cpu: (req: number, avail: number): Reason<HostReasonCode> => ({
    code: 'CPU',
    text: `Not enough CPU capacity: ${req}/${avail}`,
  }),
  memory: (req: number, avail: number): Reason<HostReasonCode> => ({
    code: 'MEMORY',
    text: `Not enough memory: ${req}/${avail}`,
  }),
  automatic: (expr: string): Reason<HostReasonCode> => ({
    code: 'AUTOMATIC_REQUIREMENTS',
    text: `It does not fulfill AUTOMATIC_REQUIREMENTS: ${expr}`,
  }),
  requirements: (expr: string): Reason<HostReasonCode> => ({
    code: 'REQUIREMENTS',
    text: `It does not fulfill SCHED_REQUIREMENTS: ${expr}`,
  }),
  hostAffinity: (text: string): Reason<HostReasonCode> => ({ code: 'HOST_AFFINITY', text }),
  vmAffinity: (text: string): Reason<HostReasonCode> => ({ code: 'VM_AFFINITY', text }),
  currentHost: (): Reason<HostReasonCode> => ({
    code: 'CURRENT_HOST',
    text: 'The VM runs on this host and is being rescheduled away from it.',
  }),
  noDatastore: (detail: string): Reason<HostReasonCode> => ({
    code: 'NO_DATASTORE',
    text: `No suitable system datastore in cluster: ${detail}`,
  }),
  noNetwork: (nicId: number): Reason<HostReasonCode> => ({
    code: 'NO_NETWORK',
    text: `No suitable network for NIC ${nicId} in the host's cluster.`,
  }),
  dispatchLimit: (what: string): Reason<HostReasonCode> => ({ code: 'DISPATCH_LIMIT', text: what }),
};

export const datastoreReason = {
  state: (): Reason<DatastoreReasonCode> => ({ code: 'DATASTORE_STATE', text: 'Datastore is disabled.' }),
  permission: (): Reason<DatastoreReasonCode> => ({ code: 'PERMISSION', text: 'Permission denied.' }),
  automatic: (expr: string): Reason<DatastoreReasonCode> => ({
    code: 'AUTOMATIC_REQUIREMENTS',
    text: `It does not fulfill AUTOMATIC_DS_REQUIREMENTS: ${expr}`,
  }),
  requirements: (): Reason<DatastoreReasonCode> => ({
    code: 'REQUIREMENTS',
    text: 'It does not fulfill SCHED_DS_REQUIREMENTS.',
  }),
  notMonitored: (): Reason<DatastoreReasonCode> => ({ code: 'NOT_MONITORED', text: 'Not monitored.' }),
  capacity: (req: number, avail: number): Reason<DatastoreReasonCode> => ({
    code: 'CAPACITY',
    text: `Not enough capacity: ${req}/${avail} MB`,
  }),
  notInCluster: (): Reason<DatastoreReasonCode> => ({
    code: 'NOT_IN_CLUSTER',
    text: 'Not in the cluster of any host the VM may use.',
  }),
};

export const networkReason = {
  permission: (): Reason<NetworkReasonCode> => ({ code: 'PERMISSION', text: 'Permission denied.' }),
  requirements: (): Reason<NetworkReasonCode> => ({
    code: 'REQUIREMENTS',
    text: 'It does not fulfill NIC REQUIREMENTS.',
  }),
  noLeases: (): Reason<NetworkReasonCode> => ({ code: 'NO_LEASES', text: 'No free leases.' }),
  notInCluster: (): Reason<NetworkReasonCode> => ({
    code: 'NOT_IN_CLUSTER',
    text: "Not in the host's cluster.",
  }),
};

/** SCHED_MESSAGE texts (reference §5.4), without the `<ctime>: ` prefix. */
export const schedMessage = {
  noHosts: 'Cannot dispatch VM: No hosts enabled to run VMs',
  noAuthorizedHost: 'Cannot dispatch VM: User is not authorized to use any host',
  noCapacity: 'Cannot dispatch VM: No host with enough capacity to deploy the VM',
  requirements: (expr: string) =>
    `Cannot dispatch VM: No host meets capacity and SCHED_REQUIREMENTS: ${expr}`,
  noDatastores: 'Cannot dispatch VM: No system datastores found to run VMs',
  noAuthorizedDatastore: 'Cannot dispatch VM: User is not authorized to use any system datastore',
  noDatastoreCapacity: 'Cannot dispatch VM: No system datastore with enough capacity for the VM',
  dsRequirements: (expr: string) =>
    `Cannot dispatch VM: No system datastore meets capacity and SCHED_DS_REQUIREMENTS: ${expr}`,
  dispatch:
    'Cannot dispatch VM to any Host. Possible reasons: Not enough capacity in Host or System DS, dispatch limit reached, or limit of free leases reached.',
  expressionError: (attribute: string, expr: string, error: string) =>
    `Error in ${attribute}: '${expr}', error: ${error}`,
  // Nimbus: the cases OpenNebula folds into a generic text.
  affinity: (detail: string) => `Cannot dispatch VM: No host satisfies the VM group rules: ${detail}`,
  network: (nicId: number) =>
    `Cannot dispatch VM: No virtual network with free leases meets NIC ${nicId} SCHED_REQUIREMENTS in the cluster of any suitable host`,
  rescheduleNowhere: 'Cannot reschedule VM: No other host meets capacity and requirements',
};
