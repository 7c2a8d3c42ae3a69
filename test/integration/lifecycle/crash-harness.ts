/**
 * Tools of the crash test: the real `nimbusd` process (started, SIGKILLed, restarted on the same
 * HOME), a REST client with HTTP Basic over loopback, a seeded PRNG, and a read-only look at the
 * SQLite database and the dummy hosts' VM tables, checked against the invariants a crash must not
 * break (defined states, no leaked operation, lease, image reference, capacity or quota).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { VmState, isDefinedPair, isFailureState, stateLabel } from '../../../src/domain/vm/index.js';

// ---- seeded randomness -------------------------------------------------------------------------

/** mulberry32: a small, fast PRNG whose whole state is one 32-bit number, so a seed replays a run. */
export class Prng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** In [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  between(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** One of `weighted`'s keys, with probability proportional to its weight. */
  weighted<K extends string>(weighted: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weighted) as [K, number][];
    let roll = this.next() * entries.reduce((sum, [, w]) => sum + w, 0);
    for (const [key, weight] of entries) {
      roll -= weight;
      if (roll < 0) return key;
    }
    return entries[entries.length - 1]![0];
  }
}

// ---- the nimbusd process -----------------------------------------------------------------------

/** oneadmin's password at the first start (the test reads it back from HOME/one_auth). */
const ADMIN_PASSWORD = 'crash-test-pw';
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

/** One run of `nimbusd --home HOME`: its URL once it listens, its output kept in HOME/nimbusd.out. */
export class NimbusdProcess {
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  readonly #logFile: string;
  #pendingLog: Promise<void> = Promise.resolve();

  private constructor(
    child: ChildProcess,
    readonly url: string,
    logFile: string,
  ) {
    this.#child = child;
    this.#logFile = logFile;
    this.#exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Starts nimbusd on `home` (no local host 0, port chosen by the kernel) and waits until it listens. */
  static async start(home: string, run: number): Promise<NimbusdProcess> {
    const logFile = join(home, 'nimbusd.out');
    await appendFile(logFile, `\n==== run ${run} ====\n`);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/nimbusd.ts', '--home', home, '--port', '0', '--local-host', 'none'],
      {
        env: { ...process.env, NIMBUS_ADMIN_PASSWORD: ADMIN_PASSWORD, NIMBUS_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    let pending: Promise<void> = Promise.resolve();
    const keep = (d: Buffer): void => {
      output += d.toString();
      pending = pending.then(() => appendFile(logFile, d)).catch(() => undefined);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`nimbusd did not listen within ${START_TIMEOUT_MS / 1000} s:\n${output}`));
      }, START_TIMEOUT_MS);
      const check = (): void => {
        const m = /nimbusd listening on (\S+)/.exec(output);
        if (m === null) return;
        clearTimeout(timer);
        child.stdout!.off('data', check);
        child.off('exit', onExit);
        resolve(m[1]!);
      };
      const onExit = (code: number | null, signal: string | null): void => {
        clearTimeout(timer);
        reject(new Error(`nimbusd exited (${code ?? signal}) before listening:\n${output}`));
      };
      child.stdout!.on('data', check);
      child.once('exit', onExit);
    });
    const daemon = new NimbusdProcess(child, url, logFile);
    daemon.#pendingLog = pending;
    return daemon;
  }

  /** SIGKILL, as a crash: nothing is flushed, nothing closed. Resolves once the process is gone. */
  async kill(): Promise<void> {
    if (this.running) this.#child.kill('SIGKILL');
    await this.#exited;
  }

  /** SIGTERM (a clean shutdown); SIGKILL when it does not exit in 15 s. Resolves with its exit code. */
  async stop(): Promise<number | null> {
    if (this.running) {
      this.#child.kill('SIGTERM');
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await this.#exited;
      clearTimeout(timer);
    }
    await this.#pendingLog;
    return this.#child.exitCode;
  }

  /** Everything this and earlier runs printed (warnings and errors at log level warn). */
  async output(): Promise<string> {
    await this.#pendingLog;
    return readFile(this.#logFile, 'utf8').catch(() => '');
  }
}

// ---- the REST API ------------------------------------------------------------------------------

export interface Answer {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
}

const REQUEST_TIMEOUT_MS = 15_000;

