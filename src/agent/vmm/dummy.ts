/**
 * The `dummy` hypervisor driver: a SIMULATION of a host, for scale and fault tests. It starts no
 * VM; it keeps a VM table that behaves like a hypervisor's (deploy, shutdown, save/restore,
 * live migration, hotplug), with per-host knobs from the host template:
 *
 * * `CPU` (cores, default 16) and `MEMORY` (MB, as VM templates, default 65536) -> TOTALCPU
 *   (cores x 100) and TOTALMEMORY (KB) of §12.2;
 * * `DUMMY_DELAY_MS` (default 0): each operation takes that long (abortable);
 * * `DUMMY_FAIL = "deploy,shutdown"`: those operations fail with a driver message;
 * * `DUMMY_SEED` (default: the host id): monitoring figures are a pure function of the seed, the
 *   VM name and the time, so runs repeat.
 *
 * The table lives in `<stateDir>/vmm-dummy/vms.json` (atomic, batched writes) so a restarted
 * daemon reconciles against what "runs". Cheap at thousands of VMs: no timer per VM; counters
 * are computed when polled (base + rate x running time).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { NimbusError } from '../../domain/errors.js';
import {
  TM_OPS,
  vmIdOfDeployId,
  type DeployDisk,
  type DeployNic,
  type DeploymentSpec,
  type MigrationTarget,
  type ResizeSpec,
  type VmMonitoring,
  type VmPollState,
} from '../../protocol/agent.js';
import { JsonStateFile } from '../operations.js';
import {
  DRIVER_OPERATIONS,
  SYSTEM_CLOCK,
  driverFailure,
  type DriverCapabilities,
  type DriverClock,
  type DriverError,
  type DriverOperation,
  type DriverOptions,
  type DriverResult,
  type HostReport,
  type HypervisorDriver,
  type OperationContext,
  type PollReport,
  type PolledVm,
} from './driver.js';

export const DUMMY_DEFAULTS = { cores: 16, memoryMb: 65_536, delayMs: 0 } as const;

/** Host memory the simulated hypervisor itself uses (KB), so an empty host is not at 0. */
const HOST_OVERHEAD_KB = 512 * 1024;
/** CPU and memory figures change once per sample window (MONITOR_VM period, §12.1). */
const SAMPLE_WINDOW_MS = 30_000;
/** Disk size reported when the spec gives none (MB). */
const DEFAULT_DISK_MB = 1024;

/** DUMMY_FAIL names: the driver's operations and the TM ops the dummy transfer simulates. */
const DUMMY_FAIL_NAMES: readonly string[] = [
  ...new Set<string>([...DRIVER_OPERATIONS, ...TM_OPS.filter((op) => op !== 'driver-cancel')]),
];

export interface DummyKnobs {
  readonly cores: number;
  readonly memoryMb: number;
  readonly delayMs: number;
  /** VMM names fail the driver's operation, TM names the dummy transfer's (src/agent/transfer.ts). */
  readonly failing: ReadonlySet<string>;
  readonly seed: number;
}

/** Reads the knobs from host attributes; a bad value is refused with the attribute named. */
export function dummyKnobs(hostId: number, attributes: Readonly<Record<string, string>>): DummyKnobs {
  const number = (key: string, fallback: number, integer: boolean, min: number): number => {
    const raw = attributes[key];
    if (raw === undefined || raw.trim() === '') return fallback;
    const value = Number(raw.trim());
    if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
      throw new NimbusError(
        'BAD_HOST_ATTRIBUTE',
        `host ${hostId}: ${key} = "${raw}" is not ${integer ? 'an integer' : 'a number'} >= ${min}`,
        key,
      );
    }
    return value;
  };
  const failing = new Set<string>();
  for (const name of (attributes['DUMMY_FAIL'] ?? '').split(',').map((s) => s.trim().toLowerCase())) {
    if (name === '') continue;
    if (!DUMMY_FAIL_NAMES.includes(name)) {
      throw new NimbusError(
        'BAD_HOST_ATTRIBUTE',
        `host ${hostId}: DUMMY_FAIL names "${name}", which is not one of ${DUMMY_FAIL_NAMES.join(', ')}`,
        'DUMMY_FAIL',
      );
    }
    failing.add(name);
  }
  return {
    cores: number('CPU', DUMMY_DEFAULTS.cores, false, 0.01),
    memoryMb: number('MEMORY', DUMMY_DEFAULTS.memoryMb, true, 1),
    delayMs: number('DUMMY_DELAY_MS', DUMMY_DEFAULTS.delayMs, true, 0),
    failing,
    seed: number('DUMMY_SEED', hostId, true, 0),
  };
}

