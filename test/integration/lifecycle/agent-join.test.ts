/**
 * A real `nimbus-agent` process joins over WebSocket with a one-time token, runs a VM, loses its
 * link (SIGKILL) and comes back with its host key: the host goes ERROR and its VM UNKNOWN, then
 * both return without the VM being restarted.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestNimbus, type TestNimbus } from '../api/harness.js';

const AGENT = join(import.meta.dirname, '../../../src/agent/main.ts');

interface Agent {
  readonly child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function startAgent(args: readonly string[]): Agent {
  const child = spawn(process.execPath, ['--import', 'tsx', AGENT, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => text, exited };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a remote agent joins, disconnects and comes back', { timeout: 120_000 }, () => {
  let t: TestNimbus;
  let stateDir: string;
  const agents: Agent[] = [];

  before(async () => {
    t = await startTestNimbus({
      listen: true,
      placement: false,
      hostLostAfterS: 1,
      intervals: { monitorVmsS: 5, monitorHostS: 5, pingS: 5 },
    });
    stateDir = await mkdtemp(join(tmpdir(), 'nimbus-agent-'));
  });
  after(async () => {
    for (const a of agents) if (a.child.exitCode === null) a.child.kill('SIGKILL');
    await Promise.all(agents.map((a) => a.exited));
    await t.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  const hostState = async (id: number) => (await t.admin('GET', `/api/v1/hosts/${id}`)).body.HOST;
  const vmState = async (id: number) => {
    const vm = (await t.admin('GET', `/api/v1/vms/${id}`)).body.VM;
    return `${vm.STATE_NAME}/${vm.LCM_STATE_NAME}`;
  };

  let hostId: number;
  let command: string[];

  it('prints a join command; the host is ERROR until its agent connects', async () => {
    const created = await t.admin('POST', '/api/v1/hosts', { name: 'remote1', im: 'dummy', vm: 'dummy' });
    hostId = created.body.ID;
    const update = await t.admin('PUT', `/api/v1/hosts/${hostId}/template`, {
      template: 'AGENT = "remote"\nCPU = 4\nMEMORY = 8192',
      merge: true,
    });
    assert.equal(update.status, 200);
    const token = await t.admin('POST', `/api/v1/hosts/${hostId}/token`);
    assert.equal(token.status, 200);
    command = token.body.JOIN.COMMAND.split(' ');
    assert.deepEqual(command.slice(0, 2), ['nimbus-agent', '--controller']);
    assert.equal(command[command.indexOf('--driver') + 1], 'dummy');
    // No agent within the monitoring interval (1 s here): ERROR, until one connects.
    await until('host ERROR without its agent', async () =>
      (await hostState(hostId)).STATE === 3 ? true : undefined,
    );
  });

  it('joins with the token: MONITORED, with the capacity its driver reports; the key is stored 0600', async () => {
    agents.push(startAgent([...command.slice(1), '--state-dir', stateDir]));
    const host = await until('host MONITORED', async () => {
      const h = await hostState(hostId);
      return h.STATE === 2 ? h : undefined;
    });
    assert.equal(host.HOST_SHARE.TOTAL_CPU, 400);
    assert.equal(host.HOST_SHARE.TOTAL_MEM, 8192 * 1024);
    const key = await readFile(join(stateDir, 'host.key'), 'utf8');
    assert.ok(key.trim().length >= 32);
  });

  it('refuses the same token a second time', async () => {
    const other = await mkdtemp(join(tmpdir(), 'nimbus-agent-'));
    try {
      const second = startAgent([...command.slice(1), '--state-dir', other]);
      agents.push(second);
      const code = await Promise.race([
        second.exited,
        new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000)),
      ]);
      assert.notEqual(code, 'timeout', second.output());
      assert.notEqual(code, 0);
      assert.match(second.output(), /BAD_CREDENTIAL|join token refused/);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('runs a VM there; after a SIGKILL of the agent the host is ERROR and the VM UNKNOWN; it comes back RUNNING, not restarted', async () => {
    const vm = (await t.admin('POST', '/api/v1/vms', 'NAME = r1\nCPU = 1\nMEMORY = 256')).body.ID;
    assert.equal((await t.admin('POST', `/api/v1/vms/${vm}/deploy`, { host: hostId })).status, 200);
    await until('RUNNING', async () => ((await vmState(vm)) === 'ACTIVE/RUNNING' ? true : undefined));

    const first = agents[0]!;
    first.child.kill('SIGKILL');
    await first.exited;
    await until('host ERROR', async () => ((await hostState(hostId)).STATE === 3 ? true : undefined));
    await until('VM UNKNOWN', async () => ((await vmState(vm)) === 'ACTIVE/UNKNOWN' ? true : undefined));

    // No token this time: the agent dials with the host key of its state directory.
    const controller = command[command.indexOf('--controller') + 1]!;
    agents.push(startAgent(['--controller', controller, '--driver', 'dummy', '--state-dir', stateDir]));
    await until('host MONITORED again', async () =>
      (await hostState(hostId)).STATE === 2 ? true : undefined,
    );
    await until('VM RUNNING again', async () =>
      (await vmState(vm)) === 'ACTIVE/RUNNING' ? true : undefined,
    );

    const log = (await t.admin('GET', `/api/v1/vms/${vm}/log`)).body as string;
    assert.equal((log.match(/New LCM state is BOOT/g) ?? []).length, 1, log);
    assert.match(log, /New LCM state is UNKNOWN[\s\S]*New LCM state is RUNNING/);
    const history = (await t.admin('GET', `/api/v1/vms/${vm}`)).body.VM.HISTORY_RECORDS.HISTORY;
    assert.equal(history.length, 1);
  });
});
