import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  automaticRequirements,
  checkCapacity,
  checkVmTemplate,
  CPU_MESSAGE,
  MEMORY_MESSAGE,
  splitVmTemplate,
  VCPU_MESSAGE,
  vmQuotaCharge,
} from '../../../src/controller/vm-allocate.js';
import { NimbusError } from '../../../src/domain/errors.js';
import { parseTemplate } from '../../../src/domain/template/index.js';

describe('checkCapacity', () => {
  it('reads MEMORY, CPU and VCPU', () => {
    assert.deepEqual(checkCapacity(parseTemplate('MEMORY = 512\nCPU = 0.5\nVCPU = 2'), true), {
      ok: true,
      value: { cpu: 0.5, memory: 512, vcpu: 2 },
    });
  });

  it("refuses with OpenNebula's messages", () => {
    const cases: [string, string, string][] = [
      ['MEMORY = 0\nCPU = 1', MEMORY_MESSAGE, 'MEMORY'],
      ['MEMORY = 1.5\nCPU = 1', MEMORY_MESSAGE, 'MEMORY'],
      ['CPU = 1', MEMORY_MESSAGE, 'MEMORY'],
      ['MEMORY = 1\nCPU = 0', CPU_MESSAGE, 'CPU'],
      ['MEMORY = 1\nCPU = abc', CPU_MESSAGE, 'CPU'],
      ['MEMORY = 1', CPU_MESSAGE, 'CPU'],
      ['MEMORY = 1\nCPU = 1\nVCPU = -2', VCPU_MESSAGE, 'VCPU'],
      ['MEMORY = 1\nCPU = 1\nVCPU = [ A = 1 ]', VCPU_MESSAGE, 'VCPU'],
    ];
    for (const [text, message, field] of cases) {
      assert.deepEqual(checkCapacity(parseTemplate(text), true), {
        ok: false,
        error: { code: 'TEMPLATE_INVALID', message, field },
      });
    }
  });

  it('lets a VM template leave capacity out, but not give a bad one', () => {
    assert.deepEqual(checkCapacity(parseTemplate('NAME = t'), false), { ok: true, value: null });
    assert.equal(checkCapacity(parseTemplate('MEMORY = -1'), false).ok, false);
  });
});

describe('checkVmTemplate', () => {
  const error = (text: string): NimbusError => {
    try {
      checkVmTemplate(parseTemplate(text), { capacityRequired: false });
    } catch (e) {
      if (e instanceof NimbusError) return e;
      throw e;
    }
    assert.fail(`no error for ${text}`);
  };

  it('wants vectors where OpenNebula has vectors', () => {
    assert.equal(error('DISK = [ IMAGE_ID = 1 ]\nDISK = 2').field, 'DISK[1]');
    assert.equal(error('NIC = eth0').field, 'NIC');
  });

  it('checks $VARIABLE references and names their place', () => {
    const e = error('CONTEXT = [ A = "$NIC[IP", B = 1 ]');
    assert.equal(e.code, 'TEMPLATE_VARIABLE');
    assert.equal(e.field, 'CONTEXT/A');
    assert.doesNotThrow(() =>
      checkVmTemplate(parseTemplate('CONTEXT = [ A = "$NIC[IP, NETWORK_ID=0]", B = "\\\\$x" ]'), {
        capacityRequired: false,
      }),
    );
  });
});

describe('splitVmTemplate', () => {
  it('puts capacity, devices and context in TEMPLATE, the rest in USER_TEMPLATE, and drops NAME', () => {
    const { system, user } = splitVmTemplate(
      parseTemplate(
        'NAME = a\nMEMORY = 1\nCPU = 1\nDISK = [ IMAGE_ID = 0 ]\nNIC = [ NETWORK_ID = 0 ]\nGRAPHICS = [ TYPE = vnc ]\nOS = [ ARCH = x86_64 ]\nCONTEXT = [ X = 1 ]\nSCHED_REQUIREMENTS = "ID = 1"\nDESCRIPTION = d\nSUBMIT_ON_HOLD = YES',
      ),
    );
    assert.deepEqual(Object.keys(system), ['CONTEXT', 'CPU', 'DISK', 'GRAPHICS', 'MEMORY', 'NIC', 'OS']);
    assert.deepEqual(Object.keys(user), ['DESCRIPTION', 'SCHED_REQUIREMENTS', 'SUBMIT_ON_HOLD']);
  });
});

describe('automaticRequirements', () => {
  it('without cluster constraints only excludes public clouds and pinned hosts', () => {
    assert.deepEqual(automaticRequirements([]), {
      ok: true,
      value: { AUTOMATIC_REQUIREMENTS: '!(PUBLIC_CLOUD = YES) & !(PIN_POLICY = PINNED)' },
    });
  });

  it('keeps the clusters every element shares', () => {
    const r = automaticRequirements([
      { element: 'DISK 0', clusters: [0, 100] },
      { element: 'NIC 0', clusters: [100, 101] },
    ]);
    assert.deepEqual(r, {
      ok: true,
      value: {
        AUTOMATIC_REQUIREMENTS: '(CLUSTER_ID = 100) & !(PUBLIC_CLOUD = YES) & !(PIN_POLICY = PINNED)',
        AUTOMATIC_DS_REQUIREMENTS: '("CLUSTERS/ID" @> 100)',
      },
    });
  });

  it('names the element that shares no cluster', () => {
    const r = automaticRequirements([
      { element: 'DISK 0', clusters: [0] },
      { element: 'NIC 1', clusters: [100] },
    ]);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.field, 'NIC[1]');
      assert.match(r.error.message, /^Incompatible clusters in NIC\. Network for NIC 1/);
    }
  });
});

describe('vmQuotaCharge', () => {
  it('reads CPU, MEMORY, image ids and leases per network from a stored VM', () => {
    const charge = vmQuotaCharge(
      parseTemplate(
        'CPU = 0.5\nMEMORY = 256\nDISK = [ IMAGE_ID = 3 ]\nDISK = [ IMAGE_ID = 3 ]\nDISK = [ TYPE = swap ]',
      ),
      [
        { vnetId: 0, arId: 0, index: 1, owner: { kind: 'vm', id: 1, nicId: 0 } },
        { vnetId: 0, arId: 0, index: 2, owner: { kind: 'vm', id: 1, nicId: 1 } },
      ],
    );
    assert.deepEqual(charge, {
      vm: { cpu: 0.5, memory: 256 },
      leases: [{ networkId: 0, count: 2 }],
      imageRvms: [3],
    });
  });
});