// ---- the VM table ----------------------------------------------------------------------------

type Counters = Pick<
  VmMonitoring,
  'NETRX' | 'NETTX' | 'DISKRDBYTES' | 'DISKWRBYTES' | 'DISKRDIOPS' | 'DISKWRIOPS'
>;
const COUNTER_KEYS = ['NETRX', 'NETTX', 'DISKRDBYTES', 'DISKWRBYTES', 'DISKRDIOPS', 'DISKWRIOPS'] as const;
/** Per-second rate ranges [min, max] of each counter. */
const RATES: Readonly<Record<keyof Counters, readonly [number, number]>> = {
  NETRX: [1_000, 1_000_000],
  NETTX: [500, 500_000],
  DISKRDBYTES: [4_096, 4_000_000],
  DISKWRBYTES: [4_096, 2_000_000],
  DISKRDIOPS: [1, 400],
  DISKWRIOPS: [1, 200],
};
const ZERO: Counters = { NETRX: 0, NETTX: 0, DISKRDBYTES: 0, DISKWRBYTES: 0, DISKRDIOPS: 0, DISKWRIOPS: 0 };

/** `INCOMING`: prepared to receive a live migration; not reported until the migration lands. */
type DummyVmState = VmPollState | 'INCOMING';

interface DummyVm {
  /** The deploy id: seeds the VM's figures. */
  key: string;
  name: string;
  state: DummyVmState;
  CPU: number;
  VCPU: number;
  MEMORY: number;
  disks: { id: number; target: string; size: number }[];
  nics: { id: number; mac: string }[];
  /** Counters up to `since`; they grow from there while RUNNING. */
  base: Counters;
  /** Epoch ms. */
  since: number;
}

interface DummyTable {
  version: 1;
  hostId: number;
  vms: Record<string, DummyVm>;
  /** Saved VMs by checkpoint path (suspend, stop, cold migration). */
  checkpoints: Record<string, DummyVm & { deployId: string }>;
  /** Counters of VMs that left, so host NETRX/NETTX only grow. */
  retired: { NETRX: number; NETTX: number };
  /** Prepared live-migration receivers by uri (re-registered when the driver reopens). */
  incoming?: Record<string, string>;
  /** Live migrations this host sent, deploy id -> uri: a re-run send (after a crash) succeeds. */
  sent?: Record<string, string>;
}

/** Live migrations waiting in this process: simulated hosts live in one nimbusd. */
const INCOMING = new Map<string, { driver: DummyDriver; deployId: string }>();
/** Dummy drivers open in this process (their checkpoints are on a shared system datastore). */
const OPEN_DRIVERS = new Set<DummyDriver>();

// ---- deterministic figures -------------------------------------------------------------------

/** FNV-1a, then a splitmix32 finaliser: a stable number in [0, 1) from the parts. */
function unit(...parts: readonly (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const ch of parts.join('\u0000')) {
    h ^= ch.codePointAt(0) ?? 0;
    h = Math.imul(h, 0x01000193);
  }
  h = Math.imul(h ^ (h >>> 16), 0x21f0aaad);
  h = Math.imul(h ^ (h >>> 15), 0x735a2d97);
  return ((h ^ (h >>> 15)) >>> 0) / 4294967296;
}

const between = (u: number, [min, max]: readonly [number, number]): number => min + u * (max - min);

export class DummyDriver implements HypervisorDriver {
  readonly name = 'dummy';
  readonly capabilities: DriverCapabilities = {
    keepSnapshots: true,
    coldNicAttach: false,
    liveResize: true,
    liveMigrate: true,
  };
  private readonly file: JsonStateFile;
  /** Never goes back, so counters only grow even if the wall clock does. */
  private lastNow = 0;

