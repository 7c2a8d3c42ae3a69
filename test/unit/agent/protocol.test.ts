import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AGENT_PROTOCOL_VERSION,
  TM_OPS,
  VMM_OPS,
  decodeAgentMessage,
  deployIdOf,
  encodeAgentMessage,
  vmIdOfDeployId,
  type AgentMessage,
  type DeploymentSpec,
} from '../../../src/protocol/agent.js';

const spec: DeploymentSpec = {
  VMID: 42,
  NAME: 'web-1',
  DEPLOY_ID: 'one-42',
  CPU: 0.5,
  VCPU: 2,
  MEMORY: 1024,
  DISK: [
    {
      DISK_ID: 0,
      SOURCE: '/var/lib/one/datastores/0/42/disk.0',
      TARGET: 'vda',
      FORMAT: 'qcow2',
      READONLY: false,
    },
  ],
  NIC: [{ NIC_ID: 0, MAC: '02:00:0a:00:00:05', BRIDGE: 'br0', MODEL: 'virtio', TARGET: 'one-42-0' }],
  GRAPHICS: { TYPE: 'VNC', PORT: 5942 },
  CONTEXT: { DISK_ID: 1, SOURCE: '/var/lib/one/datastores/0/42/disk.1', TARGET: 'hda' },
};

const valid: AgentMessage[] = [
  {
    type: 'hello',
    protocol: AGENT_PROTOCOL_VERSION,
    hostId: 3,
    credential: { kind: 'join-token', token: 'abcdefghijklmnopqrstuvwxyz' },
    agentVersion: '0.1.0',
    driver: 'dummy',
    capabilities: {
      keepSnapshots: true,
      coldNicAttach: false,
      liveResize: true,
      liveMigrate: true,
      operations: ['deploy', 'shutdown'],
    },
  },
  {
    type: 'welcome',
    protocol: 1,
    hostId: 3,
    hostKey: 'k'.repeat(32),
    hostAttributes: { CPU: '8', DUMMY_FAIL: 'deploy' },
    intervals: { monitorHostS: 120, monitorVmsS: 30, pingS: 15 },
  },
  { type: 'refusal', code: 'BAD_CREDENTIAL', message: 'join token already used', retry: false },
  { type: 'operation', opId: 'vm42-deploy-1', vmId: 42, driver: 'vmm', op: 'deploy', args: { spec } },
  {
    type: 'operation',
    opId: 'vm42-shutdown-2',
    vmId: 42,
    deployId: 'one-42',
    driver: 'vmm',
    op: 'shutdown',
    args: {},
  },
  {
    type: 'operation',
    opId: 'vm42-migrate-3',
    vmId: 42,
    driver: 'vmm',
    op: 'migrate',
    args: { role: 'send', target: { hostId: 4, uri: 'dummy://host-4/one-42/x' } },
  },
  { type: 'operation', opId: 'vm42-reboot', vmId: 42, driver: 'vmm', op: 'reboot', args: {} },
  {
    type: 'operation',
    opId: 'vm42-prolog-1',
    vmId: 42,
    driver: 'tm',
    op: 'prolog',
    args: {
      systemDir: '/var/lib/one/datastores/0/42',
      disks: [
        {
          DISK_ID: 0,
          SOURCE: '/ds/1/abc',
          PATH: '/var/lib/one/datastores/0/42/disk.0',
          FORMAT: 'qcow2',
          MODE: 'clone',
        },
      ],
    },
  },
  { type: 'progress', opId: 'vm42-prolog-1', percent: 43, message: 'copying disk 0' },
  { type: 'result', opId: 'vm42-deploy-1', vmId: 42, ok: true, value: { deployId: 'one-42' } },
  {
    type: 'result',
    opId: 'vm42-deploy-1',
    vmId: 42,
    ok: false,
    error: { code: 'DRIVER_FAILED', message: 'qemu: could not open disk', step: 'deploy' },
    replayed: true,
  },
  {
    type: 'monitor-host',
    timestamp: 1_700_000_000,
    host: {
      HYPERVISOR: 'dummy',
      TOTALCPU: 1600,
      TOTALMEMORY: 67_108_864,
      USEDCPU: 120,
      FREECPU: 1480,
      USEDMEMORY: 1_048_576,
      FREEMEMORY: 66_060_288,
      NETRX: 10,
      NETTX: 20,
    },
  },
  {
    type: 'monitor-vms',
    timestamp: 1_700_000_000,
    complete: true,
    vms: [
      {
        DEPLOY_ID: 'one-42',
        ID: 42,
        STATE: 'RUNNING',
        MONITOR: {
          CPU: 37.5,
          MEMORY: 524_288,
          NETRX: 1,
          NETTX: 2,
          DISKRDBYTES: 3,
          DISKWRBYTES: 4,
          DISKRDIOPS: 5,
          DISKWRIOPS: 6,
          DISK_SIZE: [{ ID: 0, SIZE: 1024 }],
        },
      },
    ],
  },
  { type: 'ping', seq: 1 },
  { type: 'pong', seq: 1 },
];