/** oneadmin's credentials as the first start wrote them (HOME/one_auth, `user:password`). */
export async function oneAuth(home: string): Promise<{ user: string; password: string }> {
  const line = (await readFile(join(home, 'one_auth'), 'utf8')).trim();
  const colon = line.indexOf(':');
  return { user: line.slice(0, colon), password: line.slice(colon + 1) };
}

/** Requests as `user` over HTTP; a body that is a string goes as text/plain (OpenNebula template text). */
export function restClient(
  url: () => string,
  user: string,
  password: string,
): (method: string, path: string, body?: unknown) => Promise<Answer> {
  const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  return async (method, path, body) => {
    const headers: Record<string, string> = { authorization };
    let payload: string | undefined;
    if (body !== undefined) {
      headers['content-type'] = typeof body === 'string' ? 'text/plain' : 'application/json';
      payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const res = await fetch(`${url()}${path}`, {
      method,
      headers,
      ...(payload !== undefined ? { body: payload } : {}),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed };
  };
}

// ---- what the database and the dummy hosts hold ------------------------------------------------

type Vector = Record<string, string>;
type TemplateJson = Record<string, (string | Vector)[]>;

export interface VmRow {
  readonly id: number;
  readonly uid: number;
  readonly gid: number;
  readonly state: number;
  readonly lcmState: number;
  readonly hostId: number | null;
  readonly template: TemplateJson;
  /** USER_TEMPLATE/ERROR: the last driver error. */
  readonly error: string | undefined;
}

export interface HostRow {
  readonly id: number;
  readonly state: number;
  readonly cpuUsage: number;
  readonly memUsage: number;
  readonly runningVms: number;
  readonly vms: number[];
}

export interface LeaseRow {
  readonly vnetId: number;
  readonly arId: number;
  readonly index: number;
  readonly ownerKind: string;
  readonly ownerId: number | null;
  readonly nicId: number | null;
}

export interface ImageRow {
  readonly id: number;
  readonly state: number;
  readonly runningVms: number;
  readonly vms: number[];
}

export interface OperationRow {
  readonly opId: string;
  readonly vmId: number;
  readonly hostId: number;
  readonly driver: string;
  readonly op: string;
  readonly state: string;
  readonly action: string;
}

interface QuotaJson {
  vm: { vmsUsed: number; cpuUsed: number; memoryUsed: number; runningVmsUsed: number } | null;
  network: { id: number; leasesUsed: number }[];
  image: { id: number; rvmsUsed: number }[];
}

export interface UserRow {
  readonly id: number;
  readonly quotas: QuotaJson;
}

/** A dummy host's table (`HOME/hosts/<id>/vmm-dummy/vms.json`): what "runs" there. */
export interface DummyTable {
  readonly vms: Record<string, { state: string }>;
  readonly checkpoints: Record<string, { deployId: string }>;
}

export interface Snapshot {
  readonly vms: readonly VmRow[];
  /** Last history record's host and previous one's, per VM. */
  readonly lastHosts: ReadonlyMap<number, { current: number; previous: number | undefined }>;
  readonly hosts: readonly HostRow[];
  readonly leases: readonly LeaseRow[];
  readonly images: readonly ImageRow[];
  readonly operations: readonly OperationRow[];
  readonly users: readonly UserRow[];
  readonly dummy: ReadonlyMap<number, DummyTable>;
}

/** Reads the database read-only (nimbusd may be running: WAL lets it). */
export function readDatabase(home: string): Omit<Snapshot, 'dummy'> {
  const db = new BetterSqlite3(join(home, 'nimbus.db'), { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const read = db.transaction(() => {
      const vms = (
        db
          .prepare(
            'select id, uid, gid, state, lcm_state, host_id, template, user_template from vms order by id',
          )
          .all() as {
          id: number;
          uid: number;
          gid: number;
          state: number;
          lcm_state: number;
          host_id: number | null;
          template: string;
          user_template: string;
        }[]
      ).map((r) => ({
        id: r.id,
        uid: r.uid,
        gid: r.gid,
        state: r.state,
        lcmState: r.lcm_state,
        hostId: r.host_id,
        template: JSON.parse(r.template) as TemplateJson,
        error: single(JSON.parse(r.user_template) as TemplateJson, 'ERROR'),
      }));
      const lastHosts = new Map<number, { current: number; previous: number | undefined }>();
      const history = db.prepare('select vm_id, seq, hid from history order by vm_id, seq').all() as {
        vm_id: number;
        seq: number;
        hid: number;
      }[];
      for (const h of history) {
        const before = lastHosts.get(h.vm_id);
        lastHosts.set(h.vm_id, { current: h.hid, previous: before?.current });
      }
      const hosts = (
        db
          .prepare('select id, state, cpu_usage, mem_usage, running_vms, vms from hosts order by id')
          .all() as {
          id: number;
          state: number;
          cpu_usage: number;
          mem_usage: number;
          running_vms: number;
          vms: string;
        }[]
      ).map((r) => ({
        id: r.id,
        state: r.state,
        cpuUsage: Number(r.cpu_usage),
        memUsage: Number(r.mem_usage),
        runningVms: r.running_vms,
        vms: JSON.parse(r.vms) as number[],
      }));
      const leases = (
        db.prepare('select vnet_id, ar_id, idx, owner_kind, owner_id, nic_id from leases').all() as {
          vnet_id: number;
          ar_id: number;
          idx: number;
          owner_kind: string;
          owner_id: number | null;
          nic_id: number | null;
        }[]
      ).map((r) => ({
        vnetId: r.vnet_id,
        arId: r.ar_id,
        index: Number(r.idx),
        ownerKind: r.owner_kind,
        ownerId: r.owner_id,
        nicId: r.nic_id,
      }));
      const images = (
        db.prepare('select id, state, running_vms, vms from images order by id').all() as {
          id: number;
          state: number;
          running_vms: number;
          vms: string;
        }[]
      ).map((r) => ({
        id: r.id,
        state: r.state,
        runningVms: r.running_vms,
        vms: JSON.parse(r.vms) as number[],
      }));
      const operations = (
        db
          .prepare(
            'select op_id, vm_id, host_id, driver, op, state, action from vm_operations order by started',
          )
          .all() as {
          op_id: string;
          vm_id: number;
          host_id: number;
          driver: string;
          op: string;
          state: string;
          action: string;
        }[]
      ).map((r) => ({
        opId: r.op_id,
        vmId: Number(r.vm_id),
        hostId: Number(r.host_id),
        driver: r.driver,
        op: r.op,
        state: r.state,
        action: r.action,
      }));
      const users = (
        db.prepare('select id, quotas from users order by id').all() as { id: number; quotas: string }[]
      ).map((r) => ({ id: r.id, quotas: JSON.parse(r.quotas) as QuotaJson }));
      return { vms, lastHosts, hosts, leases, images, operations, users };
    });
    return read();
  } finally {
    db.close();
  }
}

/** The VM tables of the dummy hosts, as their agents left them on disk. */
export async function readDummyTables(
  home: string,
  hostIds: readonly number[],
): Promise<Map<number, DummyTable>> {
  const tables = new Map<number, DummyTable>();
  for (const id of hostIds) {
    try {
      const text = await readFile(join(home, 'hosts', String(id), 'vmm-dummy', 'vms.json'), 'utf8');
      tables.set(id, JSON.parse(text) as DummyTable);
    } catch {
      tables.set(id, { vms: {}, checkpoints: {} });
    }
  }
  return tables;
}

// ---- the invariants ----------------------------------------------------------------------------

const LCM = { RUNNING: 3, EPILOG: 11, UNKNOWN: 16, EPILOG_FAILURE: 40 } as const;

/** ACTIVE (any LCM state), POWEROFF and SUSPENDED VMs hold CPU and memory on their host. */
function holdsCapacity(vm: VmRow): boolean {
  return vm.state === VmState.ACTIVE || vm.state === VmState.POWEROFF || vm.state === VmState.SUSPENDED;
}

/**
 * Terminate of a STOPPED or UNDEPLOYED VM goes ACTIVE/EPILOG without taking capacity again (as
 * OpenNebula's), so an EPILOG VM may or may not be counted on its host.
 */
function mayHoldCapacity(vm: VmRow): boolean {
  return vm.state === VmState.ACTIVE && (vm.lcmState === LCM.EPILOG || vm.lcmState === LCM.EPILOG_FAILURE);
}

const RESTING_STATES: ReadonlySet<number> = new Set([
  VmState.PENDING,
  VmState.HOLD,
  VmState.POWEROFF,
  VmState.SUSPENDED,
  VmState.STOPPED,
  VmState.UNDEPLOYED,
  VmState.DONE,
]);

/** Nothing in flight: a VM state that waits for no driver (RUNNING, the resting states, a *_FAILURE). */
export function isStable(vm: Pick<VmRow, 'state' | 'lcmState'>): boolean {
  if (vm.state === VmState.ACTIVE) return vm.lcmState === LCM.RUNNING || isFailureState(vm.lcmState);
  return RESTING_STATES.has(vm.state);
}

/** ACTIVE/UNKNOWN: the host does not report the VM; it waits for monitoring to find it again. */
export function isUnknown(vm: Pick<VmRow, 'state' | 'lcmState'>): boolean {
  return vm.state === VmState.ACTIVE && vm.lcmState === LCM.UNKNOWN;
}

export function label(vm: Pick<VmRow, 'state' | 'lcmState'>): string {
  return stateLabel(vm.state, vm.lcmState);
}

function numberOf(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

function vectors(t: TemplateJson, name: string): Vector[] {
  return (t[name] ?? []).filter((v): v is Vector => typeof v !== 'string');
}

function single(t: TemplateJson, name: string): string | undefined {
  const v = t[name]?.[0];
  return typeof v === 'string' ? v : undefined;
}

/** CPU×100 and memory KB, as the host share counts them (rounded as `vmAllocation`). */
function allocation(vm: VmRow): { cpu: number; mem: number } {
  const cpu = Number(single(vm.template, 'CPU') ?? 0);
  const mem = Number(single(vm.template, 'MEMORY') ?? 0);
  return {
    cpu: Number.isFinite(cpu) && cpu > 0 ? Math.round(cpu * 100) : 0,
    mem: Number.isFinite(mem) && mem > 0 ? Math.round(mem * 1024) : 0,
  };
}

const sorted = (list: Iterable<number>): number[] => [...list].sort((a, b) => a - b);
const ids = (list: Iterable<number>): string => `[${sorted(list).join(',')}]`;

export interface InvariantOptions {
  /** Require every VM to be in a stable state and no operation left (after the settle). */
  readonly settled: boolean;
  /** Compare the dummy hosts' VM tables with the database. */
  readonly hypervisor: boolean;
}

export interface Findings {
  /** Invariants broken: the test fails on these. */
  readonly violations: string[];
  /** Leftovers of the dummy simulation that break no controller invariant (reported only). */
  readonly notes: string[];
}

/** Every way the records disagree with each other (and with the dummy hosts), one line each. */
export function checkInvariants(s: Snapshot, options: InvariantOptions): Findings {
  const out: string[] = [];
  const notes: string[] = [];
  const vmById = new Map(s.vms.map((vm) => [vm.id, vm]));
  const live = s.vms.filter((vm) => vm.state !== VmState.DONE);
  const hostOf = (vmId: number): number | undefined => s.lastHosts.get(vmId)?.current;

  // States.
  for (const vm of s.vms) {
    if (!isDefinedPair(vm))
      out.push(`state: VM ${vm.id} is in the undefined pair ${vm.state}/${vm.lcmState}`);
    else if (options.settled && isUnknown(vm))
      out.push(`state: VM ${vm.id} is UNKNOWN: host ${hostOf(vm.id)} does not run it`);
    else if (options.settled && !isStable(vm)) out.push(`state: VM ${vm.id} is still ${label(vm)}`);
  }

  // Operation locks, once settled: none left but abandoned ones (never re-sent, forgotten at their
  // deadline). At a crash point any row may be in flight: it is re-sent after the restart.
  for (const op of options.settled ? s.operations : []) {
    if (op.state === 'abandoned') continue;
    const vm = vmById.get(op.vmId);
    out.push(
      `operation: ${op.opId} (${op.driver} ${op.op} on host ${op.hostId}, ${op.state}, action ${op.action}) is left for VM ${op.vmId}${vm === undefined ? ', which does not exist' : `, which is ${label(vm)}`}`,
    );
  }

  // Leases: each NIC of a live VM has its lease; DONE VMs hold none.
  const leasesByVm = new Map<number, LeaseRow[]>();
  for (const l of s.leases) {
    if (l.ownerKind !== 'vm' || l.ownerId === null) continue;
    leasesByVm.set(l.ownerId, [...(leasesByVm.get(l.ownerId) ?? []), l]);
    const vm = vmById.get(l.ownerId);
    const where = `${l.vnetId}/${l.arId}/${l.index} (NIC ${l.nicId})`;
    if (vm === undefined) out.push(`lease: ${where} belongs to VM ${l.ownerId}, which does not exist`);
    else if (vm.state === VmState.DONE)
      out.push(`lease: ${where} is still held by VM ${vm.id}, which is DONE`);
  }
  for (const vm of live) {
    const nics = vectors(vm.template, 'NIC').filter((n) => n['NETWORK_ID'] !== undefined);
    const held = leasesByVm.get(vm.id) ?? [];
    for (const nic of nics) {
      const nicId = numberOf(nic['NIC_ID']);
      if (!held.some((l) => l.nicId === nicId && l.vnetId === numberOf(nic['NETWORK_ID'])))
        out.push(
          `lease: VM ${vm.id} (${label(vm)}) has NIC ${nicId} on vnet ${nic['NETWORK_ID']} but no lease`,
        );
    }
    if (held.length > nics.length)
      out.push(`lease: VM ${vm.id} holds ${held.length} leases for ${nics.length} NICs`);
  }

  // Image references: the image's VM list and RUNNING_VMS are exactly the live VMs using it.
  for (const image of s.images) {
    const users = live
      .filter((vm) => vectors(vm.template, 'DISK').some((d) => numberOf(d['IMAGE_ID']) === image.id))
      .map((vm) => vm.id);
    const leaked = image.vms.filter((v) => !users.includes(v));
    const missing = users.filter((v) => !image.vms.includes(v));
    if (leaked.length > 0 || missing.length > 0 || image.vms.length !== users.length)
      out.push(
        `image: image ${image.id} lists VMs ${ids(leaked)} that do not use it and misses ${ids(missing)}`,
      );
    if (image.runningVms !== users.length)
      out.push(
        `image: image ${image.id} has RUNNING_VMS ${image.runningVms}, ${users.length} live VMs use it`,
      );
  }

  // Capacity: a host counts exactly the VMs placed on it that hold capacity, and their figures.
  for (const host of s.hosts) {
    const required = s.vms
      .filter((vm) => holdsCapacity(vm) && !mayHoldCapacity(vm) && hostOf(vm.id) === host.id)
      .map((vm) => vm.id);
    // EPILOG may or may not hold; a migration in flight holds the source too (none after the settle).
    const allowed = new Set(
      s.vms
        .filter(
          (vm) =>
            (mayHoldCapacity(vm) && hostOf(vm.id) === host.id) ||
            (vm.state === VmState.ACTIVE && !isStable(vm) && s.lastHosts.get(vm.id)?.previous === host.id),
        )
        .map((vm) => vm.id),
    );
    const extra = host.vms.filter((id) => !required.includes(id) && !allowed.has(id));
    const missing = required.filter((id) => !host.vms.includes(id));
    const describe = (id: number): string => {
      const vm = vmById.get(id);
      return vm === undefined ? `${id}(gone)` : `${id}(${label(vm)} on host ${hostOf(id) ?? '-'})`;
    };
    if (extra.length > 0)
      out.push(
        `capacity: host ${host.id} counts VMs that hold nothing on it: ${extra.map(describe).join(' ')}`,
      );
    if (missing.length > 0)
      out.push(
        `capacity: host ${host.id} does not count VMs placed on it: ${missing.map(describe).join(' ')}`,
      );
    const listed = host.vms.map((id) => vmById.get(id)).filter((vm): vm is VmRow => vm !== undefined);
    const cpu = listed.reduce((sum, vm) => sum + allocation(vm).cpu, 0);
    const mem = listed.reduce((sum, vm) => sum + allocation(vm).mem, 0);
    if (host.cpuUsage !== cpu || host.memUsage !== mem || host.runningVms !== host.vms.length)
      out.push(
        `capacity: host ${host.id} has CPU_USAGE ${host.cpuUsage}, MEM_USAGE ${host.memUsage}, RUNNING_VMS ${host.runningVms}; its ${host.vms.length} listed VMs take CPU ${cpu}, MEM ${mem}`,
      );
  }

  // Quotas of users other than oneadmin: usage = what their live VMs hold.
  for (const user of s.users) {
    if (user.id === 0) continue;
    const mine = live.filter((vm) => vm.uid === user.id);
    const vmQuota = user.quotas.vm;
    if (vmQuota !== null) {
      const cpu = mine.reduce((sum, vm) => sum + Number(single(vm.template, 'CPU') ?? 0), 0);
      const memory = mine.reduce((sum, vm) => sum + Number(single(vm.template, 'MEMORY') ?? 0), 0);
      if (
        vmQuota.vmsUsed !== mine.length ||
        Math.abs(vmQuota.cpuUsed - cpu) > 1e-6 ||
        vmQuota.memoryUsed !== memory
      )
        out.push(
          `quota: user ${user.id} uses VMS ${vmQuota.vmsUsed}, CPU ${vmQuota.cpuUsed}, MEMORY ${vmQuota.memoryUsed}; its ${mine.length} live VMs take CPU ${cpu.toFixed(1)}, MEMORY ${memory}`,
        );
    }
    for (const n of user.quotas.network) {
      const mineIds = new Set(mine.map((vm) => vm.id));
      const held = s.leases.filter(
        (l) => l.vnetId === n.id && l.ownerKind === 'vm' && mineIds.has(l.ownerId ?? -1),
      ).length;
      if (n.leasesUsed !== held)
        out.push(
          `quota: user ${user.id} uses ${n.leasesUsed} leases of vnet ${n.id}, its live VMs hold ${held}`,
        );
    }
    for (const q of user.quotas.image) {
      const using = mine.filter((vm) =>
        vectors(vm.template, 'DISK').some((d) => numberOf(d['IMAGE_ID']) === q.id),
      ).length;
      if (q.rvmsUsed !== using)
        out.push(
          `quota: user ${user.id} has RVMS ${q.rvmsUsed} on image ${q.id}, ${using} of its live VMs use it`,
        );
    }
  }

  if (options.hypervisor) checkHypervisors(s, out, notes);
  return { violations: out, notes };
}

/**
 * The dummy hosts against the database: a VM the controller has RUNNING runs on its host, no host
 * runs (or prepares to receive) a VM the controller does not have ACTIVE there (a leaked domain),
 * and a checkpoint belongs to a VM that is saved (SUSPENDED, STOPPED) or on its way back. A
 * checkpoint of a DONE VM is only noted: the dummy transfer driver's epilog removes no file.
 */
function checkHypervisors(s: Snapshot, out: string[], notes: string[]): void {
  const vmById = new Map(s.vms.map((vm) => [vm.id, vm]));
  const hostOf = (vmId: number): number | undefined => s.lastHosts.get(vmId)?.current;
  const vmIdOf = (deployId: string): number => Number(/^one-(\d+)$/.exec(deployId)?.[1] ?? NaN);
  const describe = (vmId: number): string => {
    const vm = vmById.get(vmId);
    return vm === undefined ? 'unknown to the controller' : `${label(vm)} on host ${hostOf(vmId) ?? '-'}`;
  };
  for (const [hostId, table] of s.dummy) {
    for (const [deployId, entry] of Object.entries(table.vms)) {
      const vmId = vmIdOf(deployId);
      const vm = vmById.get(vmId);
      if (vm === undefined || vm.state !== VmState.ACTIVE || hostOf(vmId) !== hostId)
        out.push(`hypervisor: host ${hostId} has ${deployId} ${entry.state}, the VM is ${describe(vmId)}`);
    }
    for (const [path, saved] of Object.entries(table.checkpoints)) {
      const vmId = vmIdOf(saved.deployId);
      const vm = vmById.get(vmId);
      const line = `hypervisor: host ${hostId} keeps checkpoint ${path.replace(/^.*\/datastores\//, 'datastores/')} of ${saved.deployId}, the VM is ${describe(vmId)}`;
      if (vm?.state === VmState.DONE) notes.push(line);
      else if (
        vm === undefined ||
        !(
          vm.state === VmState.SUSPENDED ||
          vm.state === VmState.STOPPED ||
          (vm.state === VmState.ACTIVE && vm.lcmState !== LCM.RUNNING && !isUnknown(vm))
        )
      )
        out.push(line);
    }
  }
  for (const vm of s.vms) {
    if (vm.state !== VmState.ACTIVE || vm.lcmState !== LCM.RUNNING) continue;
    const hostId = hostOf(vm.id);
    const entry = hostId === undefined ? undefined : s.dummy.get(hostId)?.vms[`one-${vm.id}`];
    if (entry?.state !== 'RUNNING')
      out.push(
        `hypervisor: VM ${vm.id} is RUNNING on host ${hostId} for the controller; the host has ${entry?.state ?? 'no such VM'}`,
      );
  }
}