  constructor(
    readonly hostId: number,
    readonly knobs: DummyKnobs,
    private readonly table: DummyTable,
    readonly stateFile: string,
    private readonly clock: DriverClock,
    durable = true,
  ) {
    this.file = new JsonStateFile(stateFile, () => this.table, durable);
  }

  // ---- operations --------------------------------------------------------------------------

  deploy(spec: DeploymentSpec, ctx: OperationContext): Promise<DriverResult<{ deployId: string }>> {
    const deployId = spec.DEPLOY_ID;
    return this.operate('deploy', deployId, ctx, () => {
      const existing = this.table.vms[deployId];
      if (existing?.state === 'RUNNING') return { ok: true, value: { deployId }, changed: false };
      this.table.vms[deployId] = this.vmFrom(spec, existing?.base ?? ZERO);
      return { ok: true, value: { deployId }, changed: true };
    });
  }

  shutdown(deployId: string, ctx: OperationContext): Promise<DriverResult> {
    return this.operate('shutdown', deployId, ctx, () => ({
      ok: true,
      value: undefined,
      changed: this.remove(deployId),
    }));
  }

  cancel(deployId: string, ctx: OperationContext): Promise<DriverResult> {
    return this.operate('cancel', deployId, ctx, () => ({
      ok: true,
      value: undefined,
      changed: this.remove(deployId),
    }));
  }

  reboot(deployId: string, ctx: OperationContext): Promise<DriverResult> {
    return this.operate('reboot', deployId, ctx, () => this.withRunning('reboot', deployId, () => false));
  }

  reset(deployId: string, ctx: OperationContext): Promise<DriverResult> {
    return this.operate('reset', deployId, ctx, () => this.withRunning('reset', deployId, () => false));
  }

  save(deployId: string, checkpoint: string, ctx: OperationContext): Promise<DriverResult> {
    return this.operate('save', deployId, ctx, () =>
      // Saved already (a re-sent save whose first run's answer was lost in a crash): done.
      this.table.vms[deployId] === undefined && this.table.checkpoints[checkpoint]?.deployId === deployId
        ? { ok: true, value: undefined, changed: false }
        : this.withRunning('save', deployId, (vm) => {
            this.table.checkpoints[checkpoint] = {
              ...vm,
              deployId,
              base: this.counters(vm),
              since: this.now(),
            };
            delete this.table.vms[deployId];
            return true;
          }),
    );
  }

  restore(
    spec: DeploymentSpec,
    checkpoint: string,
    ctx: OperationContext,
  ): Promise<DriverResult<{ deployId: string }>> {
    const deployId = spec.DEPLOY_ID;
    return this.operate('restore', deployId, ctx, () => {
      let saved = this.table.checkpoints[checkpoint];
      if (saved === undefined) {
        // The system datastore is shared between the dummy hosts of one process: a checkpoint
        // saved on another host (cold migration, stop + deploy elsewhere) is found there.
        for (const other of OPEN_DRIVERS) {
          const found = other === this ? undefined : other.table.checkpoints[checkpoint];
          if (found === undefined || found.deployId !== deployId) continue;
          delete other.table.checkpoints[checkpoint];
          void other.file.save();
          saved = found;
          break;
        }
      }
      if (saved === undefined) {
        if (this.table.vms[deployId]?.state === 'RUNNING')
          return { ok: true, value: { deployId }, changed: false };
        return driverFailure(
          'CHECKPOINT_NOT_FOUND',
          'restore',
          `restore of ${deployId}: no checkpoint at ${checkpoint}`,
        );
      }
      delete this.table.checkpoints[checkpoint];
      this.table.vms[deployId] = this.vmFrom(spec, saved.base);
      return { ok: true, value: { deployId }, changed: true };
    });
  }

