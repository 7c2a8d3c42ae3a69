import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkRestrictedAttributes, findRestrictedAttribute } from '../../../src/domain/vm/index.js';

describe('restricted VM attributes', () => {
  it('finds sub-attributes of vectors and whole attributes', () => {
    assert.equal(
      findRestrictedAttribute({ NIC: [{ NETWORK: 'n' }, { NETWORK: 'm', MAC: '02:00:00:00:00:01' }] }),
      'NIC/MAC',
    );
    assert.equal(findRestrictedAttribute({ RAW: [{ TYPE: 'kvm', DATA: '<x/>' }] }), 'RAW/DATA');
    assert.equal(findRestrictedAttribute({ PCI: [{ VENDOR: '10de' }] }), 'PCI');
    assert.equal(findRestrictedAttribute({ CPU_COST: ['1'] }), 'CPU_COST');
    assert.equal(
      findRestrictedAttribute({
        CPU: ['1'],
        NIC: [{ NETWORK: 'n', IP: '10.0.0.1' }],
        DISK: [{ SIZE: '10' }],
      }),
      null,
    );
    assert.equal(findRestrictedAttribute({ NIC: ['not a vector'] }), null);
  });

  it('refuses with OpenNebula wording, code AUTHORIZATION and the attribute as field', () => {
    const refused = checkRestrictedAttributes({ CONTEXT: [{ FILES: '/etc/passwd' }] });
    assert.deepEqual(refused, {
      ok: false,
      error: {
        code: 'AUTHORIZATION',
        message: 'VM Template includes a restricted attribute CONTEXT/FILES',
        field: 'CONTEXT/FILES',
      },
    });
    assert.deepEqual(checkRestrictedAttributes({ NAME: ['x'] }), { ok: true, value: undefined });
  });
});
