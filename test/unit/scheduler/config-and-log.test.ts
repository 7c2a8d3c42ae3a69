import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_SCHEDULER_CONFIG,
  parseSchedulerConfig,
  schedOptions,
} from '../../../src/scheduler/config.js';
import { atLevel, passLogLines } from '../../../src/scheduler/log.js';
import { schedule } from '../../../src/scheduler/pass.js';
import { datastorePolicyRank, hostPolicyRank, networkPolicyRank } from '../../../src/scheduler/policies.js';
import { datastore, host, input, vm } from './fixtures.js';

describe('scheduler settings (nimbusd.json "scheduler")', () => {
  it('defaults to striping everywhere, no dispatch limits, no pending timeout', () => {
    assert.deepEqual(parseSchedulerConfig(undefined), DEFAULT_SCHEDULER_CONFIG);
    const o = schedOptions(DEFAULT_SCHEDULER_CONFIG);
    assert.equal(o.hostPolicy, 1);
    assert.equal(o.maxDispatch, Number.POSITIVE_INFINITY);
    assert.equal(o.maxHost, Number.POSITIVE_INFINITY);
  });

  it('takes policies by name or number, and limits', () => {
    const c = parseSchedulerConfig({
      policy: 'load-aware',
      dsPolicy: 0,
      nicPolicy: 'fixed',
      maxDispatch: 30,
      maxHost: 1,
    });
    assert.equal(c.policy, 2);
    assert.equal(c.dsPolicy, 0);
    assert.equal(c.nicPolicy, 3);
    assert.equal(schedOptions(c).maxDispatch, 30);
    assert.equal(schedOptions(c).maxHost, 1);
  });

  it('refuses unknown keys, bad policies, bad ranks and a custom policy without rank, naming the field', () => {
    const refused = (json: unknown, field: string, text: RegExp) =>
      assert.throws(
        () => parseSchedulerConfig(json),
        (e: Error & { field?: string }) => e.field === field && text.test(e.message),
      );
    refused({ polcy: 1 }, 'scheduler.polcy', /not a scheduler setting/);
    refused({ policy: 'random' }, 'scheduler.policy', /packing, striping, load-aware, custom or fixed/);
    refused({ policy: 'custom' }, 'scheduler.rank', /needed by the custom policy/);
    refused(
      { policy: 3, rank: 'FREE_CPU +' },
      'scheduler.rank',
      /not a rank expression: syntax error at column/,
    );
    refused({ pendingTimeoutS: -1 }, 'scheduler.pendingTimeoutS', /whole number/);
  });
});

describe('policies as rank expressions (reference §5.3)', () => {
  it('maps every policy', () => {
    assert.deepEqual(
      [0, 1, 2, 4].map((p) => hostPolicyRank(p as 0 | 1 | 2 | 4)),
      ['RUNNING_VMS', '- RUNNING_VMS', 'FREE_CPU', 'PRIORITY'],
    );
    assert.equal(hostPolicyRank(3, 'FREE_MEM'), 'FREE_MEM');
    assert.deepEqual(
      [0, 1, 3].map((p) => datastorePolicyRank(p as 0 | 1 | 3)),
      ['- FREE_MB', 'FREE_MB', 'PRIORITY'],
    );
    assert.deepEqual(
      [0, 1, 3].map((p) => networkPolicyRank(p as 0 | 1 | 3)),
      ['USED_LEASES', '- USED_LEASES', 'PRIORITY'],
    );
  });
});

describe('sched.log lines (reference §5.4)', () => {
  it('writes the pending count, new match-making results and the dispatch table', () => {
    const lines = passLogLines(
      [vm(4, { priority: 2 }), vm(5)],
      {
        placements: [{ vmId: 4, hostId: 1, dsId: 0, nics: [], rank: 0, resched: false }],
        unplaced: [{ vmId: 5, message: 'Cannot dispatch VM: No hosts enabled to run VMs', rejected: {} }],
        deferred: [6],
        evaluations: 0,
      },
      () => true,
      30,
    );
    assert.deepEqual(
      lines.map((l) => `[${l.module}][${l.level}]: ${l.message}`),
      [
        '[VM][D]: Found 2 pending/rescheduling VMs.',
        '[SCHED][D]: Match-making results for VM 5:\n\tCannot dispatch VM: No hosts enabled to run VMs',
        `[SCHED][D]: Dispatching VMs to hosts:\n\tVMID\tPriority\tHost\tSystem DS\n\t${'-'.repeat(60)}\n\t4\t2\t\t1\t0`,
        '[SCHED][D]: MAX_DISPATCH limit of 30 reached, 1 VMs were not dispatched',
      ],
    );
  });

  it('does not repeat an unchanged match-making result', () => {
    const lines = passLogLines(
      [vm(5)],
      { placements: [], unplaced: [{ vmId: 5, message: 'x', rejected: {} }], deferred: [], evaluations: 0 },
      () => false,
      0,
    );
    assert.equal(lines.length, 1);
  });
});

describe('sched.log at DDEBUG (logLevel 4)', () => {
  it('lists every discarded host and datastore before the match-making result', () => {
    const i = input({
      hosts: [host({ id: 0, cpu: 50 }), host({ id: 1, state: 4 })],
      datastores: [datastore({ id: 0 }), datastore({ id: 1, state: 1 })],
      vms: [vm(7)],
    });
    const config = parseSchedulerConfig({ logLevel: 4 });
    const result = schedule(i, schedOptions(config));
    const lines = atLevel(
      passLogLines(i.vms, result, () => true, 0),
      config.logLevel,
    ).map((l) => `[${l.level}] ${l.message}`);
    assert.deepEqual(lines, [
      '[D] Found 1 pending/rescheduling VMs.',
      '[DD] Host 0 discarded for VM 7. Not enough CPU capacity: 100/50',
      '[DD] Host 1 discarded for VM 7. Host is DISABLED, not enabled to run VMs.',
      '[DD] System DS 1 discarded for VM 7. Datastore is disabled.',
      '[D] Match-making results for VM 7:\n\tCannot dispatch VM: No host with enough capacity to deploy the VM',
    ]);
    // At the default DEBUG level only the summary is written.
    assert.equal(
      atLevel(
        passLogLines(i.vms, result, () => true, 0),
        3,
      ).length,
      2,
    );
    assert.deepEqual(
      atLevel(
        passLogLines(i.vms, result, () => true, 0),
        0,
      ),
      [],
    );
  });
});
