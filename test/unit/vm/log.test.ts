import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  LOG_LEVELS,
  ctime,
  errorAttributeText,
  formatLogLine,
  parseCtime,
  parseLogLine,
  type LogLevel,
} from '../../../src/domain/vm/index.js';

// 2014-08-07 22:17:06 UTC, the reference's example instant.
const EXAMPLE = new Date(Date.UTC(2014, 7, 7, 22, 17, 6));

describe('ctime', () => {
  it('matches C ctime() without the newline, day space-padded', () => {
    assert.equal(ctime(EXAMPLE, 'UTC'), 'Thu Aug  7 22:17:06 2014');
    assert.equal(ctime(Date.UTC(2014, 7, 17, 3, 4, 5) / 1000, 'UTC'), 'Sun Aug 17 03:04:05 2014');
    assert.equal(ctime(0, 'UTC'), 'Thu Jan  1 00:00:00 1970');
  });

  it('uses the given time zone, local wall clock and weekday included', () => {
    assert.equal(ctime(EXAMPLE, 'Europe/Madrid'), 'Fri Aug  8 00:17:06 2014');
    assert.equal(ctime(EXAMPLE, 'America/New_York'), 'Thu Aug  7 18:17:06 2014');
    assert.equal(ctime(EXAMPLE, 'Asia/Kolkata'), 'Fri Aug  8 03:47:06 2014');
  });

  it('uses the process zone when none is given', () => {
    assert.match(ctime(EXAMPLE), /^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/);
  });

  it('rejects an unknown zone loudly', () => {
    assert.throws(() => ctime(EXAMPLE, 'Mars/Olympus_Mons'), RangeError);
  });
});

describe('formatLogLine / parseLogLine', () => {
  it('formats the reference example', () => {
    const line = formatLogLine(
      EXAMPLE,
      { zone: 0, module: 'VM', level: 'I', message: 'New state is ACTIVE' },
      'UTC',
    );
    assert.equal(line, 'Thu Aug  7 22:17:06 2014 [Z0][VM][I]: New state is ACTIVE');
  });

  it('parses it back', () => {
    const parsed = parseLogLine(
      'Thu Aug  7 22:17:06 2014 [Z0][VMM][E]: Error deploying virtual machine: boom',
      'UTC',
    );
    assert.ok(parsed);
    assert.equal(parsed.time, 'Thu Aug  7 22:17:06 2014');
    assert.equal(parsed.date?.getTime(), EXAMPLE.getTime());
    assert.equal(parsed.zone, 0);
    assert.equal(parsed.module, 'VMM');
    assert.equal(parsed.level, 'E');
    assert.equal(parsed.message, 'Error deploying virtual machine: boom');
  });

  it('knows the levels E W I D DD DDD with their numbers', () => {
    assert.deepEqual(LOG_LEVELS, { E: 0, W: 1, I: 2, D: 3, DD: 4, DDD: 5 });
    for (const level of Object.keys(LOG_LEVELS) as LogLevel[]) {
      const text = formatLogLine(EXAMPLE, { zone: 3, module: 'TrM', level, message: 'x' }, 'UTC');
      assert.equal(parseLogLine(text, 'UTC')?.level, level);
    }
  });

  it('rejects lines that are not in the format', () => {
    assert.equal(parseLogLine('Thu Aug  7 22:17:06 2014 [VM][I]: no zone'), undefined);
    assert.equal(parseLogLine('Thu Aug  7 22:17:06 2014 [Z0][VM][X]: bad level'), undefined);
    assert.equal(parseLogLine('Xyz Aug  7 22:17:06 2014 [Z0][VM][I]: bad day'), undefined);
    assert.equal(parseCtime('yesterday'), undefined);
  });

  it('round-trips any instant, zone and message (property)', () => {
    const zones = [
      'UTC',
      'Europe/Madrid',
      'America/New_York',
      'Australia/Lord_Howe',
      'Asia/Kathmandu',
      'Pacific/Chatham',
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_102_444_800 }),
        fc.constantFrom(...zones),
        fc.nat({ max: 99 }),
        fc.constantFrom('VM', 'LCM', 'VMM', 'TrM', 'DiM'),
        fc.constantFrom(...(Object.keys(LOG_LEVELS) as LogLevel[])),
        fc.string(),
        (seconds, zone, zoneId, module, level, message) => {
          const text = formatLogLine(seconds, { zone: zoneId, module, level, message }, zone);
          const parsed = parseLogLine(text, zone);
          assert.ok(parsed, text);
          assert.deepEqual(
            { zone: parsed.zone, module: parsed.module, level: parsed.level, message: parsed.message },
            { zone: zoneId, module, level, message },
          );
          // In a DST fold two instants share a wall clock: both render the same.
          assert.ok(parsed.date);
          assert.equal(ctime(parsed.date, zone), ctime(seconds, zone));
          if (zone === 'UTC') assert.equal(parsed.date.getTime(), seconds * 1000);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('returns the earlier instant of a DST fold', () => {
    // 2014-10-26 02:30 happens twice in Madrid; 00:30 UTC is the first.
    const first = Date.UTC(2014, 9, 26, 0, 30, 0);
    assert.equal(ctime(first / 1000, 'Europe/Madrid'), 'Sun Oct 26 02:30:00 2014');
    assert.equal(parseCtime('Sun Oct 26 02:30:00 2014', 'Europe/Madrid')?.getTime(), first);
  });
});

describe('USER_TEMPLATE/ERROR text', () => {
  it('is "<ctime>: <message>"', () => {
    assert.equal(
      errorAttributeText(EXAMPLE, 'Error deploying virtual machine: boom', 'UTC'),
      'Thu Aug  7 22:17:06 2014: Error deploying virtual machine: boom',
    );
  });
});
