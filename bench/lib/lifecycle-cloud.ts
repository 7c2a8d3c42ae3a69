/**
 * Fixtures of the lifecycle benchmark (bench/lifecycle.ts and its memory child): an in-process
 * nimbusd on SQLite in a temporary directory with no local host, requests as oneadmin through
 * `app.inject`, dummy hosts sized through their template, and a watch on the lifecycle engine's
 * steps that tells when VMs are RUNNING without polling.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/controller/config.js';
import type { HubIntervals } from '../../src/controller/agents/hub.js';
import { startNimbus, type RunningNimbus } from '../../src/daemon.js';
import { LcmState, VmState, type VmRecord } from '../../src/domain/vm/index.js';

const ADMIN_PASSWORD = 'bench-admin-pw';
const AUTHORIZATION = `Basic ${Buffer.from(`oneadmin:${ADMIN_PASSWORD}`).toString('base64')}`;
/** Host state MONITORED: the placement only uses those. */
const HOST_MONITORED = 2;

export interface BenchCloud {
  readonly nimbus: RunningNimbus;
  readonly home: string;
  /** A request as oneadmin; throws unless the answer is 2xx. */
  api<T = Record<string, unknown>>(method: string, url: string, body?: unknown): Promise<T>;
  close(): Promise<void>;
}

export interface BenchCloudOptions {
  readonly placement: boolean;
  readonly intervals?: Partial<HubIntervals>;
}

export async function startBenchCloud(options: BenchCloudOptions): Promise<BenchCloud> {
  const home = await mkdtemp(join(tmpdir(), 'nimbus-bench-lifecycle-'));
  try {
    const config = await loadConfig(home, { port: 0, localHost: 'none', credentialCacheMs: 3_600_000 });
    const nimbus = await startNimbus(config, {
      adminPassword: ADMIN_PASSWORD,
      logger: pino({ level: process.env.NIMBUS_BENCH_LOG ?? 'silent' }),
      listen: false,
      placement: options.placement,
      ...(options.intervals !== undefined ? { intervals: options.intervals } : {}),
    });
    return {
      nimbus,
      home,
      async api<T>(method: string, url: string, body?: unknown): Promise<T> {
        const res = await nimbus.app.inject({
          method: method as 'GET',
          url,
          headers: {
            authorization: AUTHORIZATION,
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
        });
        if (res.statusCode < 200 || res.statusCode > 299)
          throw new Error(`${method} ${url}: ${res.statusCode} ${res.body.slice(0, 300)}`);
        return JSON.parse(res.body) as T;
      },
      async close() {
        try {
          await nimbus.close();
        } finally {
          await removeHome(home);
        }
      },
    };
  } catch (error) {
    await rm(home, { recursive: true, force: true });
    throw error;
  }
}

/** Removes the state directory; says so when something wrote into it after nimbusd closed. */
async function removeHome(home: string): Promise<void> {
  await rm(home, { recursive: true, force: true });
  await new Promise((resolve) => setTimeout(resolve, 200));
  const late = await readdir(home, { recursive: true }).catch(() => null);
  if (late !== null) {
    process.stderr.write(`  warning: ${home} was written after nimbusd closed: [${late.join(', ')}]\n`);
    await rm(home, { recursive: true, force: true });
  }
}

/** A small VM: 1 CPU, 1 VCPU, 512 MB, a volatile disk and context (no image, no lease). */
export const BENCH_VM = { cpu: 1, memoryMb: 512 } as const;

export function benchVmTemplate(name: string): Record<string, unknown> {
  return {
    NAME: name,
    CPU: String(BENCH_VM.cpu),
    VCPU: '1',
    MEMORY: String(BENCH_VM.memoryMb),
    // Small enough that 20,000 of them fit the system datastore's measured free space: the
    // scheduler checks it (a 1 GB disk each would cap a pass at FREE_MB / 1024 VMs).
    DISK: { TYPE: 'fs', SIZE: '16', FORMAT: 'raw' },
    CONTEXT: {
      NETWORK: 'YES',
      SSH_PUBLIC_KEY:
        'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0wmN/Cr3JXqmLW7u+g9pTh+wyqDHpSQEIQczXkVx9q ops@example.org',
    },
  };
}

/**
 * `count` dummy hosts (`POST /api/v1/hosts`), each sized for exactly `vmsPerHost` bench VMs
 * through its CPU and MEMORY attributes (`PUT /api/v1/hosts/:id/template`), so the first-fit
 * placement fills them evenly. Resolves once every host is MONITORED with the new totals (an
 * agent still on the default 16 cores fails the wait). Returns the host ids.
 */
export async function createDummyHosts(
  cloud: BenchCloud,
  count: number,
  vmsPerHost: number,
  progress: (done: number) => void = () => undefined,
): Promise<number[]> {
  const cores = BENCH_VM.cpu * vmsPerHost;
  const memoryMb = BENCH_VM.memoryMb * vmsPerHost;
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const { ID } = await cloud.api<{ ID: number }>('POST', '/api/v1/hosts', {
      name: `dummy-${String(i).padStart(4, '0')}`,
      im: 'dummy',
      vm: 'dummy',
    });
    // The route restarts the host's embedded agent, which reads CPU and MEMORY at welcome.
    await cloud.api('PUT', `/api/v1/hosts/${ID}/template`, {
      template: { CPU: String(cores), MEMORY: String(memoryMb) },
      merge: true,
    });
    ids.push(ID);
    progress(i + 1);
  }
  await waitFor(`${count} hosts MONITORED with ${cores} cores`, 60_000, async () => {
    const hosts = (await cloud.nimbus.store.hosts.list(undefined, { limit: 1_000_000 })).items;
    const ready = hosts.filter((h) => h.state === HOST_MONITORED && h.share.totalCpu === cores * 100);
    return ready.length === count ? true : `${ready.length}/${count} ready`;
  });
  return ids;
}