describe('agent protocol: round trips', () => {
  for (const message of valid) {
    const label = message.type === 'operation' ? `operation ${message.driver} ${message.op}` : message.type;
    it(`${label} survives encode -> decode`, () => {
      const decoded = decodeAgentMessage(encodeAgentMessage(message));
      assert.ok(decoded.ok, decoded.ok ? '' : decoded.error.message);
      assert.deepEqual(decoded.value, message);
    });
  }

  it('accepts a parsed object as well as frame text', () => {
    const decoded = decodeAgentMessage({ type: 'ping', seq: 7 });
    assert.ok(decoded.ok);
  });

  it('restricts the messages each side sends', () => {
    const asAgent = decodeAgentMessage(
      {
        type: 'welcome',
        protocol: 1,
        hostId: 1,
        hostAttributes: {},
        intervals: { monitorHostS: 1, monitorVmsS: 1, pingS: 1 },
      },
      'agent',
    );
    assert.equal(asAgent.ok, false);
    assert.ok(!asAgent.ok && /agent does not send "welcome"/.test(asAgent.error.message));
    assert.ok(decodeAgentMessage({ type: 'ping', seq: 1 }, 'agent').ok);
    assert.ok(decodeAgentMessage({ type: 'ping', seq: 1 }, 'controller').ok);
  });

  it('names every domain op (vmm and tm) so each effect can be sent', () => {
    assert.ok(VMM_OPS.includes('deploy') && VMM_OPS.includes('driver-cancel'));
    assert.ok(TM_OPS.includes('prolog') && TM_OPS.includes('epilog-delete-both'));
  });

  it('maps VM ids to deploy ids and back', () => {
    assert.equal(deployIdOf(42), 'one-42');
    assert.equal(vmIdOfDeployId('one-42'), 42);
    assert.equal(vmIdOfDeployId('instance-0001'), undefined);
    assert.equal(vmIdOfDeployId('one-99999999999'), undefined);
  });
});

const deployOp = (specPatch: Record<string, unknown>): unknown => ({
  type: 'operation',
  opId: 'op-1',
  vmId: 42,
  driver: 'vmm',
  op: 'deploy',
  args: { spec: { ...spec, ...specPatch } },
});

