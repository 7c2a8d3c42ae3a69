import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NimbusError } from '../../../src/domain/errors.js';
import {
  compactionCutoff,
  DEFAULT_MONITORING_POLICY,
  expiryCutoff,
  maintenancePeriodS,
  parseMonitoringPolicy,
} from '../../../src/domain/monitoring/index.js';

function refusal(input: unknown): NimbusError {
  try {
    parseMonitoringPolicy(input);
  } catch (error) {
    assert.ok(error instanceof NimbusError);
    assert.equal(error.code, 'CONFIG_INVALID');
    return error;
  }
  assert.fail(`${JSON.stringify(input)} was accepted`);
}

describe('monitoring policy', () => {
  it('defaults: an hour raw, 15-minute buckets for a day, OpenNebula intervals', () => {
    assert.deepEqual(parseMonitoringPolicy(undefined), DEFAULT_MONITORING_POLICY);
    assert.deepEqual(parseMonitoringPolicy(null), DEFAULT_MONITORING_POLICY);
    assert.deepEqual(parseMonitoringPolicy({}), {
      rawRetentionS: 3600,
      bucketS: 900,
      bucketRetentionS: 86400,
      hostIntervalS: 120,
      vmIntervalS: 30,
    });
  });

  it('fills what is missing from the defaults', () => {
    assert.deepEqual(parseMonitoringPolicy({ bucketS: 600, bucketRetentionS: 7 * 86400 }), {
      ...DEFAULT_MONITORING_POLICY,
      bucketS: 600,
      bucketRetentionS: 604800,
    });
  });

  it('names the field it refuses', () => {
    const cases: [unknown, string, RegExp][] = [
      [
        { rawRetentionS: 'an hour' },
        'monitoring.rawRetentionS',
        /whole number of seconds from 300 to 604800, got "an hour"/,
      ],
      [{ bucketS: 0 }, 'monitoring.bucketS', /from 60 to 86400, got 0/],
      [{ bucketS: 90.5 }, 'monitoring.bucketS', /got 90.5/],
      [{ hostIntervalS: 4 }, 'monitoring.hostIntervalS', /from 5/],
      [{ vmIntervalS: null }, 'monitoring.vmIntervalS', /got null/],
      [{ bucketRetentionS: 1_000_000_000 }, 'monitoring.bucketRetentionS', /to 34560000/],
      [{ rawRetention: 60 }, 'monitoring.rawRetention', /not a monitoring setting \(known: rawRetentionS/],
      [
        { rawRetentionS: 7200, bucketRetentionS: 3600 },
        'monitoring.bucketRetentionS',
        /at least rawRetentionS \(7200\)/,
      ],
      [{ rawRetentionS: 300, vmIntervalS: 300 }, 'monitoring.vmIntervalS', /below rawRetentionS/],
      [{ rawRetentionS: 300, hostIntervalS: 600 }, 'monitoring.hostIntervalS', /below rawRetentionS/],
      [[], 'monitoring', /must be an object/],
      ['3600', 'monitoring', /must be an object/],
    ];
    for (const [input, field, message] of cases) {
      const error = refusal(input);
      assert.equal(error.field, field, JSON.stringify(input));
      assert.match(error.message, message);
      if (field !== 'monitoring') assert.ok(error.message.startsWith(field), error.message);
    }
  });

  it('cuts raw samples at a bucket boundary, expires by age, maintains at most every 5 minutes', () => {
    const p = DEFAULT_MONITORING_POLICY;
    assert.equal(compactionCutoff(10_000, p), 6_300); // 10000 - 3600 = 6400, down to a 15-minute boundary
    assert.equal(expiryCutoff(100_000, p), 13_600);
    assert.equal(maintenancePeriodS(p), 300);
    assert.equal(maintenancePeriodS({ ...p, rawRetentionS: 600 }), 150);
  });
});
