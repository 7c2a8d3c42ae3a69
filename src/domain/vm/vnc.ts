/**
 * VNC ports (reference §8.1, 6.x): one pool per cluster, `VNC_PORTS = [ START = 5900,
 * RESERVED = "32768:65536" ]`. At deploy a VM with GRAPHICS gets its requested GRAPHICS/PORT if
 * free in the target cluster, else the hint `START + (vmid % (65535 − START))`, else the lowest
 * free port ≥ START that is not reserved.
 */
import { fail, ok, type Result } from '../errors.js';

export interface VncPortPolicy {
  readonly start: number;
  /** `"32768:65536"`, `"6000,6100:6199"`: single ports and inclusive ranges. */
  readonly reserved: string;
}

export const DEFAULT_VNC_PORTS: VncPortPolicy = { start: 5900, reserved: '32768:65536' };

const MAX_PORT = 65535;

/** The reserved ranges, or the item that does not parse. */
export function parseVncReserved(text: string): Result<readonly (readonly [number, number])[]> {
  const ranges: [number, number][] = [];
  for (const item of text.split(',').map((s) => s.trim())) {
    if (item === '') continue;
    const m = /^(\d+)(?::(\d+))?$/.exec(item);
    const from = m === null ? NaN : Number(m[1]);
    const to = m === null ? NaN : Number(m[2] ?? m[1]);
    if (!Number.isInteger(from) || !Number.isInteger(to) || from > to || to > 65536) {
      return fail('CONFIG_INVALID', `"${item}" is not a port or a range like 32768:65536`, 'reserved');
    }
    ranges.push([from, to]);
  }
  return ok(ranges);
}

function isReserved(port: number, ranges: readonly (readonly [number, number])[]): boolean {
  return ranges.some(([from, to]) => port >= from && port <= to);
}

/**
 * A free port for VM `vmId`: the hint, else the lowest free. `taken` holds the ports other VMs
 * hold in the cluster.
 */
export function chooseVncPort(
  policy: VncPortPolicy,
  taken: ReadonlySet<number>,
  vmId: number,
): Result<number> {
  const reserved = parseVncReserved(policy.reserved);
  const ranges = reserved.ok ? reserved.value : [];
  const free = (p: number): boolean =>
    p >= policy.start && p <= MAX_PORT && !taken.has(p) && !isReserved(p, ranges);
  const hint = policy.start + (vmId % (MAX_PORT - policy.start));
  if (free(hint)) return ok(hint);
  for (let p = policy.start; p <= MAX_PORT; p++) if (free(p)) return ok(p);
  return fail('ACTION_NOT_ALLOWED', 'No free VNC ports available in the cluster', 'GRAPHICS/PORT');
}

/** A requested port: free in the cluster (or already this VM's) and not reserved. */
export function checkRequestedVncPort(
  policy: VncPortPolicy,
  port: number,
  holder: number | undefined,
  vmId: number,
): Result<number> {
  if (!Number.isInteger(port) || port < 1 || port > MAX_PORT)
    return fail('TEMPLATE_INVALID', `GRAPHICS/PORT ${port} is not a TCP port`, 'GRAPHICS/PORT');
  const reserved = parseVncReserved(policy.reserved);
  const inReserved = reserved.ok && isReserved(port, reserved.value);
  if ((holder !== undefined && holder !== vmId) || inReserved)
    return fail('ACTION_NOT_ALLOWED', 'Requested VNC port already assigned to a VM', 'GRAPHICS/PORT');
  return ok(port);
}
