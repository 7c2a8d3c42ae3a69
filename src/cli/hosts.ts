/** `nimbus host` — onehost's verbs: create, list, show, enable, disable, offline, update, rename, delete. */
import type { Command } from 'commander';
import { clientFor, resolveId, type ApiClient } from './client.js';
import { printFields, printJson, printTable, printTemplate } from './output.js';
import { readInputText, type CliIo } from './program.js';

interface HostBody {
  ID: number;
  NAME: string;
  STATE: number;
  STATE_NAME: string;
  IM_MAD: string;
  VM_MAD: string;
  CLUSTER_ID: number;
  CLUSTER: string;
  HOST_SHARE: Record<string, number>;
  VMS: { ID: number[] };
  TEMPLATE: Record<string, unknown>;
  MONITORING: { TIMESTAMP?: number; CAPACITY?: Record<string, number> };
}

const HOST_SHORT_STATES = ['init', 'update', 'on', 'err', 'dsbl', 'retry', 'init', 'dsbl', 'off'];
const BINARY_SUFFIXES = ['K', 'M', 'G', 'T'];

/** OpenNebulaHelper.unit_to_str: 0K, 512M, 23.5G (`unit` is the unit of `value`). */
export function unitToStr(value: number, unit: 'K' | 'M' = 'K'): string {
  let i = BINARY_SUFFIXES.indexOf(unit);
  let v = value;
  while (v > 1024 && i < 3) {
    v /= 1024;
    i++;
  }
  return `${Math.round(v * 10) / 10}${BINARY_SUFFIXES[i]}`;
}

/** `used / max (pct%)`, or `-` before the host has been monitored. */
function allocated(used: number, max: number, show: (n: number) => string): string {
  return max === 0 ? '-' : `${show(used)} / ${show(max)} (${Math.floor((used * 100) / max)}%)`;
}