  migrateReceive(
    spec: DeploymentSpec,
    ctx: OperationContext,
  ): Promise<DriverResult<{ deployId: string; target: MigrationTarget }>> {
    const deployId = spec.DEPLOY_ID;
    return this.operate('migrate-receive', deployId, ctx, () => {
      if (this.table.vms[deployId]?.state === 'RUNNING') {
        return driverFailure(
          'DRIVER_FAILED',
          'migrate-receive',
          `${deployId} already runs on host ${this.hostId}`,
        );
      }
      const uri = `dummy://host-${this.hostId}/${deployId}/${randomBytes(6).toString('hex')}`;
      this.table.vms[deployId] = { ...this.vmFrom(spec, ZERO), state: 'INCOMING' };
      (this.table.incoming ??= {})[uri] = deployId;
      INCOMING.set(uri, { driver: this, deployId });
      return { ok: true, value: { deployId, target: { hostId: this.hostId, uri } }, changed: true };
    });
  }

  migrateSend(deployId: string, target: MigrationTarget, ctx: OperationContext): Promise<DriverResult> {
    return this.operate('migrate', deployId, ctx, () => {
      // Sent already (a re-run after a crash): done.
      if (this.table.vms[deployId] === undefined && this.table.sent?.[deployId] === target.uri) {
        return { ok: true, value: undefined, changed: false };
      }
      return this.withRunning('migrate', deployId, (vm) => {
        const incoming = INCOMING.get(target.uri);
        if (incoming === undefined || incoming.deployId !== deployId) {
          return driverFailure(
            'DRIVER_FAILED',
            'migrate: connect to destination',
            `migrate of ${deployId}: no host is waiting at ${target.uri} (dummy migrations work between hosts of one process)`,
          );
        }
        INCOMING.delete(target.uri);
        const counters = this.counters(vm);
        this.remove(deployId);
        (this.table.sent ??= {})[deployId] = target.uri;
        incoming.driver.landMigration(deployId, counters, target.uri);
        return true;
      });
    });
  }

  attachDisk(deployId: string, disk: DeployDisk, ctx: OperationContext): Promise<DriverResult> {
    return this.operate('attach-disk', deployId, ctx, () =>
      this.withRunning('attach-disk', deployId, (vm) => {
        if (vm.disks.some((d) => d.id === disk.DISK_ID || d.target === disk.TARGET)) {
          return driverFailure(
            'DEVICE_EXISTS',
            'attach-disk',
            `${deployId} already has disk ${disk.DISK_ID} or a disk on ${disk.TARGET}`,
          );
        }
        vm.disks.push({ id: disk.DISK_ID, target: disk.TARGET, size: disk.SIZE ?? DEFAULT_DISK_MB });
        return true;
      }),
    );
  }

  detachDisk(deployId: string, diskId: number, ctx: OperationContext): Promise<DriverResult> {
    return this.operate('detach-disk', deployId, ctx, () =>
      this.withRunning('detach-disk', deployId, (vm) => {
        const index = vm.disks.findIndex((d) => d.id === diskId);
        if (index < 0)
          return driverFailure('DEVICE_NOT_FOUND', 'detach-disk', `${deployId} has no disk ${diskId}`);
        vm.disks.splice(index, 1);
        return true;
      }),
    );
  }

  resizeDisk(deployId: string, diskId: number, sizeMb: number, ctx: OperationContext): Promise<DriverResult> {
    return this.operate('disk-resize', deployId, ctx, () =>
      this.withRunning('disk-resize', deployId, (vm) => {
        const disk = vm.disks.find((d) => d.id === diskId);
        if (disk === undefined)
          return driverFailure('DEVICE_NOT_FOUND', 'disk-resize', `${deployId} has no disk ${diskId}`);
        if (sizeMb < disk.size)
          return driverFailure('DRIVER_FAILED', 'disk-resize', `disk ${diskId} of ${deployId} cannot shrink`);
        disk.size = sizeMb;
        return true;
      }),
    );
  }

