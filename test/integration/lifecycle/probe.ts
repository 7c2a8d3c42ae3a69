/**
 * Drives VMs of an in-process nimbusd (embedded dummy agents) into a given state and records the
 * states each VM goes through, for the lifecycle tests.
 */
import assert from 'node:assert/strict';
import { pendingStep, stateKey, type StateKey, type UserAction } from '../../../src/domain/vm/index.js';
import { VM_SIMPLE_ACTIONS } from '../../../src/protocol/vm-actions.js';
import type { ApiAnswer, TestNimbus } from '../api/harness.js';

export const VM_TEMPLATE = `NAME = probe
CPU = 0.1
MEMORY = 64
DISK = [ TYPE = "fs", SIZE = "10" ]
NIC = [ NETWORK = "probe-net" ]`;

const BIG = 'CPU = 1000\nMEMORY = 4194304';

export class LifecycleProbe {
  readonly #visited = new Map<number, StateKey[]>();
  /** Host ids: a healthy one per role and one failing at each injected operation. */
  readonly hosts: Record<'main' | 'other' | 'failDeploy' | 'failProlog' | 'failEpilog', number> = {
    main: 0,
    other: -1,
    failDeploy: -1,
    failProlog: -1,
    failEpilog: -1,
  };

  private constructor(readonly t: TestNimbus) {}

  static async start(t: TestNimbus): Promise<LifecycleProbe> {
    const p = new LifecycleProbe(t);
    const made = await t.admin(
      'POST',
      '/api/v1/vnets',
      'NAME = "probe-net"\nBRIDGE = "br-probe"\nVN_MAD = "bridge"\nAR = [ TYPE = "IP4", IP = "10.77.0.1", SIZE = "1000" ]',
    );
    assert.equal(made.status, 201, JSON.stringify(made.body));
    await p.host(0, BIG);
    p.hosts.other = await p.host('other', BIG);
    p.hosts.failDeploy = await p.host('fail-deploy', `${BIG}\nDUMMY_FAIL = "deploy"`);
    p.hosts.failProlog = await p.host('fail-prolog', `${BIG}\nDUMMY_FAIL = "prolog"`);
    p.hosts.failEpilog = await p.host('fail-epilog', `${BIG}\nDUMMY_FAIL = "epilog"`);
    t.nimbus.lifecycle.engine.onStep = (vm, plan) => {
      const list = p.#visited.get(vm.id);
      if (list === undefined) return;
      for (const pair of plan.transitions)
        list.push(stateKey(pair) ?? (`${pair.state}/${pair.lcmState}` as StateKey));
    };
    return p;
  }

  /** Creates (or reuses host 0) a dummy host with this template and waits until it is MONITORED. */
  async host(name: string | 0, template: string): Promise<number> {
    let id = 0;
    if (name !== 0) {
      const created = await this.t.admin('POST', '/api/v1/hosts', { name, im: 'dummy', vm: 'dummy' });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      id = created.body.ID;
    }
    const updated = await this.t.admin('PUT', `/api/v1/hosts/${id}/template`, { template, merge: true });
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    await this.until(
      `host ${id} MONITORED with its new capacity`,
      async () => {
        const h = (await this.t.admin('GET', `/api/v1/hosts/${id}`)).body.HOST;
        return h.STATE === 2 && h.HOST_SHARE.TOTAL_CPU === 100_000 ? true : undefined;
      },
      30_000,
    );
    return id;
  }

  async until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  record(vm: number): void {
    this.#visited.set(vm, []);
  }

  visited(vm: number): StateKey[] {
    return this.#visited.get(vm) ?? [];
  }

  async state(
    vm: number,
  ): Promise<{ key: StateKey | undefined; stable: boolean; body: Record<string, unknown> }> {
    const body = (await this.t.admin('GET', `/api/v1/vms/${vm}`)).body.VM;
    const history = body.HISTORY_RECORDS?.HISTORY ?? [];
    const last = history[history.length - 1];
    const lvm = { id: vm, state: body.STATE, lcmState: body.LCM_STATE, historyAction: last?.ACTION ?? null };
    const ops = (await this.t.nimbus.store.operations.byVm(vm)).filter((r) => r.state !== 'abandoned');
    return { key: stateKey(lvm), stable: pendingStep(lvm) === undefined && ops.length === 0, body };
  }

  /** Waits until the VM is no longer waiting for a driver and returns its state. */
  async settle(vm: number): Promise<StateKey | undefined> {
    return this.until(`VM ${vm} to settle`, async () => {
      const s = await this.state(vm);
      return s.stable ? { key: s.key } : undefined;
    }).then((s) => s.key);
  }

  /** A bridged IPv4 network with one address range from `ip`; `octet` chmods it (604: others may use it). */
  async vnet(name: string, ip: string, size: number, octet?: string): Promise<number> {
    const made = await this.t.admin(
      'POST',
      '/api/v1/vnets',
      `NAME = "${name}"\nBRIDGE = "br-${name}"\nVN_MAD = "bridge"\nAR = [ TYPE = "IP4", IP = "${ip}", SIZE = "${size}" ]`,
    );
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const id = made.body.ID as number;
    if (octet !== undefined) {
      const chmod = await this.t.admin('POST', `/api/v1/vnets/${id}/chmod`, { octet });
      assert.equal(chmod.status, 200, JSON.stringify(chmod.body));
    }
    return id;
  }

