/** `nimbus host` — onehost's verbs: create, list, show, enable, disable, offline, update, rename, delete. */
import type { Command } from 'commander';
import { clientFor, resolveId, type ApiClient } from './client.js';
import { printFields, printJson, printTable, printTemplate } from './output.js';
import { readInputText, type CliIo } from './program.js';
import { vmListColumns, type VmBody } from './vms.js';

interface HostBody {
  ID: number;
  NAME: string;
  STATE: number;
  STATE_NAME?: string;
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

/** What `POST /hosts` answers; JOIN for a real host, whose agent must still be started there. */
interface HostCreated {
  ID: number;
  JOIN?: { TOKEN: string; COMMAND: string; EXPIRES: number };
}

/** `host create`'s output: `ID: N` first, then for a real host the command that joins it. */
export function hostCreatedText(res: HostCreated): string {
  let text = `ID: ${res.ID}\n`;
  if (res.JOIN !== undefined) {
    text += `Run on the host: ${res.JOIN.COMMAND}\n`;
    text +=
      `The host stays ERROR until nimbus-agent connects with this token ` +
      `(valid until ${new Date(res.JOIN.EXPIRES * 1000).toISOString()}).\n`;
  }
  return text;
}

/**
 * onehost show's HOST SHARES (CPU in CPU×100, memory from KB). The USED (REAL) lines come from
 * MONITORING and appear once the host has been monitored.
 */
export function hostSharesFields(
  h: Pick<HostBody, 'HOST_SHARE' | 'MONITORING'>,
): [string, string | number][] {
  const s = h.HOST_SHARE;
  const real = h.MONITORING.CAPACITY ?? {};
  const fields: [string, string | number][] = [
    ['RUNNING VMS', s.RUNNING_VMS ?? 0],
    ['MEMORY TOTAL', unitToStr(s.TOTAL_MEM ?? 0)],
    ['MEMORY TOTAL +/- RESERVED', unitToStr(s.MAX_MEM ?? 0)],
  ];
  if (real.USED_MEMORY !== undefined) fields.push(['MEMORY USED (REAL)', unitToStr(real.USED_MEMORY)]);
  fields.push(
    ['MEMORY USED (ALLOCATED)', unitToStr(s.MEM_USAGE ?? 0)],
    ['CPU TOTAL', s.TOTAL_CPU ?? 0],
    ['CPU TOTAL +/- RESERVED', s.MAX_CPU ?? 0],
  );
  if (real.USED_CPU !== undefined) fields.push(['CPU USED (REAL)', real.USED_CPU]);
  fields.push(['CPU USED (ALLOCATED)', s.CPU_USAGE ?? 0]);
  return fields;
}

/** How many VMs one list request asks for while collecting a host's VMs. */
const VM_PAGE = 1000;

/**
 * The VMs with these ids that the caller may see, read from the VM list in id order from the
 * smallest one (keyset pages), so a host's VMs cost one request unless their ids are far apart.
 */
async function vmsByIds(client: ApiClient, ids: readonly number[]): Promise<VmBody[]> {
  if (ids.length === 0) return [];
  const wanted = new Set(ids);
  const sorted = [...ids].sort((a, b) => a - b);
  const last = sorted[sorted.length - 1]!;
  const found: VmBody[] = [];
  let after = sorted[0]! - 1;
  for (;;) {
    const page = await client.request<{ VM_POOL: { VM: VmBody[] }; next_after?: number | null }>(
      'GET',
      `/api/v1/vms?filter=-2&after=${after}&limit=${VM_PAGE}`,
    );
    for (const vm of page.VM_POOL.VM) if (wanted.has(vm.ID)) found.push(vm);
    const next = page.next_after;
    if (next === undefined || next === null || next >= last) return found;
    after = next;
  }
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
      const res = await client.request<HostCreated>('POST', '/api/v1/hosts', {
        name,
        im: opts.im,
        vm: opts.vm,
        ...(cluster !== undefined ? { cluster } : {}),
      });
      io.stdout(hostCreatedText(res));
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
      const monitored = h.MONITORING.TIMESTAMP;
      printFields(io, `HOST ${h.ID} INFORMATION`, [
        ['ID', h.ID],
        ['NAME', h.NAME],
        ['CLUSTER', h.CLUSTER],
        ['STATE', h.STATE_NAME ?? String(h.STATE)],
        ['IM_MAD', h.IM_MAD],
        ['VM_MAD', h.VM_MAD],
        ['LAST MONITORING TIME', monitored === undefined ? '-' : new Date(monitored * 1000).toISOString()],
      ]);
      io.stdout('\n');
      printFields(io, 'HOST SHARES', hostSharesFields(h));
      printTemplate(io, 'HOST TEMPLATE', h.TEMPLATE);
      io.stdout('\nVIRTUAL MACHINES\n');
      const vms = await vmsByIds(client, h.VMS.ID);
      if (vms.length === 0 && h.VMS.ID.length === 0) return io.stdout('-\n');
      if (vms.length > 0) printTable(io, vmListColumns(Math.floor(Date.now() / 1000)), vms);
      const listed = new Set(vms.map((v) => v.ID));
      const unlisted = h.VMS.ID.filter((id) => !listed.has(id));
      // VMs the caller may not see, or that ended between the two requests
      if (unlisted.length > 0) io.stdout(`also on the host, not listed for you: ${unlisted.join(', ')}\n`);
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
