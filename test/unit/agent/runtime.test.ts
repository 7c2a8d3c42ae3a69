import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { memoryLinkPair } from '../../../src/agent/link/memory.js';
import {
  AgentRuntime,
  DRIVER_CAPABILITIES,
  helloCapabilities,
  type AgentRuntimeOptions,
} from '../../../src/agent/runtime.js';
import { loadDriver } from '../../../src/agent/vmm/index.js';
import type {
  AgentMessage,
  DeploymentSpec,
  Hello,
  Operation,
  OperationResult,
  Welcome,
} from '../../../src/protocol/agent.js';
import type { AgentLinkEnd } from '../../../src/protocol/link.js';

const dirs: string[] = [];
const runtimes: AgentRuntime[] = [];
after(async () => {
  await Promise.all(runtimes.map((r) => r.stop()));
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function stateDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'nimbus-agent-'));
  dirs.push(d);
  return d;
}

const WAIT_MS = 1500;
const TOKEN = 'join-token-0123456789abcdef';

/** The controller's end of one dialled link, recording what the agent sent. */
class ControllerEnd {
  readonly messages: AgentMessage[] = [];
  closeReason: string | undefined;
  private readonly waiters: (() => void)[] = [];

  constructor(readonly link: AgentLinkEnd) {
    link.onMessage((m) => {
      this.messages.push(m);
      this.wake();
    });
    link.onClose((reason) => {
      this.closeReason = reason;
      this.wake();
    });
  }

  /** The first message (from the start of the link) matching `match`. */
  async waitFor<T extends AgentMessage>(match: (m: AgentMessage) => m is T, what: string): Promise<T>;
  async waitFor(match: (m: AgentMessage) => boolean, what: string): Promise<AgentMessage>;
  async waitFor(match: (m: AgentMessage) => boolean, what: string): Promise<AgentMessage> {
    return this.until(() => this.messages.find(match), what);
  }

  async result(opId: string, replayed = false): Promise<OperationResult> {
    return this.waitFor(
      (m): m is OperationResult =>
        m.type === 'result' && m.opId === opId && (m.replayed === true) === replayed,
      `result of ${opId}${replayed ? ' (replayed)' : ''}`,
    );
  }

  closed(): Promise<string> {
    return this.until(() => this.closeReason, 'link close');
  }

  welcome(patch: Partial<Welcome> = {}, attributes: Record<string, string> = {}): void {
    this.link.send({
      type: 'welcome',
      protocol: 1,
      hostId: 5,
      hostAttributes: attributes,
      intervals: { monitorHostS: 60, monitorVmsS: 60, pingS: 60 },
      ...patch,
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private async until<T>(probe: () => T | undefined, what: string): Promise<T> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const found = probe();
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `timed out waiting for ${what}; got ${JSON.stringify(this.messages.map((m) => m.type))}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** Dials hand the agent one end of a fresh memory pair; the test holds the other. */
class FakeController {
  readonly ends: ControllerEnd[] = [];
  readonly dialTimes: number[] = [];
  /** While set, dials wait for it. */
  gate: Promise<void> | undefined;
  failDials = 0;
  private readonly waiters: ((end: ControllerEnd) => void)[] = [];

  constructor(private readonly validate = true) {}

  readonly connect = async (_signal: AbortSignal): Promise<AgentLinkEnd> => {
    this.dialTimes.push(Date.now());
    await this.gate;
    if (this.failDials > 0) {
      this.failDials--;
      throw new Error('connection refused');
    }
    const pair = memoryLinkPair(`host-5-${this.ends.length}`, { validate: this.validate });
    const end = new ControllerEnd(pair.controller);
    this.ends.push(end);
    const waiter = this.waiters.shift();
    waiter?.(end);
    return pair.agent;
  };

  /** The n-th link (0-based), once dialled. */
  link(n: number): Promise<ControllerEnd> {
    const end = this.ends[n];
    if (end !== undefined) return Promise.resolve(end);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no dial #${n} within ${WAIT_MS} ms`)), WAIT_MS);
      const wait = (): void => {
        if (this.ends.length > n) {
          clearTimeout(timer);
          resolve(this.ends[n]!);
        } else this.waiters.push(wait);
      };
      this.waiters.push(wait);
    });
  }
}

