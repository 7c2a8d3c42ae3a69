/**
 * The crash test of the lifecycle issue: the real `nimbusd` is SIGKILLed at random points while
 * 100 VMs deploy and change state on five dummy hosts (each operation takes DUMMY_DELAY_MS, so a
 * kill lands mid-operation), and restarted on the same HOME each time. After the last restart it
 * is left to settle; then every VM must be in a defined, stable state, with no operation lock,
 * lease, image reference, host capacity or quota left behind, and the dummy hosts must run exactly
 * what the controller believes runs. The leak invariants are also checked on the database as each
 * crash left it.
 *
 * Seeded: NIMBUS_CRASH_SEED replays a run's choices (timing still varies), NIMBUS_CRASH_ROUNDS sets
 * the number of kills (default 8). The seed is printed first.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  NimbusdProcess,
  Prng,
  isStable,
  label,
  readDatabase,
  readDummyTables,
  restClient,
  violations,
  type Answer,
} from './crash-harness.js';

const SEED = Number(process.env.NIMBUS_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ROUNDS = Number(process.env.NIMBUS_CRASH_ROUNDS ?? 8);
const VM_COUNT = 100;
const HOST_COUNT = 5;
/** Each host fits 24 VMs of CPU 0.1: the 100 VMs spread over all five, with room to move. */
const HOST_CPU_CORES = 2.4;
const SETTLE_TIMEOUT_MS = 90_000;
const USER = { name: 'crasher', password: 'crasher-pw' };

/** What the test does to a VM, with how often. Refusals (409, 400) are part of the game. */
const ACTIONS = {
  poweroff: 10,
  'poweroff-hard': 4,
  resume: 14,
  suspend: 8,
  stop: 5,
  undeploy: 5,
  'undeploy-hard': 2,
  reboot: 6,
  'reboot-hard': 3,
  terminate: 3,
  'terminate-hard': 2,
  hold: 3,
  release: 4,
  resched: 2,
  unresched: 1,
  migrate: 3,
  'live-migrate': 3,
  recover: 2,
} as const;
type CrashAction = keyof typeof ACTIONS;

const RECOVER_OPS = { retry: 3, delete: 1, success: 1, failure: 1 } as const;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line: string): void => console.log(`crash: ${line}`);

const homes: string[] = [];
let daemon: NimbusdProcess | undefined;

after(async () => {
  await daemon?.kill();
  if (process.env.NIMBUS_CRASH_KEEP === undefined)
    for (const home of homes) await rm(home, { recursive: true, force: true });
  else log(`state kept in ${homes.join(' ')}`);
});

function expectStatus(res: Answer, status: number, what: string): void {
  assert.equal(res.status, status, `${what}: ${res.status} ${JSON.stringify(res.body)}`);
}