/** Polls `check` every 50 ms (set-up only, never inside a measurement); its string says why not yet. */
export async function waitFor(
  what: string,
  timeoutMs: number,
  check: () => Promise<true | string>,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const answer = await check();
    if (answer === true) return;
    if (performance.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${answer}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** When each VM reached a lifecycle milestone (performance.now() ms). */
export interface Milestones {
  deployed?: number;
  booting?: number;
  running?: number;
}

/**
 * Watches the engine's committed steps (`engine.onStep`): milestones per VM, a count of RUNNING
 * VMs, and promises that resolve when a VM or a number of VMs is RUNNING. A VM that reaches a
 * FAILURE state rejects the waits at once, with its state in the message.
 */
export class RunningWatch {
  readonly milestones = new Map<number, Milestones>();
  running = 0;
  #failure: Error | undefined;
  readonly #vmWaiters = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  #countWaiter: { count: number; resolve: () => void; reject: (e: Error) => void } | undefined;

  constructor(nimbus: RunningNimbus) {
    nimbus.lifecycle.engine.onStep = (vm) => this.#step(vm);
  }

  #step(vm: VmRecord): void {
    const now = performance.now();
    if (vm.state !== VmState.ACTIVE) return;
    let m = this.milestones.get(vm.id);
    if (m === undefined) {
      m = {};
      this.milestones.set(vm.id, m);
    }
    if (vm.lcmState === LcmState.PROLOG) m.deployed ??= now;
    else if (vm.lcmState === LcmState.BOOT) m.booting ??= now;
    else if (vm.lcmState === LcmState.RUNNING && m.running === undefined) {
      m.running = now;
      this.running++;
      this.#vmWaiters.get(vm.id)?.resolve();
      if (this.#countWaiter !== undefined && this.running >= this.#countWaiter.count)
        this.#countWaiter.resolve();
    } else if (vm.lcmState === LcmState.PROLOG_FAILURE || vm.lcmState === LcmState.BOOT_FAILURE) {
      this.#failure ??= new Error(`VM ${vm.id} failed: state ${vm.state}, lcm state ${vm.lcmState}`);
      for (const w of this.#vmWaiters.values()) w.reject(this.#failure);
      this.#countWaiter?.reject(this.#failure);
    }
  }

  /** Drops the milestones (the watch's own memory), keeping the count. */
  forget(): void {
    this.milestones.clear();
  }

  /** Resolves when VM `id` is RUNNING (at once if it is already). */
  vmRunning(id: number, timeoutMs: number): Promise<void> {
    if (this.milestones.get(id)?.running !== undefined) return Promise.resolve();
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return this.#withTimeout(`VM ${id} RUNNING`, timeoutMs, (resolve, reject) => {
      this.#vmWaiters.set(id, { resolve, reject });
      return () => this.#vmWaiters.delete(id);
    });
  }

  /** Resolves when `count` VMs (in all) have been seen RUNNING. */
  countRunning(count: number, timeoutMs: number): Promise<void> {
    if (this.running >= count) return Promise.resolve();
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return this.#withTimeout(`${count} VMs RUNNING`, timeoutMs, (resolve, reject) => {
      this.#countWaiter = { count, resolve, reject };
      return () => {
        this.#countWaiter = undefined;
      };
    });
  }

  #withTimeout(
    what: string,
    timeoutMs: number,
    register: (resolve: () => void, reject: (e: Error) => void) => () => void,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let unregister = (): void => undefined;
      const timer = setTimeout(() => {
        unregister();
        reject(
          new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${this.running} RUNNING so far)`),
        );
      }, timeoutMs);
      unregister = register(
        () => {
          clearTimeout(timer);
          unregister();
          resolve();
        },
        (e) => {
          clearTimeout(timer);
          unregister();
          reject(e);
        },
      );
    });
  }
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export const round = (n: number, digits = 1): number => Number(n.toFixed(digits));
