import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostRecord } from '../../../src/domain/host/record.js';
import { compileRequirement } from '../../../src/scheduler/expressions.js';
import { hostLookup } from '../../../src/scheduler/host-lookup.js';

const host: HostRecord = {
  id: 4,
  name: 'node04',
  state: 2,
  prevState: 0,
  imMad: 'kvm',
  vmMad: 'kvm',
  clusterId: 100,
  share: {
    memUsage: 1024,
    cpuUsage: 100,
    totalMem: 8192,
    totalCpu: 400,
    maxMem: 8192,
    maxCpu: 400,
    runningVms: 1,
  },
  vms: [17],
  template: { LABEL: ['ssd'], MAX_CPU: ['999'], HYPERVISOR: ['kvm'] },
  monitoring: { FREE_CPU: '380', USED_MEMORY: '2048' },
  lastMonTime: 0,
  version: 1,
};
const cluster = { name: 'prod', template: { ZONE: ['a'], LABEL: ['hdd'] } };
const holds = (expr: string): boolean => {
  const c = compileRequirement(expr);
  assert.ok(c.ok);
  return c.value.test(hostLookup(host, cluster));
};

describe('host variables for expressions, in OpenNebula lookup order', () => {
  it('reads the template first, then the share, the monitoring, the host, the cluster', () => {
    assert.ok(holds('MAX_CPU = 999'), 'the host template wins over HOST_SHARE');
    assert.ok(holds('MAX_MEM = 8192 & RUNNING_VMS = 1'));
    assert.ok(holds('FREE_CPU > 300'));
    assert.ok(holds('NAME = "node*" & ID = 4 & CLUSTER_ID = 100 & CLUSTER = prod'));
    assert.ok(holds('LABEL = ssd'), 'the host template wins over the cluster template');
    assert.ok(holds('ZONE = a'));
    assert.ok(holds('CURRENT_VMS = 17 & CURRENT_VMS != 18'));
    assert.ok(!holds('GPU = 1'));
  });
});
