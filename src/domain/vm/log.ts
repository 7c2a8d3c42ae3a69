/**
 * The per-VM log line (reference §10.1, `one:src/log/Log.cc`):
 *
 *   `Thu Aug  7 22:17:06 2014 [Z0][VM][I]: New state is ACTIVE`
 *
 * The timestamp is C `ctime()` without its newline: day of month space-padded to two characters,
 * local time of the daemon. The time zone is explicit here: an IANA name, or the process's own
 * zone when none is given, so the same instant always renders the same way in tests.
 */

/** Module tags of 6.10 (§10.2). Per-VM log lines come only from VM, LCM, VMM, TrM and DiM. */
export const LOG_MODULES = [
  'ONE',
  'ReM',
  'DiM',
  'LCM',
  'VMM',
  'TrM',
  'ImM',
  'VM',
  'InM',
  'AuM',
  'HKM',
  'HMM',
  'MKP',
  'IPM',
  'ACL',
  'DBM',
  'SQL',
  'RCM',
  'MON',
  'SCHED',
  'HOST',
  'POOL',
  'RANK',
] as const;
export type LogModule = (typeof LOG_MODULES)[number];

/** The modules that write to a VM's own log. */
export type VmLogModule = 'VM' | 'LCM' | 'VMM' | 'TrM' | 'DiM';

/** Levels with OpenNebula's numbers: E=0 … DDD=5 (`one:include/Log.h`). */
export const LOG_LEVELS = { E: 0, W: 1, I: 2, D: 3, DD: 4, DDD: 5 } as const;
export type LogLevel = keyof typeof LOG_LEVELS;

/** A log line before it is stamped: what the lifecycle functions return. */
export interface LogEntry {
  readonly module: VmLogModule;
  readonly level: LogLevel;
  readonly message: string;
}

export interface LogLine {
  readonly zone: number;
  readonly module: string;
  readonly level: LogLevel;
  readonly message: string;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

interface WallClock {
  readonly year: number;
  readonly month: number; // 1-12
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string | undefined): Intl.DateTimeFormat {
  const key = timeZone ?? '';
  let f = formatters.get(key);
  if (f === undefined) {
    // Throws RangeError for an unknown zone: a configuration mistake should be loud.
    f = new Intl.DateTimeFormat('en-US', {
      ...(timeZone === undefined ? {} : { timeZone }),
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      hourCycle: 'h23',
      era: 'short',
    });
    formatters.set(key, f);
  }
  return f;
}

function wallClock(date: Date, timeZone: string | undefined): WallClock {
  const parts = formatterFor(timeZone).formatToParts(date);
  const get = (type: Intl.DateTimeFormatPartTypes): number =>
    Number(parts.find((p) => p.type === type)?.value);
  const era = parts.find((p) => p.type === 'era')?.value;
  const year = era === 'BC' ? 1 - get('year') : get('year');
  return {
    year,
    month: get('month'),
    day: get('day'),
    hour: get('hour') % 24,
    minute: get('minute'),
    second: get('second'),
  };
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

function toDate(time: Date | number): Date {
  return typeof time === 'number' ? new Date(time * 1000) : time;
}

/**
 * C `ctime()` without the trailing newline: `Thu Aug  7 22:17:06 2014`. `time` is a Date or epoch
 * seconds; `timeZone` an IANA name (default: the process's zone).
 */
export function ctime(time: Date | number, timeZone?: string): string {
  const date = toDate(time);
  const w = wallClock(date, timeZone);
  const weekday = WEEKDAYS[new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay()];
  const month = MONTHS[w.month - 1];
  const day = String(w.day).padStart(2, ' ');
  return `${weekday} ${month} ${day} ${pad2(w.hour)}:${pad2(w.minute)}:${pad2(w.second)} ${w.year}`;
}

const CTIME_RE =
  /^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([ \d]\d) (\d\d):(\d\d):(\d\d) (-?\d+)$/;

/** Offset of `timeZone` from UTC at `date`, in milliseconds (positive east of Greenwich). */
function zoneOffsetMs(date: Date, timeZone: string | undefined): number {
  const w = wallClock(date, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(date.getTime() / 1000) * 1000;
}

/**
 * Inverse of `ctime`: the instant a ctime string names in `timeZone`. Returns undefined when the
 * text is not a ctime string. In a DST fold the earlier instant is returned.
 */
export function parseCtime(text: string, timeZone?: string): Date | undefined {
  const m = CTIME_RE.exec(text);
  if (m === null) return undefined;
  const [, , mon, day, hh, mm, ss, yyyy] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const month = MONTHS.indexOf(mon as (typeof MONTHS)[number]);
  const wall = Date.UTC(Number(yyyy), month, Number(day.trim()), Number(hh), Number(mm), Number(ss));
  // Two passes settle the offset on either side of a DST change.
  let guess = wall - zoneOffsetMs(new Date(wall), timeZone);
  guess = wall - zoneOffsetMs(new Date(guess), timeZone);
  const earlier = wall - zoneOffsetMs(new Date(guess - 3_600_000), timeZone);
  if (earlier < guess && ctime(new Date(earlier), timeZone) === text) return new Date(earlier);
  return new Date(guess);
}

/** `Thu Aug  7 22:17:06 2014 [Z0][VM][I]: New state is ACTIVE` */
export function formatLogLine(time: Date | number, line: LogLine, timeZone?: string): string {
  return `${ctime(time, timeZone)} [Z${line.zone}][${line.module}][${line.level}]: ${line.message}`;
}

const LINE_RE = /^(.{24}) \[Z(-?\d+)\]\[([A-Za-z]+)\]\[(E|W|I|D|DD|DDD)\]: (.*)$/s;

export interface ParsedLogLine extends LogLine {
  /** The ctime text exactly as written. */
  readonly time: string;
  /** The instant, read in the given time zone (undefined if the timestamp is malformed). */
  readonly date: Date | undefined;
}

/** Inverse of `formatLogLine`; undefined for a line not in that format. */
export function parseLogLine(text: string, timeZone?: string): ParsedLogLine | undefined {
  const m = LINE_RE.exec(text);
  if (m === null) return undefined;
  const [, time, zone, module, level, message] = m as unknown as [
    string,
    string,
    string,
    string,
    LogLevel,
    string,
  ];
  const date = parseCtime(time, timeZone);
  if (date === undefined) return undefined;
  return { time, date, zone: Number(zone), module, level, message };
}

/**
 * The text OpenNebula stores in USER_TEMPLATE/ERROR for a VM: `"<ctime>: <message>"`
 * (`VirtualMachine::set_template_error_message`, `one_util::log_time`).
 */
export function errorAttributeText(time: Date | number, message: string, timeZone?: string): string {
  return `${ctime(time, timeZone)}: ${message}`;
}