async function startAgent(
  patch: Partial<AgentRuntimeOptions> = {},
  fake = new FakeController(),
): Promise<{ runtime: AgentRuntime; fake: FakeController; dir: string }> {
  const dir = await stateDir();
  const runtime = new AgentRuntime({
    hostId: 5,
    credential: { kind: 'join-token', token: TOKEN },
    driverName: 'dummy',
    stateDir: dir,
    connect: fake.connect,
    backoff: { initialMs: 20, maxMs: 40, resetAfterMs: 60_000 },
    random: () => 0.5,
    ...patch,
  });
  runtimes.push(runtime);
  await runtime.start();
  return { runtime, fake, dir };
}

/** Starts an agent and welcomes it with `attributes`. */
async function welcomedAgent(
  attributes: Record<string, string> = {},
  patch: Partial<AgentRuntimeOptions> = {},
): Promise<{ runtime: AgentRuntime; fake: FakeController; end: ControllerEnd; dir: string }> {
  const started = await startAgent(patch);
  const end = await started.fake.link(0);
  await end.waitFor((m) => m.type === 'hello', 'hello');
  end.welcome({}, attributes);
  await end.waitFor((m) => m.type === 'monitor-vms', 'monitor-vms');
  return { ...started, end };
}

const spec = (id: number): DeploymentSpec => ({
  VMID: id,
  NAME: `vm-${id}`,
  DEPLOY_ID: `one-${id}`,
  CPU: 1,
  VCPU: 2,
  MEMORY: 2048,
  DISK: [
    { DISK_ID: 0, SOURCE: `/ds/0/${id}/disk.0`, TARGET: 'vda', FORMAT: 'qcow2', READONLY: false, SIZE: 8192 },
  ],
  NIC: [],
});

const deploy = (opId: string, vmId: number, patch: Partial<Operation> = {}): Operation =>
  ({
    type: 'operation',
    opId,
    vmId,
    driver: 'vmm',
    op: 'deploy',
    args: { spec: spec(vmId) },
    ...patch,
  }) as Operation;

const prolog = (opId: string, vmId: number): Operation => ({
  type: 'operation',
  opId,
  vmId,
  driver: 'tm',
  op: 'prolog',
  args: { systemDir: `/var/lib/nimbus/datastores/0/${vmId}` },
});

const progressOf = (end: ControllerEnd, opId: string): number[] =>
  end.messages.flatMap((m) => (m.type === 'progress' && m.opId === opId ? [m.percent] : []));