export function hostNoun(program: Command, io: CliIo): void {
  const host = program.command('host').description('hypervisor hosts (onehost)');
  const idOf = (client: ApiClient, ref: string): Promise<number> =>
    resolveId(client, 'hosts', 'HOST_POOL', 'host', ref);

  host
    .command('create')
    .argument('<name>', 'host name (its network name)')
    .requiredOption('--im <driver>', 'monitoring driver: kvm, qemu or dummy')
    .requiredOption('--vm <driver>', 'virtualization driver: kvm, qemu or dummy')
    .option('--cluster <cluster>', 'cluster (id or name), default 0')
    .description('add a host (dummy drivers: a simulated host)')
    .action(async (name: string, opts: { im: string; vm: string; cluster?: string }, cmd: Command) => {
      const client = await clientFor(cmd);
      const cluster =
        opts.cluster === undefined
          ? undefined
          : await resolveId(client, 'clusters', 'CLUSTER_POOL', 'cluster', opts.cluster);
      const res = await client.request<{ ID: number }>('POST', '/api/v1/hosts', {
        name,
        im: opts.im,
        vm: opts.vm,
        ...(cluster !== undefined ? { cluster } : {}),
      });
      io.stdout(`ID: ${res.ID}\n`);
    });

  host
    .command('list')
    .option('--json', 'print the HOST_POOL as JSON')
    .description('list hosts')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const body = await (
        await clientFor(cmd)
      ).request<{ HOST_POOL: { HOST: HostBody[] } }>('GET', '/api/v1/hosts');
      if (opts.json === true) return printJson(io, body);
      printTable<HostBody>(
        io,
        [
          { header: 'ID', value: (h) => h.ID, right: true },
          { header: 'NAME', value: (h) => h.NAME },
          { header: 'CLUSTER', value: (h) => h.CLUSTER },
          { header: 'TVM', value: (h) => h.HOST_SHARE.RUNNING_VMS ?? 0, right: true },
          {
            header: 'ALLOCATED_CPU',
            value: (h) => allocated(h.HOST_SHARE.CPU_USAGE ?? 0, h.HOST_SHARE.MAX_CPU ?? 0, String),
            right: true,
          },
          {
            header: 'ALLOCATED_MEM',
            value: (h) =>
              allocated(h.HOST_SHARE.MEM_USAGE ?? 0, h.HOST_SHARE.MAX_MEM ?? 0, (n) => unitToStr(n)),
            right: true,
          },
          { header: 'STAT', value: (h) => HOST_SHORT_STATES[h.STATE] ?? '-' },
        ],
        body.HOST_POOL.HOST,
      );
    });

  host
    .command('show')
    .argument('<host>', 'id or name')
    .option('--json', 'print the HOST as JSON')
    .description('show a host: state, capacity, VMs')
    .action(async (ref: string, opts: { json?: boolean }, cmd: Command) => {
      const client = await clientFor(cmd);
      const id = await idOf(client, ref);
      const body = await client.request<{ HOST: HostBody }>('GET', `/api/v1/hosts/${id}`);
      if (opts.json === true) return printJson(io, body);
      const h = body.HOST;
      const s = h.HOST_SHARE;
      const monitored = h.MONITORING.TIMESTAMP;
      printFields(io, `HOST ${h.ID} INFORMATION`, [
        ['ID', h.ID],
        ['NAME', h.NAME],
        ['CLUSTER', h.CLUSTER],
        ['STATE', h.STATE_NAME],
        ['IM_MAD', h.IM_MAD],
        ['VM_MAD', h.VM_MAD],
        ['LAST MONITORING TIME', monitored === undefined ? '-' : new Date(monitored * 1000).toISOString()],
      ]);
      const capacity = h.MONITORING.CAPACITY ?? {};
      io.stdout('\n');
      printFields(io, 'HOST SHARES', [
        ['RUNNING VMS', s.RUNNING_VMS ?? 0],
        ['MEMORY TOTAL', unitToStr(s.TOTAL_MEM ?? 0)],
        ['MEMORY TOTAL +/- RESERVED', unitToStr(s.MAX_MEM ?? 0)],
        ['MEMORY USED (REAL)', capacity.USED_MEMORY === undefined ? '-' : unitToStr(capacity.USED_MEMORY)],
        ['MEMORY USED (ALLOCATED)', unitToStr(s.MEM_USAGE ?? 0)],
        ['CPU TOTAL', s.TOTAL_CPU ?? 0],
        ['CPU TOTAL +/- RESERVED', s.MAX_CPU ?? 0],
        ['CPU USED (REAL)', capacity.USED_CPU ?? '-'],
        ['CPU USED (ALLOCATED)', s.CPU_USAGE ?? 0],
      ]);
      printTemplate(io, 'HOST TEMPLATE', h.TEMPLATE);
      io.stdout(`\nVIRTUAL MACHINES\n${h.VMS.ID.length === 0 ? '-' : h.VMS.ID.join(',')}\n`);
    });

  const simple = (verb: string, description: string, method: string, path: (id: number) => string): void => {
    host
      .command(verb)
      .argument('<host>', 'id or name')
      .description(description)
      .action(async (ref: string, _opts: unknown, cmd: Command) => {
        const client = await clientFor(cmd);
        await client.request(method, path(await idOf(client, ref)));
      });
  };
  simple('enable', 'enable a host (schedulable again)', 'POST', (id) => `/api/v1/hosts/${id}/enable`);
  simple('disable', 'disable a host (monitored, no new VMs)', 'POST', (id) => `/api/v1/hosts/${id}/disable`);
  simple(
    'offline',
    'take a host offline (not monitored, no new VMs)',
    'POST',
    (id) => `/api/v1/hosts/${id}/offline`,
  );
  simple('delete', 'delete a host without VMs', 'DELETE', (id) => `/api/v1/hosts/${id}`);

  host
    .command('update')
    .argument('<host>', 'id or name')
    .argument('<file>', 'template file, "-" for stdin')
    .option('--append', 'merge into the template instead of replacing it')
    .description('replace or merge the host template')
    .action(async (ref: string, file: string, opts: { append?: boolean }, cmd: Command) => {
      const client = await clientFor(cmd);
      const id = await idOf(client, ref);
      const template = await readInputText(file, io);
      await client.request('PUT', `/api/v1/hosts/${id}/template`, { template, merge: opts.append === true });
    });

  host
    .command('rename')
    .argument('<host>', 'id or name')
    .argument('<name>', 'new name')
    .description('rename a host')
    .action(async (ref: string, name: string, _opts: unknown, cmd: Command) => {
      const client = await clientFor(cmd);
      await client.request('POST', `/api/v1/hosts/${await idOf(client, ref)}/rename`, { name });
    });
}