  attachNic(deployId: string, nic: DeployNic, ctx: OperationContext): Promise<DriverResult> {
    return this.operate('attach-nic', deployId, ctx, () =>
      this.withRunning('attach-nic', deployId, (vm) => {
        if (vm.nics.some((n) => n.id === nic.NIC_ID || n.mac === nic.MAC)) {
          return driverFailure(
            'DEVICE_EXISTS',
            'attach-nic',
            `${deployId} already has NIC ${nic.NIC_ID} or MAC ${nic.MAC}`,
          );
        }
        vm.nics.push({ id: nic.NIC_ID, mac: nic.MAC });
        return true;
      }),
    );
  }

  detachNic(deployId: string, nicId: number, ctx: OperationContext): Promise<DriverResult> {
    return this.operate('detach-nic', deployId, ctx, () =>
      this.withRunning('detach-nic', deployId, (vm) => {
        const index = vm.nics.findIndex((n) => n.id === nicId);
        if (index < 0)
          return driverFailure('DEVICE_NOT_FOUND', 'detach-nic', `${deployId} has no NIC ${nicId}`);
        vm.nics.splice(index, 1);
        return true;
      }),
    );
  }

  resize(deployId: string, resize: ResizeSpec, ctx: OperationContext): Promise<DriverResult> {
    return this.operate('resize', deployId, ctx, () =>
      this.withRunning('resize', deployId, (vm) => {
        vm.CPU = resize.CPU;
        vm.VCPU = resize.VCPU;
        vm.MEMORY = resize.MEMORY;
        return true;
      }),
    );
  }

  async poll(): Promise<DriverResult<PollReport>> {
    if (this.knobs.failing.has('poll')) {
      return driverFailure(
        'DRIVER_FAILED',
        'poll',
        `poll of host ${this.hostId} failed: DUMMY_FAIL includes "poll"`,
      );
    }
    const now = this.now();
    const vms: PolledVm[] = [];
    for (const [deployId, vm] of Object.entries(this.table.vms)) {
      if (vm.state === 'INCOMING') continue;
      const vmId = vmIdOfDeployId(deployId);
      vms.push({
        deployId,
        ...(vmId === undefined ? {} : { vmId }),
        state: vm.state,
        monitor: this.figures(deployId, vm, now),
      });
    }
    return { ok: true, value: { timestamp: Math.floor(now / 1000), vms } };
  }

  async hostInfo(): Promise<DriverResult<HostReport>> {
    const now = this.now();
    const totalCpu = Math.round(this.knobs.cores * 100);
    const totalMemory = this.knobs.memoryMb * 1024;
    let cpu = 0;
    let memory = HOST_OVERHEAD_KB;
    let netrx = this.table.retired.NETRX;
    let nettx = this.table.retired.NETTX;
    for (const [deployId, vm] of Object.entries(this.table.vms)) {
      if (vm.state === 'INCOMING') continue;
      const f = this.figures(deployId, vm, now);
      cpu += f.CPU;
      memory += f.MEMORY;
      netrx += f.NETRX;
      nettx += f.NETTX;
    }
    const usedCpu = Math.min(totalCpu, Math.round(cpu));
    const usedMemory = Math.min(totalMemory, memory);
    return {
      ok: true,
      value: {
        timestamp: Math.floor(now / 1000),
        host: {
          HYPERVISOR: 'dummy',
          TOTALCPU: totalCpu,
          TOTALMEMORY: totalMemory,
          USEDCPU: usedCpu,
          FREECPU: totalCpu - usedCpu,
          USEDMEMORY: usedMemory,
          FREEMEMORY: totalMemory - usedMemory,
          NETRX: netrx,
          NETTX: nettx,
          CPUSPEED: 2400,
          MODELNAME: 'Nimbus dummy CPU',
          ARCH: 'x86_64',
        },
      },
    };
  }

  async close(): Promise<void> {
    OPEN_DRIVERS.delete(this);
    for (const [uri, incoming] of INCOMING) if (incoming.driver === this) INCOMING.delete(uri);
    await this.file.flush();
  }

  // ---- fault injection, beyond the interface ---------------------------------------------------