describe('nimbusd killed with SIGKILL while 100 VMs change state on dummy hosts', () => {
  it('leaves every VM in a defined state with no leaked lock, lease, image reference, capacity or quota', async () => {
    const started = Date.now();
    log(`seed ${SEED} (NIMBUS_CRASH_SEED=${SEED} replays the choices), ${ROUNDS} rounds`);
    const rng = new Prng(SEED);
    const home = await mkdtemp(join(tmpdir(), 'nimbus-crash-'));
    homes.push(home);
    // Short monitoring intervals: monitoring reports meet the re-sent operations after each restart.
    await writeFile(
      join(home, 'nimbusd.json'),
      JSON.stringify({ monitoring: { hostIntervalS: 5, vmIntervalS: 5 } }),
    );

    let run = 0;
    daemon = await NimbusdProcess.start(home, run);
    const url = (): string => daemon!.url;
    const admin = restClient(url);
    const user = restClient(url, USER.name, USER.password);

    // ---- setup: hosts, network, user with quotas, image, template --------------------------
    const hostIds: number[] = [];
    for (let i = 0; i < HOST_COUNT; i++) {
      const created = await admin('POST', '/api/v1/hosts', { name: `crash-${i}`, im: 'dummy', vm: 'dummy' });
      expectStatus(created, 201, 'host create');
      const id = created.body.ID as number;
      const delay = rng.between(20, 100);
      const updated = await admin('PUT', `/api/v1/hosts/${id}/template`, {
        template: `CPU = ${HOST_CPU_CORES}\nMEMORY = 8192\nDUMMY_DELAY_MS = ${delay}`,
        merge: true,
      });
      expectStatus(updated, 200, 'host template');
      hostIds.push(id);
    }
    const vnet = await admin(
      'POST',
      '/api/v1/vnets',
      'NAME = crash-net\nVN_MAD = bridge\nBRIDGE = crashbr0\nAR = [ TYPE = "IP4", IP = "10.66.0.10", SIZE = "250" ]',
    );
    expectStatus(vnet, 201, 'vnet create');
    const vnetId = vnet.body.ID as number;
    const account = await admin('POST', '/api/v1/users', { name: USER.name, password: USER.password });
    expectStatus(account, 201, 'user create');
    const uid = account.body.ID as number;
    expectStatus(await admin('POST', `/api/v1/vnets/${vnetId}/chown`, { uid }), 200, 'vnet chown');
    const image = await user('POST', '/api/v1/images', {
      template: { NAME: 'crash-disk', TYPE: 'DATABLOCK', SIZE: '1', FORMAT: 'raw' },
      datastore: 1,
    });
    expectStatus(image, 201, 'image create');
    const imageId = image.body.ID as number;
    for (let i = 0; ; i++) {
      const shown = await user('GET', `/api/v1/images/${imageId}`);
      if (shown.body.IMAGE.STATE_NAME === 'READY') break;
      assert.ok(i < 200 && shown.body.IMAGE.STATE_NAME === 'LOCKED', JSON.stringify(shown.body.IMAGE));
      await sleep(50);
    }
    expectStatus(
      await admin('PUT', `/api/v1/users/${uid}/quota`, {
        template: `VM = [ VMS = 1000, CPU = 1000, MEMORY = 1000000 ]\nNETWORK = [ ID = ${vnetId}, LEASES = 1000 ]\nIMAGE = [ ID = ${imageId}, RVMS = 1000 ]`,
      }),
      200,
      'quota',
    );
    const template = await user(
      'POST',
      '/api/v1/templates',
      `NAME = crash-vm\nCPU = 0.1\nMEMORY = 64\nDISK = [ IMAGE_ID = ${imageId} ]\nNIC = [ NETWORK_ID = ${vnetId} ]`,
    );
    expectStatus(template, 201, 'template create');

    // The embedded agents read DUMMY_DELAY_MS at welcome: a clean restart makes them load it.
    assert.equal(await daemon.stop(), 0, 'nimbusd stops cleanly on SIGTERM');
    daemon = await NimbusdProcess.start(home, ++run);
    for (let i = 0; ; i++) {
      const hosts = (await admin('GET', '/api/v1/hosts')).body.HOST_POOL.HOST as {
        ID: number;
        STATE: number;
      }[];
      if (hostIds.every((id) => hosts.find((h) => h.ID === id)?.STATE === 2)) break;
      assert.ok(i < 200, `hosts not MONITORED: ${JSON.stringify(hosts.map((h) => [h.ID, h.STATE]))}`);
      await sleep(50);
    }

    const instantiated = await user('POST', `/api/v1/templates/${template.body.ID}/instantiate`, {
      multiple: VM_COUNT,
    });
    expectStatus(instantiated, 201, 'instantiate');
    const vmIds = instantiated.body.IDS as number[];
    assert.equal(vmIds.length, VM_COUNT);
    log(
      `setup done in ${Date.now() - started} ms: hosts ${hostIds.join(',')}, vnet ${vnetId}, image ${imageId}`,
    );

    // ---- rounds: act, kill, check what the crash left, restart -----------------------------
    const crashFindings: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // A third of the kills land while the restart re-sends what was in flight, the rest among actions.
      const killAfterMs = rng.next() < 1 / 3 ? rng.between(50, 400) : rng.between(400, 2500);
      const deadline = Date.now() + killAfterMs;
      const tally = { sent: 0, ok: 0, refused: 0, lost: 0 };
      const statuses = new Map<number, number>();
      const choices = Array.from({ length: 400 }, () => ({
        vmId: rng.pick(vmIds),
        action: rng.weighted<CrashAction>(ACTIONS),
        host: rng.pick(hostIds),
        recover: rng.weighted(RECOVER_OPS),
        pauseMs: rng.between(0, 40),
      }));
      let next = 0;
      const worker = async (): Promise<void> => {
        while (Date.now() < deadline && next < choices.length) {
          const c = choices[next++]!;
          tally.sent++;
          try {
            const res = await act(admin, c.vmId, c.action, c.host, c.recover);
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
            if (res.status === 200) tally.ok++;
            else if (res.status === 409 || res.status === 400) tally.refused++;
            else
              assert.fail(
                `${c.action} of VM ${c.vmId}: unexpected ${res.status} ${JSON.stringify(res.body)}`,
              );
          } catch (error) {
            if (error instanceof assert.AssertionError) throw error;
            tally.lost++; // the daemon died under the request
          }
          await sleep(c.pauseMs);
        }
      };
      const workers = Array.from({ length: 6 }, () => worker());
      await sleep(Math.max(0, deadline - Date.now()));
      const pid = daemon.pid;
      await daemon.kill();
      await Promise.all(workers);

      const crashed = { ...readDatabase(home), dummy: new Map() };
      const found = violations(crashed, { settled: false, hypervisor: false });
      crashFindings.push(...found.map((v) => `after kill ${round + 1}: ${v}`));
      log(
        `round ${round + 1}: killed pid ${pid} after ${killAfterMs} ms; actions ${tally.sent} (ok ${tally.ok}, refused ${tally.refused}, lost ${tally.lost}); ${crashed.operations.length} operations in flight, ${crashed.vms.filter((vm) => !isStable(vm)).length} VMs in transient states; ${found.length} invariant violations`,
      );
      daemon = await NimbusdProcess.start(home, ++run);
    }

    // ---- settle: no more actions; wait until nothing is in flight --------------------------
    const settleStart = Date.now();
    let snapshot = readDatabase(home);
    for (;;) {
      const busy = snapshot.vms.filter((vm) => !isStable(vm));
      const locks = snapshot.operations.filter((op) => op.state !== 'abandoned');
      if (busy.length === 0 && locks.length === 0) break;
      if (Date.now() - settleStart > SETTLE_TIMEOUT_MS) {
        log(
          `not settled after ${SETTLE_TIMEOUT_MS / 1000} s: ${busy.map((vm) => `${vm.id}:${label(vm)}`).join(' ')}; operations ${locks.map((op) => `${op.vmId}:${op.driver} ${op.op}(${op.state})`).join(' ')}`,
        );
        break;
      }
      await sleep(500);
      snapshot = readDatabase(home);
    }
    log(`settled in ${Date.now() - settleStart} ms`);
    const output = await daemon.output();
    assert.equal(await daemon.stop(), 0, 'nimbusd stops cleanly on SIGTERM');

    // ---- the invariants --------------------------------------------------------------------
    const final = { ...readDatabase(home), dummy: await readDummyTables(home, hostIds) };
    const histogram = new Map<string, number>();
    for (const vm of final.vms) histogram.set(label(vm), (histogram.get(label(vm)) ?? 0) + 1);
    log(`final states: ${[...histogram].map(([k, n]) => `${k} ${n}`).join(', ')}`);
    const abandoned = final.operations.filter((op) => op.state === 'abandoned').length;
    if (abandoned > 0) log(`${abandoned} abandoned operations wait for their deadline (never re-sent)`);
    const errors = output.split('\n').filter((l) => /"level":(50|60)/.test(l));
    if (errors.length > 0) log(`nimbusd logged ${errors.length} errors, first: ${errors[0]}`);

    const found = [...crashFindings, ...violations(final, { settled: true, hypervisor: true })];
    for (const v of found) log(`VIOLATION ${v}`);
    log(`run time ${Date.now() - started} ms`);
    assert.deepEqual(found, [], `seed ${SEED}: ${found.length} invariant violations (listed above)`);
  });
});

/** Sends one action; migrations pick `host`, recover its operation. */
function act(
  request: ReturnType<typeof restClient>,
  vmId: number,
  action: CrashAction,
  host: number,
  recover: keyof typeof RECOVER_OPS,
): Promise<Answer> {
  switch (action) {
    case 'migrate':
      return request('POST', `/api/v1/vms/${vmId}/migrate`, { host });
    case 'live-migrate':
      return request('POST', `/api/v1/vms/${vmId}/migrate`, { host, live: true });
    case 'recover':
      return request('POST', `/api/v1/vms/${vmId}/recover`, { operation: recover });
    default:
      return request('POST', `/api/v1/vms/${vmId}/action`, { action });
  }
}
