/**
 * The one interface every hypervisor driver implements (qemu, dummy), and `loadDriver`, the one
 * place a driver is chosen. The rest of the agent never asks which driver it has.
 */
import { NimbusError, type DomainError, type Result } from '../../domain/errors.js';
import type {
  DeployDisk,
  DeployNic,
  DeploymentSpec,
  HostMonitoring,
  MigrationTarget,
  ResizeSpec,
  VmMonitoring,
  VmPollState,
} from '../../protocol/agent.js';

/** Names DUMMY_FAIL accepts and failures report as their step: the protocol's VMM op names. */
export const DRIVER_OPERATIONS = [
  'deploy',
  'shutdown',
  'cancel',
  'reboot',
  'reset',
  'save',
  'restore',
  'migrate',
  'migrate-receive',
  'attach-disk',
  'detach-disk',
  'attach-nic',
  'detach-nic',
  'resize',
  'disk-resize',
  'poll',
] as const;
export type DriverOperation = (typeof DRIVER_OPERATIONS)[number];

export type DriverErrorCode =
  /** The hypervisor said no; `message` is its text. */
  | 'DRIVER_FAILED'
  | 'VM_NOT_FOUND'
  | 'DEVICE_EXISTS'
  | 'DEVICE_NOT_FOUND'
  | 'CHECKPOINT_NOT_FOUND'
  | 'ABORTED'
  | 'NOT_SUPPORTED';

/** A driver failure: what the protocol `result` carries (code, message, step). */
export interface DriverError extends DomainError {
  readonly code: DriverErrorCode;
  /** The operation and, when useful, the step inside it: `deploy`, `shutdown: wait for ACPI`. */
  readonly step: string;
}

export type DriverResult<T = void> = Result<T, DriverError>;

export function driverFailure(
  code: DriverErrorCode,
  step: string,
  message: string,
): { readonly ok: false; readonly error: DriverError } {
  return { ok: false, error: { code, step, message } };
}

/** Given to every operation that may take time. */
export interface OperationContext {
  /** Aborted when the controller sends driver-cancel or the operation times out. */
  readonly signal: AbortSignal;
  /** 0..100 with a line a person can read; forwarded as `progress` messages. */
  readonly progress: (percent: number, message: string) => void;
}

/** A VM as the hypervisor sees it now (§12.3 STATE_VM + MONITOR_VM). */
export interface PolledVm {
  readonly deployId: string;
  /** Nimbus VM id when the name is `one-<id>`. */
  readonly vmId?: number;
  readonly state: VmPollState;
  readonly monitor: VmMonitoring;
}

export interface PollReport {
  /** Epoch seconds of the sample. */
  readonly timestamp: number;
  readonly vms: readonly PolledVm[];
}

export interface HostReport {
  readonly timestamp: number;
  readonly host: HostMonitoring;
}

/** What the driver can do; goes into hello's capabilities (with the domain's DriverCaps names). */
export interface DriverCapabilities {
  readonly keepSnapshots: boolean;
  readonly coldNicAttach: boolean;
  readonly liveResize: boolean;
  readonly liveMigrate: boolean;
}

export interface HypervisorDriver {
  /** VM_MAD name: `dummy`, `qemu`. */
  readonly name: string;
  readonly capabilities: DriverCapabilities;

  /** Starts the VM; deploying a VM that already runs under that name succeeds (a re-sent deploy). */
  deploy(spec: DeploymentSpec, ctx: OperationContext): Promise<DriverResult<{ deployId: string }>>;
  /** ACPI power-off; a VM that is already gone counts as shut down. */
  shutdown(deployId: string, ctx: OperationContext): Promise<DriverResult>;
  /** Hard power-off (destroy); a VM that is already gone counts as cancelled. */
  cancel(deployId: string, ctx: OperationContext): Promise<DriverResult>;
  reboot(deployId: string, ctx: OperationContext): Promise<DriverResult>;
  /** Hard reset. */
  reset(deployId: string, ctx: OperationContext): Promise<DriverResult>;
  /** Writes the VM's memory to `checkpoint` and stops it (suspend, stop, cold migrate). */
  save(deployId: string, checkpoint: string, ctx: OperationContext): Promise<DriverResult>;
  /** Starts the VM again from `checkpoint`. */
  restore(
    spec: DeploymentSpec,
    checkpoint: string,
    ctx: OperationContext,
  ): Promise<DriverResult<{ deployId: string }>>;
  /** Destination side of a live migration: prepare to receive, answer where to stream to. */
  migrateReceive(
    spec: DeploymentSpec,
    ctx: OperationContext,
  ): Promise<DriverResult<{ deployId: string; target: MigrationTarget }>>;
  /** Source side: stream the running VM to `target`; on success it no longer runs here. */
  migrateSend(deployId: string, target: MigrationTarget, ctx: OperationContext): Promise<DriverResult>;
  attachDisk(deployId: string, disk: DeployDisk, ctx: OperationContext): Promise<DriverResult>;
  detachDisk(deployId: string, diskId: number, ctx: OperationContext): Promise<DriverResult>;
  attachNic(deployId: string, nic: DeployNic, ctx: OperationContext): Promise<DriverResult>;
  detachNic(deployId: string, nicId: number, ctx: OperationContext): Promise<DriverResult>;
  /** Grows a disk of a running VM to `sizeMb` (the guest sees the new size). */
  resizeDisk(deployId: string, diskId: number, sizeMb: number, ctx: OperationContext): Promise<DriverResult>;
  /** CPU / VCPU / MEMORY hotplug (LIVE_RESIZE). */
  resize(deployId: string, resize: ResizeSpec, ctx: OperationContext): Promise<DriverResult>;
  /** Every VM the hypervisor knows, with its figures (cheap: called every MONITOR_VM period). */
  poll(): Promise<DriverResult<PollReport>>;
  /** Capacity and usage of the host (§12.2). */
  hostInfo(): Promise<DriverResult<HostReport>>;
  /** Finishes pending writes; the driver is not used afterwards. */
  close(): Promise<void>;
}

/** Clock and timers, injectable so tests run without waiting. */
export interface DriverClock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const SYSTEM_CLOCK: DriverClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    }),
};

export interface DriverOptions {
  readonly hostId: number;
  /** The agent's state directory; a driver keeps its files under `<stateDir>/vmm-<driver>/`. */
  readonly stateDir: string;
  /** Host template attributes (CPU, MEMORY, DUMMY_DELAY_MS, DUMMY_FAIL ...), from welcome. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly clock?: DriverClock;
  /** fsync the driver's state files (default true; off for hosts simulated inside nimbusd). */
  readonly durable?: boolean;
}

export const DRIVER_NAMES = ['dummy', 'qemu'] as const;

/** The one place a driver is chosen. Throws a NimbusError a person can act on. */
export async function loadDriver(name: string, options: DriverOptions): Promise<HypervisorDriver> {
  switch (name) {
    case 'dummy': {
      const { openDummyDriver } = await import('./dummy.js');
      return openDummyDriver(options);
    }
    case 'qemu':
      throw new NimbusError(
        'DRIVER_NOT_AVAILABLE',
        'hypervisor driver "qemu" is not available yet in this build (it arrives with the real-VM issue); use "dummy"',
      );
    default:
      throw new NimbusError(
        'DRIVER_UNKNOWN',
        `hypervisor driver "${name}" is unknown; drivers are ${DRIVER_NAMES.join(', ')}`,
      );
  }
}