  /**
   * What happens to a VM behind the controller's back: the guest powers itself off, gets
   * suspended, crashes (vanishes) or comes back running.
   */
  async simulate(deployId: string, event: 'poweroff' | 'suspend' | 'vanish' | 'run'): Promise<boolean> {
    const vm = this.table.vms[deployId];
    if (vm === undefined || vm.state === 'INCOMING') return false;
    if (event === 'vanish') this.remove(deployId);
    else this.setState(vm, event === 'poweroff' ? 'POWEROFF' : event === 'suspend' ? 'SUSPENDED' : 'RUNNING');
    await this.file.save();
    return true;
  }

  /** Deploy ids in the table (tests, reconciliation). */
  deployIds(): string[] {
    return Object.keys(this.table.vms);
  }

  // ---- internals -----------------------------------------------------------------------------

  /**
   * The common frame of an operation: progress, DUMMY_DELAY_MS (abortable), DUMMY_FAIL, the
   * change, one batched write of the table.
   */
  private async operate<T>(
    op: DriverOperation,
    deployId: string,
    ctx: OperationContext,
    change: () => (DriverResult<T> & { changed?: boolean }) | { ok: true; value: T; changed: boolean },
  ): Promise<DriverResult<T>> {
    ctx.progress(0, `${op} ${deployId} on dummy host ${this.hostId}`);
    if (this.knobs.delayMs > 0) {
      try {
        await this.clock.sleep(this.knobs.delayMs, ctx.signal);
      } catch {
        return driverFailure(
          'ABORTED',
          op,
          `${op} of ${deployId} aborted: ${String(ctx.signal.reason ?? 'cancelled')}`,
        );
      }
    }
    if (ctx.signal.aborted) {
      return driverFailure(
        'ABORTED',
        op,
        `${op} of ${deployId} aborted: ${String(ctx.signal.reason ?? 'cancelled')}`,
      );
    }
    if (this.knobs.failing.has(op)) {
      return driverFailure(
        'DRIVER_FAILED',
        op,
        `${op} of ${deployId} failed: host ${this.hostId} has DUMMY_FAIL = "${[...this.knobs.failing].join(',')}"`,
      );
    }
    const outcome = change();
    if (!outcome.ok) return { ok: false, error: outcome.error };
    if (outcome.changed !== false) await this.file.save();
    ctx.progress(100, `${op} ${deployId} done`);
    return { ok: true, value: outcome.value };
  }

  private withRunning(
    op: DriverOperation,
    deployId: string,
    change: (vm: DummyVm) => boolean | { readonly ok: false; readonly error: DriverError },
  ): DriverResult & { changed?: boolean } {
    const vm = this.table.vms[deployId];
    if (vm === undefined || vm.state === 'INCOMING') {
      return driverFailure('VM_NOT_FOUND', op, `${op}: ${deployId} is not running on host ${this.hostId}`);
    }
    if (vm.state !== 'RUNNING') {
      return driverFailure(
        'DRIVER_FAILED',
        op,
        `${op}: ${deployId} is ${vm.state} on host ${this.hostId}, not RUNNING`,
      );
    }
    const changed = change(vm);
    if (typeof changed === 'object') return changed;
    return { ok: true, value: undefined, changed };
  }

  /** Called on the destination when a live migration lands. */
  private landMigration(deployId: string, counters: Counters, uri: string): void {
    if (this.table.incoming !== undefined) delete this.table.incoming[uri];
    if (this.table.sent !== undefined) delete this.table.sent[deployId];
    const vm = this.table.vms[deployId];
    if (vm === undefined) return;
    vm.state = 'RUNNING';
    vm.base = counters;
    vm.since = this.now();
    void this.file.save();
  }

  private vmFrom(spec: DeploymentSpec, base: Counters): DummyVm {
    return {
      key: spec.DEPLOY_ID,
      name: spec.NAME,
      state: 'RUNNING',
      CPU: spec.CPU,
      VCPU: spec.VCPU,
      MEMORY: spec.MEMORY,
      disks: spec.DISK.map((d) => ({ id: d.DISK_ID, target: d.TARGET, size: d.SIZE ?? DEFAULT_DISK_MB })),
      nics: spec.NIC.map((n) => ({ id: n.NIC_ID, mac: n.MAC })),
      base: { ...base },
      since: this.now(),
    };
  }