describe('AgentRuntime: hello and welcome', () => {
  it('says hello with the credential, driver and capabilities known before the driver loads', async () => {
    const { fake } = await startAgent({ agentVersion: '9.9.9' });
    const end = await fake.link(0);
    const hello = await end.waitFor((m): m is Hello => m.type === 'hello', 'hello');
    assert.deepEqual(
      { ...hello, capabilities: undefined },
      {
        type: 'hello',
        protocol: 1,
        hostId: 5,
        credential: { kind: 'join-token', token: TOKEN },
        agentVersion: '9.9.9',
        driver: 'dummy',
        capabilities: undefined,
      },
    );
    const caps = hello.capabilities;
    assert.deepEqual(caps, helloCapabilities('dummy'));
    for (const op of [
      'deploy',
      'shutdown',
      'migrate',
      'resize',
      'driver-cancel',
      'prolog',
      'epilog',
      'prolog-migrate',
    ]) {
      assert.ok(caps.operations.includes(op), op);
    }
    // TM snapshot-create would read as the VMM system snapshot, which the driver does not run.
    assert.ok(!caps.operations.includes('snapshot-create'));
    assert.equal(new Set(caps.operations).size, caps.operations.length);
  });

  it('the static capability table matches the loaded driver', async () => {
    const driver = await loadDriver('dummy', { hostId: 1, stateDir: await stateDir(), attributes: {} });
    assert.deepEqual(DRIVER_CAPABILITIES['dummy'], driver.capabilities);
    await driver.close();
    assert.throws(() => helloCapabilities('qemu'), { code: 'DRIVER_NOT_AVAILABLE' });
    assert.throws(() => helloCapabilities('xen'), { code: 'DRIVER_UNKNOWN' });
  });

  it('after welcome sends monitor-host and a complete monitor-vms at once', async () => {
    const { runtime, end } = await welcomedAgent({ CPU: '8' });
    const afterHello = end.messages.slice(1).map((m) => m.type);
    assert.deepEqual(afterHello.slice(0, 2), ['monitor-host', 'monitor-vms']);
    const host = end.messages[1]!;
    assert.ok(host.type === 'monitor-host' && host.host.TOTALCPU === 800);
    const vms = end.messages[2]!;
    assert.ok(vms.type === 'monitor-vms' && vms.complete && vms.vms.length === 0);
    assert.equal(runtime.state, 'connected');
    assert.equal(runtime.connections, 1);
  });

  it('answers pings, repeats monitoring, and closes the link after 3 pings without pong', async () => {
    // validate:false lets the test use sub-second intervals the schema (whole seconds) forbids.
    const fake = new FakeController(false);
    const { runtime } = await startAgent({}, fake);
    const end = await fake.link(0);
    end.link.send({ type: 'ping', seq: 7 });
    await end.waitFor((m) => m.type === 'pong' && m.seq === 7, 'pong 7');
    end.welcome({ intervals: { monitorHostS: 60, monitorVmsS: 0.05, pingS: 0.05 } });
    const reason = await end.closed();
    assert.match(reason, /no pong to 3 pings in a row/);
    const pings = end.messages.filter((m) => m.type === 'ping');
    assert.deepEqual(
      pings.map((m) => (m.type === 'ping' ? m.seq : -1)),
      [0, 1, 2],
    );
    assert.ok(end.messages.filter((m) => m.type === 'monitor-vms').length >= 2, 'monitor-vms repeats');
    await fake.link(1);
    assert.equal(runtime.state === 'connecting' || runtime.state === 'connected', true);
  });

  it('persists a host key given in welcome and dials with it afterwards', async () => {
    const stored: string[] = [];
    const { fake } = await startAgent({
      onHostKey: async (key) => {
        stored.push(key);
      },
    });
    const first = await fake.link(0);
    first.welcome({ hostKey: 'host-key-abcdefghijklmnop' });
    await first.waitFor((m) => m.type === 'monitor-vms', 'monitor-vms');
    assert.deepEqual(stored, ['host-key-abcdefghijklmnop']);
    first.link.close('controller restarting');
    const second = await fake.link(1);
    const hello = await second.waitFor((m): m is Hello => m.type === 'hello', 'second hello');
    assert.deepEqual(hello.credential, { kind: 'host-key', key: 'host-key-abcdefghijklmnop' });
  });
});

