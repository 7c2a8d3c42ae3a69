/**
 * The controller <-> agent contract (docs/decisions/agent-protocol.md). One WebSocket, or an
 * in-memory pair for embedded and simulated hosts, carries JSON text frames; each frame is one
 * message with a `type`. Both ends decode every frame with `decodeAgentMessage`.
 *
 * Naming: envelope fields are camelCase (`opId`, `vmId`); payloads that are OpenNebula attributes
 * keep OpenNebula's names and units (deployment spec: `CPU`, `VCPU`, `MEMORY` in MB as in the VM
 * template; monitoring: the §12.2 / §12.3 keys, memory in KB, CPU in percent of one core).
 */
import { Type, type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { fail, ok, type Result } from '../domain/errors.js';
import type { TmOp, VmmOp } from '../domain/vm/plan.js';

/** Bumped on any incompatible change; the controller refuses a hello with another number. */
export const AGENT_PROTOCOL_VERSION = 1;

/** Largest frame either side accepts (a monitor-vms report of 20,000 VMs fits). */
export const MAX_FRAME_BYTES = 32 * 1024 * 1024;

// ---- operation names: exactly the domain's effect names ------------------------------------

/** Every `{kind:'vmm', op}` effect of src/domain/vm/plan.ts. */
export const VMM_OPS = [
  'deploy',
  'restore',
  'shutdown',
  'cancel',
  'save',
  'migrate',
  'reboot',
  'reset',
  'attach-disk',
  'detach-disk',
  'attach-nic',
  'detach-nic',
  'snapshot-create',
  'snapshot-revert',
  'snapshot-delete',
  'disk-snapshot-create',
  'disk-resize',
  'resize',
  'update-conf',
  'backup',
  'backup-cancel',
  'cleanup',
  'cleanup-previous',
  'cleanup-both',
  'driver-cancel',
] as const satisfies readonly VmmOp[];

/** Every `{kind:'tm', op}` effect of src/domain/vm/plan.ts. */
export const TM_OPS = [
  'prolog',
  'prolog-migrate',
  'prolog-resume',
  'prolog-attach',
  'epilog',
  'epilog-local',
  'epilog-stop',
  'epilog-detach',
  'epilog-delete',
  'epilog-delete-both',
  'snapshot-create',
  'snapshot-revert',
  'snapshot-delete',
  'resize',
  'saveas',
  'restore',
  'driver-cancel',
] as const satisfies readonly TmOp[];

// Compile-time proof that the lists above name every domain op (a new domain op breaks the build here).
type Missing<All, Listed> = Exclude<All, Listed>;
const _everyVmmOp: [Missing<VmmOp, (typeof VMM_OPS)[number]>] extends [never] ? true : never = true;
const _everyTmOp: [Missing<TmOp, (typeof TM_OPS)[number]>] extends [never] ? true : never = true;

// ---- shared pieces -------------------------------------------------------------------------

const VmId = Type.Integer({ minimum: 0, maximum: 2147483647 });
const HostId = Type.Integer({ minimum: 0, maximum: 2147483647 });
/** Chosen by the controller, unique per operation, the idempotency key: `vm42-deploy-7`. */
export const OpId = Type.String({ pattern: '^[A-Za-z0-9._:-]{1,128}$' });
/** Hypervisor name of a VM: `one-<id>` (OpenNebula's DEPLOY_ID). */
export const DeployId = Type.String({ pattern: '^[A-Za-z0-9._:-]{1,128}$' });
/** Epoch seconds, as OpenNebula's TIMESTAMP / LAST_POLL. */
const Timestamp = Type.Integer({ minimum: 0 });
const Counter = Type.Number({ minimum: 0 });
const Path = Type.String({ minLength: 1, maxLength: 4096 });
const Message = Type.String({ maxLength: 65536 });

/** DISK of a deployment spec: what the hypervisor opens, after the TM prolog put it in place. */
export const DeployDisk = Type.Object(
  {
    DISK_ID: Type.Integer({ minimum: 0 }),
    /** Path (file or block device) in the VM's system datastore directory, or a device. */
    SOURCE: Path,
    /** Guest device name: `vda`, `sdb`, `hdc` (reference §9.6). */
    TARGET: Type.String({ pattern: '^[a-z]{2,3}[a-z]{1,2}$' }),
    FORMAT: Type.Union([Type.Literal('raw'), Type.Literal('qcow2')]),
    TYPE: Type.Optional(
      Type.Union([Type.Literal('FILE'), Type.Literal('BLOCK'), Type.Literal('CDROM'), Type.Literal('SWAP')]),
    ),
    READONLY: Type.Boolean(),
    /** Size in MB, as OpenNebula's DISK/SIZE. */
    SIZE: Type.Optional(Type.Integer({ minimum: 0 })),
    CACHE: Type.Optional(Type.String({ maxLength: 32 })),
    DEV_PREFIX: Type.Optional(Type.String({ maxLength: 8 })),
  },
  { additionalProperties: false },
);
export type DeployDisk = Static<typeof DeployDisk>;

export const DeployNic = Type.Object(
  {
    NIC_ID: Type.Integer({ minimum: 0 }),
    MAC: Type.String({ pattern: '^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$' }),
    BRIDGE: Type.String({ minLength: 1, maxLength: 15 }),
    /** `virtio`, `e1000` ... */
    MODEL: Type.String({ minLength: 1, maxLength: 32 }),
    /** Host tap device: `one-42-0`. */
    TARGET: Type.String({ minLength: 1, maxLength: 15 }),
    VLAN_ID: Type.Optional(Type.Integer({ minimum: 0, maximum: 4095 })),
    MTU: Type.Optional(Type.Integer({ minimum: 68, maximum: 65535 })),
  },
  { additionalProperties: false },
);
export type DeployNic = Static<typeof DeployNic>;

export const DeployGraphics = Type.Object(
  {
    TYPE: Type.Union([Type.Literal('VNC'), Type.Literal('SPICE')]),
    /** VNC port rule of reference §8.1 (5900 + id); the agent listens on a unix socket regardless. */
    PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
    PASSWD: Type.Optional(Type.String({ maxLength: 64 })),
    KEYMAP: Type.Optional(Type.String({ maxLength: 16 })),
  },
  { additionalProperties: false },
);

/** The context CD-ROM the TM prolog built (reference §6.1). */
export const DeployContext = Type.Object(
  { DISK_ID: Type.Integer({ minimum: 0 }), SOURCE: Path, TARGET: Type.String({ pattern: '^[a-z]{3,5}$' }) },
  { additionalProperties: false },
);

/** What the hypervisor needs to start one VM: OpenNebula's deployment file, as JSON. */
export const DeploymentSpec = Type.Object(
  {
    VMID: VmId,
    NAME: Type.String({ minLength: 1, maxLength: 256 }),
    DEPLOY_ID: DeployId,
    /** Physical CPU share (0.5 = half a core), for the host's CPU accounting. */
    CPU: Type.Number({ exclusiveMinimum: 0, maximum: 4096 }),
    VCPU: Type.Integer({ minimum: 1, maximum: 4096 }),
    /** MB, as the VM template. */
    MEMORY: Type.Integer({ minimum: 1 }),
    DISK: Type.Array(DeployDisk, { maxItems: 256 }),
    NIC: Type.Array(DeployNic, { maxItems: 256 }),
    GRAPHICS: Type.Optional(DeployGraphics),
    CONTEXT: Type.Optional(DeployContext),
    OS: Type.Optional(
      Type.Object(
        {
          ARCH: Type.Optional(Type.String({ maxLength: 32 })),
          MACHINE: Type.Optional(Type.String({ maxLength: 64 })),
          BOOT: Type.Optional(Type.String({ maxLength: 256 })),
          FIRMWARE: Type.Optional(Type.String({ maxLength: 256 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type DeploymentSpec = Static<typeof DeploymentSpec>;

/** Where a live migration streams to, as the receiving agent announced it. */
export const MigrationTarget = Type.Object(
  { hostId: HostId, uri: Type.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false },
);
export type MigrationTarget = Static<typeof MigrationTarget>;

/** CPU / VCPU / MEMORY (MB) of a resize. */
export const ResizeSpec = Type.Object(
  {
    CPU: Type.Number({ exclusiveMinimum: 0, maximum: 4096 }),
    VCPU: Type.Integer({ minimum: 1, maximum: 4096 }),
    MEMORY: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);
export type ResizeSpec = Static<typeof ResizeSpec>;

// ---- operation arguments, per op -----------------------------------------------------------

const NoArgs = Type.Object({}, { additionalProperties: false });
const Checkpoint = Type.Object({ checkpoint: Path }, { additionalProperties: false });

/** Arguments of each VMM op; an op missing here takes `{}`. */
export const VMM_ARGS = {
  deploy: Type.Object({ spec: DeploymentSpec }, { additionalProperties: false }),
  /** Resume a saved VM (SUSPENDED, or after a cold migration) from its checkpoint file. */
  restore: Type.Object({ spec: DeploymentSpec, checkpoint: Path }, { additionalProperties: false }),
  /** Graceful ACPI shutdown; the agent cancels (hard) after `timeoutS` when set. */
  shutdown: Type.Object(
    { timeoutS: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400 })) },
    { additionalProperties: false },
  ),
  save: Checkpoint,
  /**
   * Live migration, two operations: `receive` on the destination (answers the target to stream
   * to), then `send` on the source with that target.
   */
  migrate: Type.Union([
    Type.Object({ role: Type.Literal('receive'), spec: DeploymentSpec }, { additionalProperties: false }),
    Type.Object({ role: Type.Literal('send'), target: MigrationTarget }, { additionalProperties: false }),
  ]),
  'attach-disk': Type.Object({ disk: DeployDisk }, { additionalProperties: false }),
  'detach-disk': Type.Object({ diskId: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
  'attach-nic': Type.Object({ nic: DeployNic }, { additionalProperties: false }),
  'detach-nic': Type.Object({ nicId: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
  resize: Type.Object({ resize: ResizeSpec }, { additionalProperties: false }),
  'disk-resize': Type.Object(
    { diskId: Type.Integer({ minimum: 0 }), size: Type.Integer({ minimum: 1 }) },
    { additionalProperties: false },
  ),
  'snapshot-create': Type.Object(
    { snapshotId: Type.Integer({ minimum: 0 }), name: Type.Optional(Type.String({ maxLength: 128 })) },
    { additionalProperties: false },
  ),
  'snapshot-revert': Type.Object(
    { snapshotId: Type.Integer({ minimum: 0 }) },
    { additionalProperties: false },
  ),
  'snapshot-delete': Type.Object(
    { snapshotId: Type.Integer({ minimum: 0 }) },
    { additionalProperties: false },
  ),
  'disk-snapshot-create': Type.Object(
    { diskId: Type.Integer({ minimum: 0 }), snapshotId: Type.Integer({ minimum: 0 }) },
    { additionalProperties: false },
  ),
  'update-conf': Type.Object({ spec: DeploymentSpec }, { additionalProperties: false }),
  /** Abort the operation `target` in flight. */
  'driver-cancel': Type.Object({ target: OpId }, { additionalProperties: false }),
} as const satisfies Partial<Record<VmmOp, TSchema>>;

/** One disk the TM moves (reference §9.3: CLONE, LN, MKIMAGE, MV, MVDS, DELETE). */
export const TransferDisk = Type.Object(
  {
    DISK_ID: Type.Integer({ minimum: 0 }),
    /** The image in its datastore (absent for volatile disks). */
    SOURCE: Type.Optional(Path),
    /** Where the disk lives in the system datastore: `<sysdir>/disk.<i>`. */
    PATH: Path,
    FORMAT: Type.Union([Type.Literal('raw'), Type.Literal('qcow2')]),
    /** clone: a qcow2 overlay / copy (non-persistent); link: the image itself (persistent). */
    MODE: Type.Union([Type.Literal('clone'), Type.Literal('link'), Type.Literal('volatile')]),
    SIZE: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type TransferDisk = Static<typeof TransferDisk>;

/** Arguments shared by the TM ops (their exact use is the transfer manager's, per op). */
export const TmArgs = Type.Object(
  {
    /** `<DATASTORE_LOCATION>/<sys_ds_id>/<vmid>` on this host. */
    systemDir: Path,
    disks: Type.Optional(Type.Array(TransferDisk, { maxItems: 256 })),
    /** context.sh text and extra files for the context ISO (prolog, prolog-attach). */
    context: Type.Optional(
      Type.Object(
        {
          DISK_ID: Type.Integer({ minimum: 0 }),
          contextSh: Type.String({ maxLength: 1_048_576 }),
          files: Type.Optional(Type.Array(Path, { maxItems: 64 })),
        },
        { additionalProperties: false },
      ),
    ),
    /** The other host of a move (prolog-migrate, epilog-delete-both). */
    otherHost: Type.Optional(Type.Object({ hostId: HostId, address: Type.String({ maxLength: 1024 }) })),
    diskId: Type.Optional(Type.Integer({ minimum: 0 })),
    snapshotId: Type.Optional(Type.Integer({ minimum: 0 })),
    size: Type.Optional(Type.Integer({ minimum: 1 })),
    /** saveas: where the copy goes. */
    destination: Type.Optional(Path),
    /** driver-cancel: the operation to abort. */
    target: Type.Optional(OpId),
  },
  { additionalProperties: false },
);
export type TmArgs = Static<typeof TmArgs>;

export type VmmArgs<Op extends VmmOp> = Op extends keyof typeof VMM_ARGS
  ? Static<(typeof VMM_ARGS)[Op]>
  : Record<string, never>;

interface OperationBase {
  readonly type: 'operation';
  readonly opId: string;
  readonly vmId: number;
  /** The VM's hypervisor name when it has one (every op but prolog/deploy of a new VM). */
  readonly deployId?: string;
  /** Give up (and answer a failure) after this long; absent = the agent's default. */
  readonly timeoutS?: number;
}
export type VmmOperation = {
  [Op in VmmOp]: OperationBase & { readonly driver: 'vmm'; readonly op: Op; readonly args: VmmArgs<Op> };
}[VmmOp];
export type TmOperation = OperationBase & { readonly driver: 'tm'; readonly op: TmOp; readonly args: TmArgs };
export type Operation = VmmOperation | TmOperation;

const OperationHead = Type.Object({
  type: Type.Literal('operation'),
  opId: OpId,
  vmId: VmId,
  deployId: Type.Optional(DeployId),
  timeoutS: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400 })),
  driver: Type.Union([Type.Literal('vmm'), Type.Literal('tm')]),
  op: Type.String({ maxLength: 64 }),
  args: Type.Unknown(),
});

// ---- agent -> controller -------------------------------------------------------------------

/** What the driver of this host can do (DriverCaps of the domain), sent in hello. */
export const AgentCapabilities = Type.Object(
  {
    keepSnapshots: Type.Boolean(),
    coldNicAttach: Type.Boolean(),
    liveResize: Type.Boolean(),
    liveMigrate: Type.Boolean(),
    /** Ops this agent runs; the controller refuses an action whose op is missing, before it starts. */
    operations: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 128 }),
  },
  { additionalProperties: false },
);
export type AgentCapabilities = Static<typeof AgentCapabilities>;

export const Hello = Type.Object(
  {
    type: Type.Literal('hello'),
    protocol: Type.Integer({ minimum: 1 }),
    hostId: HostId,
    /** First contact: the one-time join token of `nimbus host create`; afterwards the host key from welcome. */
    credential: Type.Union([
      Type.Object(
        { kind: Type.Literal('join-token'), token: Type.String({ minLength: 16, maxLength: 512 }) },
        { additionalProperties: false },
      ),
      Type.Object(
        { kind: Type.Literal('host-key'), key: Type.String({ minLength: 16, maxLength: 512 }) },
        { additionalProperties: false },
      ),
    ]),
    agentVersion: Type.String({ minLength: 1, maxLength: 64 }),
    /** VM_MAD of the host: `qemu`, `dummy`. */
    driver: Type.String({ pattern: '^[a-z][a-z0-9_-]{0,31}$' }),
    capabilities: AgentCapabilities,
  },
  { additionalProperties: false },
);
export type Hello = Static<typeof Hello>;

export const Progress = Type.Object(
  {
    type: Type.Literal('progress'),
    opId: OpId,
    percent: Type.Number({ minimum: 0, maximum: 100 }),
    message: Type.String({ maxLength: 1024 }),
  },
  { additionalProperties: false },
);
export type Progress = Static<typeof Progress>;

/** What a successful operation hands back (each field set only by the ops that produce it). */
export const OperationValue = Type.Object(
  {
    /** deploy, restore, migrate receive: the hypervisor's name for the VM. */
    deployId: Type.Optional(DeployId),
    /** migrate receive: where the source streams to. */
    target: Type.Optional(MigrationTarget),
  },
  { additionalProperties: false },
);
export type OperationValue = Static<typeof OperationValue>;

/** A driver failure: a code, the driver's message (goes to USER_TEMPLATE/ERROR) and the step that failed. */
export const OperationFailure = Type.Object(
  {
    code: Type.String({ pattern: '^[A-Z][A-Z0-9_]{0,63}$' }),
    message: Message,
    /** `deploy`, `prolog: clone disk 0`, `shutdown: wait for ACPI` — where it stopped. */
    step: Type.String({ minLength: 1, maxLength: 256 }),
  },
  { additionalProperties: false },
);
export type OperationFailure = Static<typeof OperationFailure>;

export const OperationResult = Type.Union([
  Type.Object(
    {
      type: Type.Literal('result'),
      opId: OpId,
      vmId: VmId,
      ok: Type.Literal(true),
      value: OperationValue,
      /** The answer came from the agent's record (a re-sent operation), not from a new run. */
      replayed: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('result'),
      opId: OpId,
      vmId: VmId,
      ok: Type.Literal(false),
      error: OperationFailure,
      replayed: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
]);
export type OperationResult = Static<typeof OperationResult>;

/** §12.2 SYSTEM_HOST + MONITOR_HOST keys, in their units. */
export const HostMonitoring = Type.Object(
  {
    HYPERVISOR: Type.String({ maxLength: 32 }),
    /** cores x 100 */
    TOTALCPU: Type.Integer({ minimum: 0 }),
    /** KB */
    TOTALMEMORY: Type.Integer({ minimum: 0 }),
    /** percent x cores */
    USEDCPU: Type.Number({ minimum: 0 }),
    FREECPU: Type.Number({ minimum: 0 }),
    /** KB */
    USEDMEMORY: Type.Integer({ minimum: 0 }),
    FREEMEMORY: Type.Integer({ minimum: 0 }),
    /** bytes, cumulative */
    NETRX: Counter,
    NETTX: Counter,
    CPUSPEED: Type.Optional(Type.Integer({ minimum: 0 })),
    MODELNAME: Type.Optional(Type.String({ maxLength: 256 })),
    ARCH: Type.Optional(Type.String({ maxLength: 32 })),
  },
  { additionalProperties: false },
);
export type HostMonitoring = Static<typeof HostMonitoring>;

export const MonitorHost = Type.Object(
  { type: Type.Literal('monitor-host'), timestamp: Timestamp, host: HostMonitoring },
  { additionalProperties: false },
);
export type MonitorHost = Static<typeof MonitorHost>;

/** STATE of §12.3 STATE_VM: what the hypervisor says about a VM it knows. */
export const VM_POLL_STATES = ['RUNNING', 'POWEROFF', 'SUSPENDED', 'UNKNOWN'] as const;
export type VmPollState = (typeof VM_POLL_STATES)[number];
const _pollStatesMatch: VmPollState extends Static<typeof VmReport>['STATE'] ? true : never = true;

/** §12.3 MONITOR_VM keys, in their units. */
export const VmMonitoring = Type.Object(
  {
    /** percent of one core (200 = two busy cores) */
    CPU: Type.Number({ minimum: 0 }),
    /** KB */
    MEMORY: Type.Integer({ minimum: 0 }),
    NETRX: Counter,
    NETTX: Counter,
    DISKRDBYTES: Counter,
    DISKWRBYTES: Counter,
    DISKRDIOPS: Counter,
    DISKWRIOPS: Counter,
    /** MB per disk */
    DISK_SIZE: Type.Array(
      Type.Object(
        { ID: Type.Integer({ minimum: 0 }), SIZE: Type.Integer({ minimum: 0 }) },
        { additionalProperties: false },
      ),
      { maxItems: 256 },
    ),
  },
  { additionalProperties: false },
);
export type VmMonitoring = Static<typeof VmMonitoring>;

export const VmReport = Type.Object(
  {
    DEPLOY_ID: DeployId,
    /** Nimbus VM id when the name is `one-<id>`; absent for VMs Nimbus did not create ("wild"). */
    ID: Type.Optional(VmId),
    STATE: Type.Union([
      Type.Literal('RUNNING'),
      Type.Literal('POWEROFF'),
      Type.Literal('SUSPENDED'),
      Type.Literal('UNKNOWN'),
    ]),
    MONITOR: VmMonitoring,
  },
  { additionalProperties: false },
);
export type VmReport = Static<typeof VmReport>;

export const MonitorVms = Type.Object(
  {
    type: Type.Literal('monitor-vms'),
    timestamp: Timestamp,
    /** Every VM of the host is listed: a VM missing from a complete report is missing (UNKNOWN). */
    complete: Type.Boolean(),
    vms: Type.Array(VmReport, { maxItems: 100_000 }),
  },
  { additionalProperties: false },
);
export type MonitorVms = Static<typeof MonitorVms>;

/** Either side checks the link; the other answers pong with the same seq. */
export const Ping = Type.Object(
  { type: Type.Literal('ping'), seq: Type.Integer({ minimum: 0 }) },
  { additionalProperties: false },
);
export const Pong = Type.Object(
  { type: Type.Literal('pong'), seq: Type.Integer({ minimum: 0 }) },
  { additionalProperties: false },
);
export type Ping = Static<typeof Ping>;
export type Pong = Static<typeof Pong>;

// ---- controller -> agent -------------------------------------------------------------------

export const Welcome = Type.Object(
  {
    type: Type.Literal('welcome'),
    protocol: Type.Integer({ minimum: 1 }),
    hostId: HostId,
    /** Issued when the agent joined with a token; it stores it and dials with it from now on. */
    hostKey: Type.Optional(Type.String({ minLength: 16, maxLength: 512 })),
    /** Host template attributes the driver reads (CPU, MEMORY, DUMMY_DELAY_MS, DUMMY_FAIL ...). */
    hostAttributes: Type.Record(
      Type.String({ pattern: '^[A-Z0-9_]{1,64}$' }),
      Type.String({ maxLength: 4096 }),
    ),
    /** Seconds between pushes (§12.1: MONITOR_HOST 120, MONITOR_VM 30) and pings. */
    intervals: Type.Object(
      {
        monitorHostS: Type.Integer({ minimum: 1 }),
        monitorVmsS: Type.Integer({ minimum: 1 }),
        pingS: Type.Integer({ minimum: 1 }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type Welcome = Static<typeof Welcome>;

export const REFUSAL_CODES = [
  'PROTOCOL_VERSION',
  'BAD_CREDENTIAL',
  'HOST_UNKNOWN',
  'HOST_DISABLED',
  'ALREADY_CONNECTED',
  'DRIVER_MISMATCH',
  'BAD_MESSAGE',
] as const;

/** Why the controller closes the link; `retry: false` means reconnecting will not help. */
export const Refusal = Type.Object(
  {
    type: Type.Literal('refusal'),
    code: Type.Union([
      Type.Literal('PROTOCOL_VERSION'),
      Type.Literal('BAD_CREDENTIAL'),
      Type.Literal('HOST_UNKNOWN'),
      Type.Literal('HOST_DISABLED'),
      Type.Literal('ALREADY_CONNECTED'),
      Type.Literal('DRIVER_MISMATCH'),
      Type.Literal('BAD_MESSAGE'),
    ]),
    message: Message,
    retry: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type Refusal = Static<typeof Refusal>;
const _refusalCodesMatch: (typeof REFUSAL_CODES)[number] extends Refusal['code'] ? true : never = true;

// ---- the message union and its decoder -----------------------------------------------------

export type AgentToController = Hello | Progress | OperationResult | MonitorHost | MonitorVms | Ping | Pong;
export type ControllerToAgent = Welcome | Refusal | Operation | Ping | Pong;
export type AgentMessage = AgentToController | ControllerToAgent;
export type AgentMessageType = AgentMessage['type'];

type Validator = ReturnType<typeof Compile<TSchema>>;
const compile = (schema: TSchema): Validator => Compile(schema);

const BY_TYPE: Readonly<Record<Exclude<AgentMessageType, 'operation'>, Validator>> = {
  hello: compile(Hello),
  welcome: compile(Welcome),
  refusal: compile(Refusal),
  progress: compile(Progress),
  result: compile(OperationResult),
  'monitor-host': compile(MonitorHost),
  'monitor-vms': compile(MonitorVms),
  ping: compile(Ping),
  pong: compile(Pong),
};
const FROM: Readonly<Record<AgentMessageType, 'agent' | 'controller' | 'both'>> = {
  hello: 'agent',
  progress: 'agent',
  result: 'agent',
  'monitor-host': 'agent',
  'monitor-vms': 'agent',
  welcome: 'controller',
  refusal: 'controller',
  operation: 'controller',
  ping: 'both',
  pong: 'both',
};
const OPERATION_HEAD = compile(OperationHead);
const VMM_ARG_CHECKS = new Map<string, Validator>(
  Object.entries(VMM_ARGS).map(([op, schema]) => [op, compile(schema)]),
);
const NO_ARGS = compile(NoArgs);
const TM_ARGS = compile(TmArgs);

/** `/spec/DISK/0/TARGET` -> `spec.DISK[0].TARGET` */
function fieldName(prefix: string, pointer: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let name = prefix;
  for (const part of parts) name += /^\d+$/.test(part) ? `[${part}]` : name === '' ? part : `.${part}`;
  return name === '' ? '(message)' : name;
}

interface SchemaError {
  readonly keyword: string;
  readonly schemaPath: string;
  readonly instancePath: string;
  readonly params: Record<string, unknown>;
  readonly message: string;
}

/** The first error, told as `field: what is wrong`; unknown and missing fields named. */
function describeFirstError(
  check: Validator,
  value: unknown,
  prefix: string,
): { field: string; text: string } {
  const errors = [...check.Errors(value)] as unknown as SchemaError[];
  // In a union, a branch whose literal (ok, role, kind) does not match is not the one meant.
  const wrongBranches = errors
    .filter((e) => e.keyword === 'const')
    .map((e) => /^(.*\/anyOf\/\d+)/.exec(e.schemaPath)?.[1])
    .filter((p): p is string => p !== undefined);
  const inRightBranch = (e: SchemaError): boolean =>
    !wrongBranches.some((p) => e.schemaPath === p || e.schemaPath.startsWith(`${p}/`));
  const candidates = errors.filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'boolean');
  const preferred = candidates.filter(inRightBranch);
  const useful = preferred.length > 0 ? preferred : candidates;
  const first = useful[0] ?? errors[0];
  if (first === undefined) return { field: fieldName(prefix, ''), text: 'is not valid' };
  const base = fieldName(prefix, first.instancePath);
  const join = (extra: string): string => (base === '(message)' ? extra : `${base}.${extra}`);
  if (first.keyword === 'required') {
    const missing = (first.params['requiredProperties'] as string[] | undefined)?.[0] ?? '?';
    return { field: join(missing), text: 'is required' };
  }
  if (first.keyword === 'additionalProperties') {
    const extra = (first.params['additionalProperties'] as string[] | undefined)?.[0] ?? '?';
    return { field: join(extra), text: 'is not a known field' };
  }
  return { field: base, text: first.message };
}

function refuse(
  type: string,
  check: Validator,
  value: unknown,
  prefix = '',
): { readonly ok: false; readonly error: { code: string; message: string; field?: string } } {
  const { field, text } = describeFirstError(check, value, prefix);
  return fail('BAD_AGENT_MESSAGE', `${type} message: ${field} ${text}`, field);
}

function decodeOperation(value: unknown): Result<Operation> {
  if (!OPERATION_HEAD.Check(value)) return refuse('operation', OPERATION_HEAD, value);
  const head = value as Static<typeof OperationHead>;
  const known = head.driver === 'vmm' ? VMM_OPS : TM_OPS;
  if (!(known as readonly string[]).includes(head.op)) {
    return fail(
      'BAD_AGENT_MESSAGE',
      `operation message: op "${head.op}" is not a ${head.driver} operation (one of ${known.join(', ')})`,
      'op',
    );
  }
  const check = head.driver === 'tm' ? TM_ARGS : (VMM_ARG_CHECKS.get(head.op) ?? NO_ARGS);
  if (!check.Check(head.args)) return refuse(`operation ${head.driver} ${head.op}`, check, head.args, 'args');
  return ok(value as Operation);
}

/**
 * Decodes one frame (its text, or the parsed JSON) into a message, or says which field is wrong.
 * `from` restricts the accepted messages to those that side sends (a controller decodes with
 * `from: 'agent'`).
 */
export function decodeAgentMessage(json: unknown, from?: 'agent' | 'controller'): Result<AgentMessage> {
  let value = json;
  if (typeof json === 'string') {
    if (json.length > MAX_FRAME_BYTES) {
      return fail('BAD_AGENT_MESSAGE', `frame of ${json.length} bytes exceeds ${MAX_FRAME_BYTES}`);
    }
    try {
      value = JSON.parse(json);
    } catch (e) {
      return fail('BAD_AGENT_MESSAGE', `frame is not JSON: ${(e as Error).message}`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('BAD_AGENT_MESSAGE', 'message must be a JSON object with a "type"', 'type');
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !(type in FROM)) {
    return fail(
      'BAD_AGENT_MESSAGE',
      `message: type ${JSON.stringify(type ?? null)} is not one of ${Object.keys(FROM).join(', ')}`,
      'type',
    );
  }
  const sender = FROM[type as AgentMessageType];
  if (from !== undefined && sender !== 'both' && sender !== from) {
    return fail('BAD_AGENT_MESSAGE', `message: a ${from} does not send "${type}"`, 'type');
  }
  if (type === 'operation') return decodeOperation(value);
  const check = BY_TYPE[type as Exclude<AgentMessageType, 'operation'>];
  if (!check.Check(value)) return refuse(type, check, value);
  return ok(value as AgentMessage);
}

/** One frame's text. The receiving side validates; the sender's types already hold the shape. */
export function encodeAgentMessage(message: AgentMessage): string {
  return JSON.stringify(message);
}

/** `one-<id>` (OpenNebula's DEPLOY_ID rule). */
export function deployIdOf(vmId: number): string {
  return `one-${vmId}`;
}

/** The VM id in a `one-<id>` name, or undefined for a VM Nimbus did not create. */
export function vmIdOfDeployId(deployId: string): number | undefined {
  const m = /^one-(\d{1,10})$/.exec(deployId);
  if (m === null) return undefined;
  const id = Number(m[1]);
  return id <= 2147483647 ? id : undefined;
}
