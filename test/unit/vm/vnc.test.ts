import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkRequestedVncPort,
  chooseVncPort,
  DEFAULT_VNC_PORTS,
  parseVncReserved,
} from '../../../src/domain/vm/vnc.js';

describe('VNC ports per cluster (reference §8.1)', () => {
  it('takes the hint START + (vmid % (65535 − START)) when it is free', () => {
    const r = chooseVncPort(DEFAULT_VNC_PORTS, new Set(), 7);
    assert.deepEqual(r, { ok: true, value: 5907 });
    const wrapped = chooseVncPort(DEFAULT_VNC_PORTS, new Set(), 59_635 + 3);
    assert.deepEqual(wrapped, { ok: true, value: 5903 });
  });

  it('falls back to the lowest free port, skipping taken and reserved ones', () => {
    const taken = new Set([5900, 5901, 5907]);
    assert.deepEqual(chooseVncPort(DEFAULT_VNC_PORTS, taken, 7), { ok: true, value: 5902 });
    // vmid 30000 hints 35900, inside the reserved 32768:65536: the lowest free port instead.
    assert.deepEqual(chooseVncPort(DEFAULT_VNC_PORTS, new Set(), 30_000), { ok: true, value: 5900 });
  });

  it('says when the cluster has no free port left', () => {
    const policy = { start: 65534, reserved: '' };
    const r = chooseVncPort(policy, new Set([65534, 65535]), 1);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.error.message, 'No free VNC ports available in the cluster');
  });

  it('grants a requested port that is free or already the VM’s, refuses a taken or reserved one', () => {
    assert.deepEqual(checkRequestedVncPort(DEFAULT_VNC_PORTS, 6000, undefined, 4), { ok: true, value: 6000 });
    assert.deepEqual(checkRequestedVncPort(DEFAULT_VNC_PORTS, 6000, 4, 4), { ok: true, value: 6000 });
    for (const [port, holder] of [
      [6000, 9],
      [40_000, undefined],
    ] as const) {
      const r = checkRequestedVncPort(DEFAULT_VNC_PORTS, port, holder, 4);
      assert.equal(!r.ok && r.error.message, 'Requested VNC port already assigned to a VM');
    }
    const bad = checkRequestedVncPort(DEFAULT_VNC_PORTS, 70_000, undefined, 4);
    assert.equal(!bad.ok && bad.error.field, 'GRAPHICS/PORT');
  });

  it('parses RESERVED as ports and inclusive ranges', () => {
    assert.deepEqual(parseVncReserved('32768:65536, 6000'), {
      ok: true,
      value: [
        [32768, 65536],
        [6000, 6000],
      ],
    });
    assert.deepEqual(parseVncReserved(''), { ok: true, value: [] });
    for (const bad of ['a:b', '7000:6000', '1:70000']) assert.equal(parseVncReserved(bad).ok, false);
  });
});
