/**
 * Part 2 of the scheduler benchmark: how long a PENDING VM waits for its deploy step on an idle
 * cloud, through a real in-process nimbusd (bench/lib/lifecycle-cloud.ts) with dummy hosts. Steps
 * are seen through `engine.onStep` only; placement is whatever the daemon runs (it is kicked when
 * a VM is created and when a step leaves a VM PENDING).
 */
import { LcmState, VmState, type VmRecord } from '../../src/domain/vm/index.js';
import type { RunningNimbus } from '../../src/daemon.js';
import { benchVmTemplate, createDummyHosts, startBenchCloud, type BenchCloud } from './lifecycle-cloud.js';

type Milestone = 'pending' | 'deployed' | 'running';

/**
 * When each VM's PENDING step (a release from HOLD), deploy step (ACTIVE in PROLOG or BOOT) and
 * RUNNING step were committed (performance.now() ms), with waits on them. A VM in PROLOG_FAILURE
 * or BOOT_FAILURE rejects every wait.
 */
export class DeployWatch {
  readonly #at = new Map<Milestone, Map<number, number>>([
    ['pending', new Map()],
    ['deployed', new Map()],
    ['running', new Map()],
  ]);
  readonly #waiters = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  #failure: Error | undefined;

  constructor(nimbus: RunningNimbus) {
    nimbus.lifecycle.engine.onStep = (vm) => this.#step(vm);
  }

  at(milestone: Milestone, vmId: number): number | undefined {
    return this.#at.get(milestone)!.get(vmId);
  }

  #step(vm: VmRecord): void {
    const now = performance.now();
    if (vm.state === VmState.PENDING) this.#reach('pending', vm.id, now);
    if (vm.state !== VmState.ACTIVE) return;
    if (vm.lcmState === LcmState.PROLOG || vm.lcmState === LcmState.BOOT) this.#reach('deployed', vm.id, now);
    else if (vm.lcmState === LcmState.RUNNING) this.#reach('running', vm.id, now);
    else if (vm.lcmState === LcmState.PROLOG_FAILURE || vm.lcmState === LcmState.BOOT_FAILURE) {
      this.#failure ??= new Error(`VM ${vm.id} failed: state ${vm.state}, lcm state ${vm.lcmState}`);
      for (const w of this.#waiters.values()) w.reject(this.#failure);
    }
  }

  #reach(milestone: Milestone, vmId: number, now: number): void {
    const times = this.#at.get(milestone)!;
    if (times.has(vmId)) return;
    times.set(vmId, now);
    this.#waiters.get(`${milestone}/${vmId}`)?.resolve();
  }

  /** Resolves with the commit time of the VM's milestone (at once if it is already reached). */
  reached(milestone: Milestone, vmId: number, timeoutMs: number): Promise<number> {
    const known = this.at(milestone, vmId);
    if (known !== undefined) return Promise.resolve(known);
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const key = `${milestone}/${vmId}`;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(key);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for VM ${vmId} ${milestone}`));
      }, timeoutMs);
      const settle = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(key);
      };
      this.#waiters.set(key, {
        resolve: () => {
          settle();
          resolve(this.at(milestone, vmId)!);
        },
        reject: (e) => {
          settle();
          reject(e);
        },
      });
    });
  }
}

export interface LatencyFigures {
  /** Created PENDING (`POST /api/v1/vms`): deploy step committed − POST answered, ms. */
  readonly created: number[];
  /** The same VMs: deploy step committed − POST sent (the allocate transaction included), ms. */
  readonly createdFromRequest: number[];
  /** Released from HOLD: deploy step committed − PENDING step committed (both seen by onStep), ms. */
  readonly released: number[];
}

const WARMUP_VMS = 20;
const STEP_TIMEOUT_MS = 10_000;

/**
 * `samples` VMs created PENDING one at a time, then `samples` VMs created on HOLD and released
 * one at a time, on `hosts` dummy hosts; each VM RUNNING before the next, so the cloud is idle
 * when a VM becomes PENDING.
 */
export async function pendingToDeploy(
  samples: number,
  hosts: number,
  progress: (what: string) => void,
): Promise<LatencyFigures> {
  const cloud = await startBenchCloud({ placement: true });
  try {
    const perHost = Math.ceil((2 * (WARMUP_VMS + samples)) / hosts) + 1;
    progress(`${hosts} dummy hosts, room for ${perHost} VMs each`);
    await createDummyHosts(cloud, hosts, perHost);
    const watch = new DeployWatch(cloud.nimbus);
    const figures: LatencyFigures = { created: [], createdFromRequest: [], released: [] };
    globalThis.gc?.();
    progress(`${WARMUP_VMS} warm-up VMs, then ${samples} created PENDING`);
    for (let i = 0; i < WARMUP_VMS + samples; i++) {
      const sent = performance.now();
      const id = await createVm(cloud, `pend-${i}`, false);
      const answered = performance.now();
      const deployed = await watch.reached('deployed', id, STEP_TIMEOUT_MS);
      await watch.reached('running', id, STEP_TIMEOUT_MS);
      if (i < WARMUP_VMS) continue;
      figures.created.push(deployed - answered);
      figures.createdFromRequest.push(deployed - sent);
    }
    progress(`${WARMUP_VMS} warm-up VMs, then ${samples} released from HOLD`);
    for (let i = 0; i < WARMUP_VMS + samples; i++) {
      const id = await createVm(cloud, `hold-${i}`, true);
      await cloud.api('POST', `/api/v1/vms/${id}/action`, { action: 'release' });
      const pending = await watch.reached('pending', id, STEP_TIMEOUT_MS);
      const deployed = await watch.reached('deployed', id, STEP_TIMEOUT_MS);
      await watch.reached('running', id, STEP_TIMEOUT_MS);
      if (i >= WARMUP_VMS) figures.released.push(deployed - pending);
    }
    return figures;
  } finally {
    await cloud.close();
  }
}

async function createVm(cloud: BenchCloud, name: string, hold: boolean): Promise<number> {
  const { ID } = await cloud.api<{ ID: number }>('POST', '/api/v1/vms', {
    template: benchVmTemplate(name),
    ...(hold ? { hold: true } : {}),
  });
  return ID;
}