describe('AgentRuntime: operations', () => {
  it('deploys; a re-sent opId is answered from the record without running again', async () => {
    const { end } = await welcomedAgent();
    end.link.send(deploy('vm9-deploy-1', 9));
    const first = await end.result('vm9-deploy-1');
    assert.deepEqual(first, {
      type: 'result',
      opId: 'vm9-deploy-1',
      vmId: 9,
      ok: true,
      value: { deployId: 'one-9' },
    });
    assert.deepEqual(progressOf(end, 'vm9-deploy-1'), [0, 100]);

    end.link.send(deploy('vm9-deploy-1', 9));
    const again = await end.result('vm9-deploy-1', true);
    assert.equal(again.ok, true);
    assert.deepEqual(progressOf(end, 'vm9-deploy-1'), [0, 100], 'the deploy ran once');
  });

  it('refuses an opId reused for another operation', async () => {
    const { end } = await welcomedAgent();
    end.link.send(deploy('op-1', 9));
    await end.result('op-1');
    end.link.send({ type: 'operation', opId: 'op-1', vmId: 9, driver: 'vmm', op: 'shutdown', args: {} });
    const reused = await end.waitFor(
      (m): m is OperationResult => m.type === 'result' && m.opId === 'op-1' && !m.ok,
      'refusal of op-1',
    );
    assert.ok(!reused.ok);
    assert.equal(reused.error.code, 'OPERATION_ID_REUSED');
    assert.match(reused.error.message, /was "vmm deploy vm 9", now sent as "vmm shutdown vm 9"/);
  });

  it('DUMMY_FAIL=deploy answers a DRIVER_FAILED result', async () => {
    const { end } = await welcomedAgent({ DUMMY_FAIL: 'deploy' });
    end.link.send(deploy('d-1', 9));
    const r = await end.result('d-1');
    assert.ok(!r.ok);
    assert.deepEqual(r.error, {
      code: 'DRIVER_FAILED',
      message: 'deploy of one-9 failed: host 5 has DUMMY_FAIL = "deploy"',
      step: 'deploy',
    });
  });

  it('runs TM ops through the dummy transfer; DUMMY_FAIL=prolog fails prolog', async () => {
    const { end } = await welcomedAgent({ DUMMY_FAIL: 'prolog' });
    end.link.send({ ...prolog('p-1', 9) });
    const failed = await end.result('p-1');
    assert.ok(!failed.ok);
    assert.deepEqual(failed.error, {
      code: 'DRIVER_FAILED',
      message: 'prolog of one-9 failed: host 5 has DUMMY_FAIL = "prolog"',
      step: 'prolog',
    });
    end.link.send({
      type: 'operation',
      opId: 'e-1',
      vmId: 9,
      driver: 'tm',
      op: 'epilog',
      args: { systemDir: '/var/lib/nimbus/datastores/0/9' },
    });
    assert.equal((await end.result('e-1')).ok, true);
  });

  it('timeoutS aborts a slow operation with TIMEOUT', async () => {
    const { end } = await welcomedAgent({ DUMMY_DELAY_MS: '60000' });
    end.link.send(deploy('slow-1', 9, { timeoutS: 1 }));
    const r = await end.result('slow-1');
    assert.ok(!r.ok);
    assert.deepEqual(r.error, {
      code: 'TIMEOUT',
      message: 'deploy of one-9 did not finish in 1 s',
      step: 'deploy',
    });
  });

  it('driver-cancel aborts the running operation, which answers CANCELLED', async () => {
    const { end } = await welcomedAgent({ DUMMY_DELAY_MS: '60000' });
    end.link.send(deploy('long-1', 9));
    await end.waitFor((m) => m.type === 'progress' && m.opId === 'long-1', 'progress of long-1');
    end.link.send({
      type: 'operation',
      opId: 'cancel-1',
      vmId: 9,
      driver: 'vmm',
      op: 'driver-cancel',
      args: { target: 'long-1' },
    });
    assert.deepEqual(await end.result('cancel-1'), {
      type: 'result',
      opId: 'cancel-1',
      vmId: 9,
      ok: true,
      value: {},
    });
    const r = await end.result('long-1');
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'CANCELLED');
    assert.match(r.error.message, /deploy of one-9 was cancelled by operation cancel-1/);
  });

  it('after a drop it dials again with backoff; an op that finished meanwhile is answered replayed', async () => {
    const draws: number[] = [];
    const { fake } = await startAgent({
      backoff: { initialMs: 150, maxMs: 150 },
      random: () => {
        draws.push(1);
        return 1;
      },
    });
    const first = await fake.link(0);
    first.welcome({}, { DUMMY_DELAY_MS: '100' });
    await first.waitFor((m) => m.type === 'monitor-vms', 'monitor-vms');
    first.link.send(deploy('vm9-deploy-7', 9));
    await first.waitFor((m) => m.type === 'progress', 'progress');

    let release!: () => void;
    fake.gate = new Promise<void>((resolve) => (release = resolve));
    const { runtime } = { runtime: runtimes.at(-1)! };
    const done = new Promise<void>((resolve) =>
      runtime.events.on('result', (opId) => opId === 'vm9-deploy-7' && resolve()),
    );
    const droppedAt = Date.now();
    first.link.close('network hiccup');
    await done; // finished while no link was up: its result could not be sent
    assert.equal(runtime.state, 'connecting');
    release();
    const second = await fake.link(1);
    assert.ok(fake.dialTimes[1]! - droppedAt >= 140, `backoff waited ${fake.dialTimes[1]! - droppedAt} ms`);
    assert.equal(draws.length, 1);
    second.welcome({}, { DUMMY_DELAY_MS: '100' });
    await second.waitFor((m) => m.type === 'monitor-vms', 'monitor-vms');
    second.link.send(deploy('vm9-deploy-7', 9));
    const r = await second.result('vm9-deploy-7', true);
    assert.deepEqual(r, {
      type: 'result',
      opId: 'vm9-deploy-7',
      vmId: 9,
      ok: true,
      value: { deployId: 'one-9' },
      replayed: true,
    });
    assert.equal(runtime.connections, 2);
    assert.ok(!first.messages.some((m) => m.type === 'result'));
  });

  it('dial failures are retried with backoff', async () => {
    const fake = new FakeController();
    fake.failDials = 2;
    await startAgent({}, fake);
    const end = await fake.link(0);
    assert.equal(fake.dialTimes.length, 3);
    await end.waitFor((m) => m.type === 'hello', 'hello after two failed dials');
  });

  it('stop() waits for a running operation, records it, and closes the link', async () => {
    const { runtime, end, dir } = await welcomedAgent({ DUMMY_DELAY_MS: '100' });
    end.link.send(deploy('vm9-deploy-3', 9));
    await end.waitFor((m) => m.type === 'progress', 'progress');
    await runtime.stop();
    assert.equal(runtime.state, 'stopped');
    assert.equal(end.link.closed, true);
    const record = JSON.parse(await readFile(join(dir, 'operations.json'), 'utf8')) as {
      done: { opId: string }[];
    };
    assert.deepEqual(
      record.done.map((e) => e.opId),
      ['vm9-deploy-3'],
    );
  });
});

