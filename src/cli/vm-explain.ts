/**
 * `nimbus vm explain VM [--all] [--json]`: why the scheduler places a VM where it does, or why it
 * cannot — `GET /api/v1/vms/:id/placement` as a header and tables of hosts, system datastores and
 * auto NIC networks, each with its verdict and reason.
 */
import Table from 'cli-table3';
import type { Command } from 'commander';
import type { Placement, PlacementHost } from '../protocol/placement.js';
import { clientFor, resolveId } from './client.js';
import { printJson } from './output.js';
import type { CliIo } from './program.js';

/** Rejected hosts printed without --all; the rest are counted by reason. */
export const REJECTED_SHOWN = 20;

const VERDICT_ORDER: Readonly<Record<PlacementHost['VERDICT'], number>> = {
  SELECTED: 0,
  ELIGIBLE: 1,
  REJECTED: 2,
};

interface Verdicted {
  readonly ID: number;
  readonly VERDICT: PlacementHost['VERDICT'];
  readonly RANK: number | null;
}

/** Selected first, then eligible by rank (best first), then rejected, each by id. */
export function byVerdict<T extends Verdicted>(rows: readonly T[]): T[] {
  return [...rows].sort(
    (a, b) =>
      VERDICT_ORDER[a.VERDICT] - VERDICT_ORDER[b.VERDICT] ||
      (b.RANK ?? -Infinity) - (a.RANK ?? -Infinity) ||
      a.ID - b.ID,
  );
}

function rankText(rank: number | null): string {
  if (rank === null) return '-';
  return Number.isInteger(rank) ? String(rank) : String(Math.round(rank * 1000) / 1000);
}

/** A plain table (no colours, so output is the same on a terminal and in a pipe). */
function table(head: string[]): Table.Table {
  return new Table({ head, style: { head: [], border: [], compact: true } });
}

/** What the VM asks for, in cores and MB (the API sends HOST_SHARE units: CPU × 100, KB). */
export function demandText(d: Placement['DEMAND']): string {
  const mb = Math.round((d.MEMORY / 1024) * 10) / 10;
  return `CPU ${d.CPU / 100} (${d.CPU}), MEMORY ${mb} MB, system disk ${d.DISK_MB} MB`;
}

/** The one line saying what the scheduler would do now. */
export function outcomeText(p: Placement): string {
  if (p.CHOICE === null) return p.MESSAGE === '' ? 'cannot be placed now' : p.MESSAGE;
  const host = p.HOSTS.find((h) => h.ID === p.CHOICE!.HOST_ID);
  const name = host === undefined ? '' : ` "${host.NAME}"`;
  return `would be placed on host ${p.CHOICE.HOST_ID}${name} (rank ${rankText(p.CHOICE.RANK)}), datastore ${p.CHOICE.DS_ID}`;
}

/** `(CPU: 3, REQUIREMENTS: 40)`: hidden rejected hosts per reason code, most frequent first. */
function countsText(rows: readonly PlacementHost[]): string {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.REASON_CODE, (counts.get(r.REASON_CODE) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([code, n]) => `${code}: ${n}`)
    .join(', ');
}

export function printPlacement(io: CliIo, p: Placement, options: { all: boolean }): void {
  const fields: [string, string][] = [
    ['STATE', p.STATE],
    ...(p.PENDING_SINCE !== null
      ? [['PENDING SINCE', new Date(p.PENDING_SINCE * 1000).toISOString()] as [string, string]]
      : []),
    ...(p.SCHED_MESSAGE !== '' ? [['SCHED_MESSAGE', p.SCHED_MESSAGE] as [string, string]] : []),
    ['NOW', outcomeText(p)],
    ['REQUIREMENTS', p.REQUIREMENTS || '-'],
    ['RANK', p.RANK || '-'],
    ['DS_REQUIREMENTS', p.DS_REQUIREMENTS || '-'],
    ['DS_RANK', p.DS_RANK || '-'],
    ['DEMAND', demandText(p.DEMAND)],
  ];
  io.stdout(`VM ${p.VM_ID} PLACEMENT\n`);
  const width = Math.max(...fields.map(([k]) => k.length));
  for (const [k, v] of fields) io.stdout(`${k.padEnd(width)} : ${v}\n`);
  for (const w of p.WARNINGS) io.stdout(`warning: ${w}\n`);

  const hosts = byVerdict(p.HOSTS);
  const passed = hosts.filter((h) => h.VERDICT !== 'REJECTED');
  const rejected = hosts.filter((h) => h.VERDICT === 'REJECTED');
  const shown = options.all ? rejected : rejected.slice(0, REJECTED_SHOWN);
  const hidden = rejected.slice(shown.length);
  io.stdout(`\nHOSTS (${passed.length} eligible, ${rejected.length} rejected)\n`);
  if (hosts.length === 0) io.stdout('no hosts\n');
  else {
    const t = table(['HOST', 'NAME', 'CLUSTER', 'VERDICT', 'RANK', 'REASON']);
    for (const h of [...passed, ...shown])
      t.push([h.ID, h.NAME, h.CLUSTER_ID, h.VERDICT, rankText(h.RANK), h.REASON || '-']);
    io.stdout(`${t.toString()}\n`);
  }
  if (hidden.length > 0)
    io.stdout(
      `… and ${hidden.length} more rejected host${hidden.length === 1 ? '' : 's'} (${countsText(hidden)}); --all lists them\n`,
    );

  io.stdout('\nDATASTORES\n');
  if (p.DATASTORES.length === 0) io.stdout('no system datastores considered\n');
  else {
    const t = table(['DS', 'NAME', 'VERDICT', 'RANK', 'REASON']);
    for (const d of byVerdict(p.DATASTORES))
      t.push([d.ID, d.NAME, d.VERDICT, rankText(d.RANK), d.REASON || '-']);
    io.stdout(`${t.toString()}\n`);
  }

  if (p.NETWORKS.length > 0) {
    io.stdout('\nNETWORKS\n');
    const t = table(['NIC', 'NETWORK', 'NAME', 'VERDICT', 'RANK', 'REASON']);
    const rows = [...p.NETWORKS].sort(
      (a, b) =>
        a.NIC_ID - b.NIC_ID ||
        VERDICT_ORDER[a.VERDICT] - VERDICT_ORDER[b.VERDICT] ||
        (b.RANK ?? -Infinity) - (a.RANK ?? -Infinity) ||
        a.ID - b.ID,
    );
    for (const n of rows) t.push([n.NIC_ID, n.ID, n.NAME, n.VERDICT, rankText(n.RANK), n.REASON || '-']);
    io.stdout(`${t.toString()}\n`);
  }
}

export function addExplainVerb(vm: Command, io: CliIo): void {
  vm.command('explain')
    .argument('<vm>', 'id or name')
    .option('--all', `list every rejected host (default: the first ${REJECTED_SHOWN})`)
    .option('--json', 'print the placement explanation as JSON')
    .description('explain where the scheduler would place a VM now, and why every other host is rejected')
    .action(async (ref: string, opts: { all?: boolean; json?: boolean }, cmd: Command) => {
      const client = await clientFor(cmd);
      const id = await resolveId(client, 'vms', 'VM_POOL', 'VM', ref);
      const body = await client.request<Placement>('GET', `/api/v1/vms/${id}/placement`);
      if (opts.json === true) return printJson(io, body);
      printPlacement(io, body, { all: opts.all === true });
    });
}