/** [what, message, the field the error must name] */
const malformed: [string, unknown, string][] = [
  ['not JSON', '{"type": "ping",', '(none)'],
  ['not an object', '[1,2]', 'type'],
  ['unknown type', { type: 'shout' }, 'type'],
  ['hello without protocol', { ...(valid[0] as object), protocol: undefined }, 'protocol'],
  [
    'hello with a short token',
    { ...(valid[0] as object), credential: { kind: 'join-token', token: 'x' } },
    'credential.token',
  ],
  ['hello with a bad driver name', { ...(valid[0] as object), driver: 'Q E M U' }, 'driver'],
  ['hello with an extra field', { ...(valid[0] as object), password: 'x' }, 'password'],
  [
    'operation with a bad op id',
    { type: 'operation', opId: 'a b', vmId: 1, driver: 'vmm', op: 'reboot', args: {} },
    'opId',
  ],
  [
    'operation with a negative vm id',
    { type: 'operation', opId: 'a', vmId: -1, driver: 'vmm', op: 'reboot', args: {} },
    'vmId',
  ],
  [
    'operation with an unknown op',
    { type: 'operation', opId: 'a', vmId: 1, driver: 'vmm', op: 'explode', args: {} },
    'op',
  ],
  [
    'operation with a tm op sent as vmm',
    { type: 'operation', opId: 'a', vmId: 1, driver: 'vmm', op: 'prolog', args: {} },
    'op',
  ],
  [
    'deploy without a spec',
    { type: 'operation', opId: 'a', vmId: 1, driver: 'vmm', op: 'deploy', args: {} },
    'args.spec',
  ],
  ['deploy with MEMORY 0', deployOp({ MEMORY: 0 }), 'args.spec.MEMORY'],
  [
    'deploy with a bad disk target',
    deployOp({ DISK: [{ ...spec.DISK[0], TARGET: 'VDA!' }] }),
    'args.spec.DISK[0].TARGET',
  ],
  [
    'deploy with a bad MAC',
    deployOp({ NIC: [{ ...spec.NIC[0], MAC: '02:00:zz:00:00:05' }] }),
    'args.spec.NIC[0].MAC',
  ],
  [
    'deploy with a disk format vmdk',
    deployOp({ DISK: [{ ...spec.DISK[0], FORMAT: 'vmdk' }] }),
    'args.spec.DISK[0].FORMAT',
  ],
  [
    'reboot with arguments',
    { type: 'operation', opId: 'a', vmId: 1, driver: 'vmm', op: 'reboot', args: { hard: true } },
    'args.hard',
  ],
  [
    'tm prolog without systemDir',
    { type: 'operation', opId: 'a', vmId: 1, driver: 'tm', op: 'prolog', args: {} },
    'args.systemDir',
  ],
  ['progress above 100', { type: 'progress', opId: 'a', percent: 101, message: '' }, 'percent'],
  ['result ok without value', { type: 'result', opId: 'a', vmId: 1, ok: true }, 'value'],
  [
    'result failure without step',
    { type: 'result', opId: 'a', vmId: 1, ok: false, error: { code: 'DRIVER_FAILED', message: 'x' } },
    'error.step',
  ],
  [
    'monitor-host with negative FREECPU',
    { ...(valid[11] as object), host: { ...(valid[11] as { host: object }).host, FREECPU: -1 } },
    'host.FREECPU',
  ],
  [
    'monitor-vms with state PAUSED',
    {
      type: 'monitor-vms',
      timestamp: 1,
      complete: true,
      vms: [{ ...(valid[12] as { vms: object[] }).vms[0], STATE: 'PAUSED' }],
    },
    'vms[0].STATE',
  ],
  [
    'monitor-vms with MEMORY as text',
    {
      type: 'monitor-vms',
      timestamp: 1,
      complete: true,
      vms: [
        {
          DEPLOY_ID: 'one-1',
          STATE: 'RUNNING',
          MONITOR: { ...(valid[12] as { vms: { MONITOR: object }[] }).vms[0]!.MONITOR, MEMORY: '1' },
        },
      ],
    },
    'vms[0].MONITOR.MEMORY',
  ],
  ['ping with a float seq', { type: 'ping', seq: 1.5 }, 'seq'],
  ['refusal with an unknown code', { type: 'refusal', code: 'NOPE', message: 'x', retry: false }, 'code'],
];

describe('agent protocol: malformed messages are refused with the field named', () => {
  it(`has at least 15 cases (${malformed.length})`, () => assert.ok(malformed.length >= 15));
  for (const [what, message, field] of malformed) {
    it(what, () => {
      const decoded = decodeAgentMessage(typeof message === 'string' ? message : JSON.stringify(message));
      assert.equal(decoded.ok, false);
      if (decoded.ok) return;
      assert.equal(decoded.error.code, 'BAD_AGENT_MESSAGE');
      if (field === '(none)') assert.match(decoded.error.message, /not JSON/);
      else {
        assert.equal(decoded.error.field, field, decoded.error.message);
        assert.ok(decoded.error.message.includes(field), decoded.error.message);
      }
    });
  }
});