describe('AgentRuntime: refusals and driver failures', () => {
  it('a refusal with retry:false stops the agent and says why', async () => {
    const { runtime, fake } = await startAgent();
    const end = await fake.link(0);
    const states: string[] = [];
    runtime.events.on('state', (s) => states.push(s));
    end.link.send({
      type: 'refusal',
      code: 'BAD_CREDENTIAL',
      message: 'join token already used',
      retry: false,
    });
    await end.closed();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(runtime.state, 'refused');
    assert.deepEqual(states, ['refused']);
    assert.equal(runtime.refusal?.code, 'BAD_CREDENTIAL');
    assert.equal(fake.dialTimes.length, 1, 'no redial');
  });

  it('a refusal with retry:true dials again', async () => {
    const { runtime, fake } = await startAgent();
    const end = await fake.link(0);
    end.link.send({ type: 'refusal', code: 'ALREADY_CONNECTED', message: 'host 5 has a link', retry: true });
    const second = await fake.link(1);
    await second.waitFor((m) => m.type === 'hello', 'hello again');
    assert.equal(runtime.refusal?.code, 'ALREADY_CONNECTED');
    assert.notEqual(runtime.state, 'refused');
  });

  it('a driver that does not load (bad host attribute) closes the link and is retried', async () => {
    const { fake, runtime } = await startAgent();
    const first = await fake.link(0);
    first.welcome({}, { MEMORY: 'lots' });
    assert.match(await first.closed(), /BAD_HOST_ATTRIBUTE: host 5: MEMORY = "lots"/);
    const second = await fake.link(1);
    second.welcome({}, { MEMORY: '4096' });
    const host = await second.waitFor((m) => m.type === 'monitor-host', 'monitor-host');
    assert.ok(host.type === 'monitor-host' && host.host.TOTALMEMORY === 4096 * 1024);
    assert.equal(runtime.connections, 1);
  });

  it('reloads the driver when a later welcome brings other host attributes', async () => {
    const { fake } = await startAgent();
    const first = await fake.link(0);
    first.welcome({}, { CPU: '8' });
    const earlier = await first.waitFor((m) => m.type === 'monitor-host', 'monitor-host');
    assert.ok(earlier.type === 'monitor-host' && earlier.host.TOTALCPU === 800);
    first.link.close('controller restarting');
    const second = await fake.link(1);
    second.welcome({}, { CPU: '4' });
    const later = await second.waitFor((m) => m.type === 'monitor-host', 'monitor-host');
    assert.ok(later.type === 'monitor-host' && later.host.TOTALCPU === 400);
  });
});
