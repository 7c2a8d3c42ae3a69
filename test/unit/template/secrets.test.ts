import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyTemplateUpdate,
  REDACTED,
  redactSecrets,
  restoreSecrets,
} from '../../../src/domain/template/index.js';
import type { Template } from '../../../src/domain/template/types.js';

const stored: Template = {
  NAME: ['vm'],
  CONTEXT: [{ PASSWORD: 'p1', CRYPTED_PASSWORD: '$6$x', HOSTNAME: 'h' }],
  GRAPHICS: [{ TYPE: 'VNC', PASSWD: 'vnc' }],
  TOKEN_PASSWORD: ['tok'],
};

describe('template secrets', () => {
  it('masks context, VNC and token passwords and nothing else', () => {
    assert.deepEqual(redactSecrets(stored), {
      NAME: ['vm'],
      CONTEXT: [{ PASSWORD: REDACTED, CRYPTED_PASSWORD: REDACTED, HOSTNAME: 'h' }],
      GRAPHICS: [{ TYPE: 'VNC', PASSWD: REDACTED }],
      TOKEN_PASSWORD: [REDACTED],
    });
    const plain: Template = { NAME: ['x'], CONTEXT: [{ HOSTNAME: 'h' }] };
    assert.equal(redactSecrets(plain), plain, 'a template without secrets is returned as is');
  });

  it('a masked body sent back keeps the stored secrets; new values replace them', () => {
    assert.deepEqual(restoreSecrets(redactSecrets(stored), stored), stored);
    const changed = { ...redactSecrets(stored), GRAPHICS: [{ TYPE: 'VNC', PASSWD: 'new' }] };
    assert.deepEqual(restoreSecrets(changed, stored).GRAPHICS, [{ TYPE: 'VNC', PASSWD: 'new' }]);
  });

  it('a mask with nothing stored at its place stays as sent', () => {
    const update: Template = { CONTEXT: [{}, { PASSWORD: REDACTED }], TOKEN_PASSWORD: [REDACTED, REDACTED] };
    assert.deepEqual(restoreSecrets(update, stored), {
      CONTEXT: [{}, { PASSWORD: REDACTED }],
      TOKEN_PASSWORD: ['tok', REDACTED],
    });
    assert.deepEqual(restoreSecrets({ GRAPHICS: [{ PASSWD: REDACTED }] }, { GRAPHICS: ['odd'] }), {
      GRAPHICS: [{ PASSWD: REDACTED }],
    });
    assert.deepEqual(restoreSecrets({ TOKEN_PASSWORD: [REDACTED] }, { TOKEN_PASSWORD: [{ A: 'b' }] }), {
      TOKEN_PASSWORD: [REDACTED],
    });
  });

  it('applyTemplateUpdate merges or replaces, then restores masked secrets', () => {
    const masked = redactSecrets(stored);
    assert.deepEqual(applyTemplateUpdate(stored, masked, false), stored);
    assert.deepEqual(applyTemplateUpdate(stored, { CONTEXT: masked.CONTEXT! }, true), stored);
    assert.deepEqual(applyTemplateUpdate(stored, { NAME: ['other'] }, false), { NAME: ['other'] });
  });
});