  /** Drops a VM from the table, keeping its network counters in the host's. True when it was there. */
  private remove(deployId: string): boolean {
    const vm = this.table.vms[deployId];
    if (vm === undefined) return false;
    const c = this.counters(vm);
    this.table.retired.NETRX += c.NETRX;
    this.table.retired.NETTX += c.NETTX;
    delete this.table.vms[deployId];
    for (const [uri, incoming] of INCOMING) {
      if (incoming.driver === this && incoming.deployId === deployId) INCOMING.delete(uri);
    }
    for (const [uri, id] of Object.entries(this.table.incoming ?? {})) {
      if (id === deployId) delete this.table.incoming![uri];
    }
    return true;
  }

  private setState(vm: DummyVm, state: DummyVmState): void {
    vm.base = this.counters(vm);
    vm.since = this.now();
    vm.state = state;
  }

  private now(): number {
    this.lastNow = Math.max(this.lastNow, this.clock.now());
    return this.lastNow;
  }

  /** Counters grow at a per-VM rate only while RUNNING. */
  private counters(vm: DummyVm, now = this.now()): Counters {
    if (vm.state !== 'RUNNING') return { ...vm.base };
    const seconds = Math.max(0, now - vm.since) / 1000;
    const out = { ...ZERO };
    for (const key of COUNTER_KEYS) {
      const rate = between(unit(this.knobs.seed, vm.key, key), RATES[key]);
      out[key] = vm.base[key] + Math.floor(rate * seconds);
    }
    return out;
  }

  private figures(deployId: string, vm: DummyVm, now: number): VmMonitoring {
    const running = vm.state === 'RUNNING';
    const window = Math.floor(now / SAMPLE_WINDOW_MS);
    // Busy between 2% and 90% of its VCPUs; using 30%..95% of its memory.
    const load = 0.02 + 0.88 * unit(this.knobs.seed, deployId, 'cpu', window);
    const memoryShare = 0.3 + 0.65 * unit(this.knobs.seed, deployId, 'memory', window);
    return {
      CPU: running ? Math.round(vm.VCPU * 100 * load * 100) / 100 : 0,
      MEMORY: running ? Math.floor(vm.MEMORY * 1024 * memoryShare) : 0,
      ...this.counters(vm, now),
      DISK_SIZE: vm.disks.map((d) => ({ ID: d.id, SIZE: d.size })),
    };
  }
}

function emptyTable(hostId: number): DummyTable {
  return { version: 1, hostId, vms: {}, checkpoints: {}, retired: { NETRX: 0, NETTX: 0 } };
}

/** Opens the dummy driver of a host, reloading its VM table from the state directory. */
export async function openDummyDriver(options: DriverOptions): Promise<DummyDriver> {
  const knobs = dummyKnobs(options.hostId, options.attributes);
  const stateFile = join(options.stateDir, 'vmm-dummy', 'vms.json');
  const stored = (await JsonStateFile.read(stateFile)) as DummyTable | undefined;
  if (stored !== undefined && (stored.version !== 1 || typeof stored.vms !== 'object')) {
    throw new NimbusError(
      'BAD_STATE_FILE',
      `${stateFile}: not a dummy VM table (version ${String(stored.version)})`,
    );
  }
  if (stored !== undefined && stored.hostId !== options.hostId) {
    throw new NimbusError(
      'BAD_STATE_FILE',
      `${stateFile} belongs to host ${stored.hostId}, not host ${options.hostId}: give each host its own state directory`,
    );
  }
  const table = stored ?? emptyTable(options.hostId);
  const driver = new DummyDriver(
    options.hostId,
    knobs,
    table,
    stateFile,
    options.clock ?? SYSTEM_CLOCK,
    options.durable ?? true,
  );
  OPEN_DRIVERS.add(driver);
  // Receivers prepared before a restart wait again (the uri is in the table).
  for (const [uri, deployId] of Object.entries(table.incoming ?? {})) {
    if (table.vms[deployId]?.state === 'INCOMING') INCOMING.set(uri, { driver, deployId });
  }
  return driver;
}