  /** A VM from VM_TEMPLATE plus `extra` template lines. */
  async create(hold = false, extra = ''): Promise<number> {
    const r = await this.t.admin(
      'POST',
      `/api/v1/vms${hold ? '?hold=true' : ''}`,
      `${VM_TEMPLATE}\n${extra}`,
    );
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.ID;
  }

  async must(vm: number, action: UserAction, host?: number): Promise<StateKey | undefined> {
    const r = await this.act(vm, action, host);
    assert.equal(r.status, 200, `${action} of VM ${vm}: ${JSON.stringify(r.body)}`);
    return this.settle(vm);
  }

  /** A fresh VM in `state`. */
  async vmIn(state: StateKey): Promise<number> {
    const vm = await this.create(state === 'HOLD');
    const run = async (host = this.hosts.main): Promise<void> => {
      assert.equal(
        await this.must(vm, 'deploy', host),
        host === this.hosts.failEpilog || host === this.hosts.main ? 'RUNNING' : undefined,
      );
    };
    switch (state) {
      case 'PENDING':
      case 'HOLD':
        break;
      case 'RUNNING':
        await run();
        break;
      case 'POWEROFF':
      case 'SUSPENDED':
      case 'STOPPED':
      case 'UNDEPLOYED': {
        await run();
        const action = {
          POWEROFF: 'poweroff',
          SUSPENDED: 'suspend',
          STOPPED: 'stop',
          UNDEPLOYED: 'undeploy',
        } as const;
        assert.equal(await this.must(vm, action[state]), state);
        break;
      }
      case 'UNKNOWN':
        await run();
        await this.t.nimbus.lifecycle.engine.monitorEvent(vm, 'vm-missing', this.hosts.main);
        break;
      case 'DONE':
        assert.equal(await this.must(vm, 'terminate'), 'DONE');
        break;
      case 'BOOT_FAILURE':
        assert.equal(await this.must(vm, 'deploy', this.hosts.failDeploy), 'BOOT_FAILURE');
        break;
      case 'PROLOG_FAILURE':
        assert.equal(await this.must(vm, 'deploy', this.hosts.failProlog), 'PROLOG_FAILURE');
        break;
      case 'EPILOG_FAILURE':
        await run(this.hosts.failEpilog);
        assert.equal(await this.must(vm, 'terminate'), 'EPILOG_FAILURE');
        break;
      default:
        throw new Error(`the probe cannot put a VM in ${state}`);
    }
    const s = await this.state(vm);
    assert.equal(s.key, state, `VM ${vm} should be ${state}`);
    return vm;
  }

  /** The REST request of a user action. */
  async act(vm: number, action: UserAction, host?: number): Promise<ApiAnswer> {
    const a = this.t.admin;
    if ((VM_SIMPLE_ACTIONS as readonly string[]).includes(action)) {
      return a('POST', `/api/v1/vms/${vm}/action`, { action });
    }
    const s = await this.state(vm);
    const history = (s.body.HISTORY_RECORDS as { HISTORY?: { HID: number }[] } | undefined)?.HISTORY ?? [];
    const current = history[history.length - 1]?.HID;
    const elsewhere = host ?? (current === this.hosts.other ? this.hosts.main : this.hosts.other);
    switch (action) {
      case 'deploy':
        return a('POST', `/api/v1/vms/${vm}/deploy`, { host: host ?? this.hosts.other });
      case 'migrate':
        return a('POST', `/api/v1/vms/${vm}/migrate`, { host: elsewhere });
      case 'live-migrate':
        return a('POST', `/api/v1/vms/${vm}/migrate`, { host: elsewhere, live: true });
      case 'poweroff-migrate':
        return a('POST', `/api/v1/vms/${vm}/migrate`, { host: elsewhere, poweroff: 'soft' });
      case 'poweroff-hard-migrate':
        return a('POST', `/api/v1/vms/${vm}/migrate`, { host: elsewhere, poweroff: 'hard' });
      case 'disk-attach':
        return a('POST', `/api/v1/vms/${vm}/disks`, { template: 'DISK = [ TYPE = "fs", SIZE = "10" ]' });
      case 'disk-detach':
        return a('DELETE', `/api/v1/vms/${vm}/disks/0`);
      case 'disk-resize':
        return a('POST', `/api/v1/vms/${vm}/disks/0/resize`, { size: 20 });
      case 'nic-attach':
        return a('POST', `/api/v1/vms/${vm}/nics`, { template: 'NIC = [ NETWORK = "probe-net" ]' });
      case 'nic-detach':
        return a('DELETE', `/api/v1/vms/${vm}/nics/0`);
      case 'resize':
        return a('POST', `/api/v1/vms/${vm}/resize`, { CPU: 0.2, MEMORY: 96 });
      default:
        throw new Error(`no request for ${action}`);
    }
  }

  async log(vm: number): Promise<string> {
    await this.t.nimbus.lifecycle.engine.logs.flush();
    return (await this.t.admin('GET', `/api/v1/vms/${vm}/log`)).body as string;
  }
}
