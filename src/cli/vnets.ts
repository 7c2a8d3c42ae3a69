/**
 * `nimbus vnet` — onevnet's verbs: create, list, show, update, rename, chown, chmod, delete,
 * addar, updatear, rmar, free, hold, release, reserve, leases.
 */
import type { Command } from 'commander';
import { getVectors, parseAnyTemplate, TemplateSyntaxError } from '../domain/template/index.js';
import { clientFor, resolveId, type ApiClient } from './client.js';
import { permissionString, printFields, printJson, printTable, printTemplate } from './output.js';
import { addOwnedVerbs } from './owned-verbs.js';
import { CliFailure, readInputText, type CliIo } from './program.js';

type Attributes = Record<string, string | number | undefined>;

interface LeaseBody extends Attributes {
  AR_ID?: number;
  VM?: number;
  VNET?: number;
}

type ArBody = Attributes & {
  AR_ID: number;
  SIZE: number;
  USED_LEASES: number;
} & { LEASES?: { LEASE: LeaseBody[] } };

interface VnetBody {
  ID: number;
  NAME: string;
  UNAME: string;
  GNAME: string;
  LOCK?: { LOCKED: number };
  PERMISSIONS: Record<string, number>;
  CLUSTERS: { ID: number[] };
  BRIDGE: string;
  STATE_NAME: string;
  PARENT_NETWORK_ID: number | '';
  VN_MAD: string;
  PHYDEV: string;
  VLAN_ID: string;
  OUTER_VLAN_ID: string;
  VLAN_ID_AUTOMATIC: number;
  OUTER_VLAN_ID_AUTOMATIC: number;
  USED_LEASES: number;
  TEMPLATE: Record<string, unknown>;
  AR_POOL: { AR: ArBody[] };
}

const LOCK_NAMES = ['None', 'Use', 'Manage', 'Admin', 'All'];

/** `V:7` for a VM, `V:-1` on hold, `N:5` for a reservation network (onevnet show). */
function leaseOwner(l: LeaseBody): string {
  return l.VNET !== undefined ? `N:${l.VNET}` : `V:${l.VM ?? -1}`;
}

const LEASE_COLUMNS = [
  { header: 'AR', value: (l: LeaseBody) => l.AR_ID ?? '', right: true },
  { header: 'OWNER', value: leaseOwner },
  { header: 'MAC', value: (l: LeaseBody) => l.MAC ?? '-' },
  { header: 'IP', value: (l: LeaseBody) => l.IP ?? '-' },
  { header: 'IP6', value: (l: LeaseBody) => l.IP6 ?? l.IP6_GLOBAL ?? l.IP6_ULA ?? '-' },
];

/** `LEASES = [ IP | MAC | IP6 = addr ]`, the attribute chosen by the address's form. */
function addressAttribute(address: string): 'IP' | 'MAC' | 'IP6' {
  if (/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(address)) return 'MAC';
  return address.includes(':') ? 'IP6' : 'IP';
}

function arIdOption(text: string | undefined): Record<string, string> {
  if (text === undefined) return {};
  if (!/^\d+$/.test(text)) throw new CliFailure(`nimbus: --ar must be an address range id, got "${text}"`);
  return { AR_ID: text };
}

function printVnet(io: CliIo, v: VnetBody): void {
  const fields: [string, string | number][] = [
    ['ID', v.ID],
    ['NAME', v.NAME],
    ['USER', v.UNAME],
    ['GROUP', v.GNAME],
    ['LOCK', LOCK_NAMES[v.LOCK?.LOCKED ?? 0] ?? 'None'],
    ['CLUSTERS', v.CLUSTERS.ID.join(',')],
    ['BRIDGE', v.BRIDGE],
    ['STATE', v.STATE_NAME],
    ['VN_MAD', v.VN_MAD],
  ];
  if (v.PHYDEV !== '') fields.push(['PHYSICAL DEVICE', v.PHYDEV]);
  if (v.VLAN_ID !== '') fields.push(['VLAN ID', v.VLAN_ID]);
  if (v.OUTER_VLAN_ID !== '') fields.push(['OUTER VLAN ID', v.OUTER_VLAN_ID]);
  fields.push(
    ['AUTOMATIC VLAN ID', v.VLAN_ID_AUTOMATIC === 1 ? 'YES' : 'NO'],
    ['AUTOMATIC OUTER VLAN ID', v.OUTER_VLAN_ID_AUTOMATIC === 1 ? 'YES' : 'NO'],
    ['USED LEASES', v.USED_LEASES],
  );
  if (v.PARENT_NETWORK_ID !== '') fields.push(['PARENT NETWORK', v.PARENT_NETWORK_ID]);
  printFields(io, `VIRTUAL NETWORK ${v.ID} INFORMATION`, fields);

  const perms = permissionString(v.PERMISSIONS);
  printFields(io, '\nPERMISSIONS', [
    ['OWNER', perms.slice(0, 3)],
    ['GROUP', perms.slice(3, 6)],
    ['OTHER', perms.slice(6, 9)],
  ]);
  printTemplate(io, 'VIRTUAL NETWORK TEMPLATE', v.TEMPLATE);

  io.stdout('\nADDRESS RANGE POOL\n');
  const leases: LeaseBody[] = [];
  for (const ar of v.AR_POOL.AR) {
    const arFields: [string, string | number][] = [
      ['SIZE', ar.SIZE],
      ['LEASES', ar.USED_LEASES],
    ];
    for (const name of ['VN_MAD', 'BRIDGE', 'PARENT_NETWORK_AR_ID']) {
      const value = ar[name];
      if (value !== undefined) arFields.push([name, value]);
    }
    printFields(io, `AR ${ar.AR_ID}`, arFields);
    io.stdout('\n');
    const ranges: [string, string, string][] = [['MAC', String(ar.MAC), String(ar.MAC_END)]];
    for (const [label, first, last] of [
      ['IP', 'IP', 'IP_END'],
      ['IP6_GLOBAL', 'IP6_GLOBAL', 'IP6_GLOBAL_END'],
      ['IP6_ULA', 'IP6_ULA', 'IP6_ULA_END'],
      ['IP6', 'IP6', 'IP6_END'],
    ] as const) {
      if (ar[first] !== undefined) ranges.push([label, String(ar[first]), String(ar[last])]);
    }
    printTable<[string, string, string]>(
      io,
      [
        { header: 'RANGE', value: (r) => r[0] },
        { header: 'FIRST', value: (r) => r[1] },
        { header: 'LAST', value: (r) => r[2] },
      ],
      ranges,
    );
    io.stdout('\n');
    for (const l of ar.LEASES?.LEASE ?? []) leases.push({ AR_ID: ar.AR_ID, ...l });
  }
  io.stdout('LEASES\n');
  printTable(io, LEASE_COLUMNS, leases);
}

export function vnetNoun(program: Command, io: CliIo): void {
  const vnet = program.command('vnet').description('virtual networks (onevnet)');
  const vnetId = (client: ApiClient, ref: string) => resolveId(client, 'vnets', 'VNET_POOL', 'vnet', ref);

  vnet
    .command('create')
    .argument('<file>', 'VNET template (NAME, VN_MAD, AR = [...] ...), "-" for stdin')
    .option('--cluster <cluster>', 'cluster id to join (default 0)')
    .description('create a virtual network')
    .action(async (file: string, opts: { cluster?: string }, cmd: Command) => {
      const template = await readInputText(file, io);
      const client = await clientFor(cmd);
      const cluster =
        opts.cluster === undefined
          ? ''
          : `?cluster=${await resolveId(client, 'clusters', 'CLUSTER_POOL', 'cluster', opts.cluster)}`;
      const res = await client.request<{ ID: number }>('POST', `/api/v1/vnets${cluster}`, { template });
      io.stdout(`ID: ${res.ID}\n`);
    });

  vnet
    .command('list')
    .option('--json', 'print the VNET_POOL as JSON')
    .description('list virtual networks')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const body = await (
        await clientFor(cmd)
      ).request<{ VNET_POOL: { VNET: VnetBody[] } }>('GET', '/api/v1/vnets');
      if (opts.json === true) return printJson(io, body);
      printTable<VnetBody>(
        io,
        [
          { header: 'ID', value: (v) => v.ID, right: true },
          { header: 'USER', value: (v) => v.UNAME },
          { header: 'GROUP', value: (v) => v.GNAME },
          { header: 'NAME', value: (v) => v.NAME },
          { header: 'CLUSTERS', value: (v) => v.CLUSTERS.ID.join(',') },
          { header: 'BRIDGE', value: (v) => v.BRIDGE },
          { header: 'LEASES', value: (v) => v.USED_LEASES, right: true },
        ],
        body.VNET_POOL.VNET,
      );
    });

  vnet
    .command('show')
    .argument('<vnet>', 'id or name')
    .option('--json', 'print the VNET as JSON')
    .description('show a virtual network, its address ranges and leases')
    .action(async (ref: string, opts: { json?: boolean }, cmd: Command) => {
      const client = await clientFor(cmd);
      const body = await client.request<{ VNET: VnetBody }>(
        'GET',
        `/api/v1/vnets/${await vnetId(client, ref)}`,
      );
      if (opts.json === true) return printJson(io, body);
      printVnet(io, body.VNET);
    });

  vnet
    .command('update')
    .argument('<vnet>', 'id or name')
    .argument('<file>', 'template file, "-" for stdin')
    .option('--append', 'merge into the template instead of replacing it')
    .description('replace or merge the network template')
    .action(async (ref: string, file: string, opts: { append?: boolean }, cmd: Command) => {
      const template = await readInputText(file, io);
      const client = await clientFor(cmd);
      await client.request('PUT', `/api/v1/vnets/${await vnetId(client, ref)}/template`, {
        template,
        merge: opts.append === true,
      });
    });

  addOwnedVerbs(vnet, io, {
    collection: 'vnets',
    pool: 'VNET_POOL',
    kind: 'vnet',
    arg: 'vnet',
    verbs: ['rename', 'chown', 'chgrp', 'chmod', 'delete'],
    help: {
      rename: 'rename a network',
      chmod: 'change permissions',
      delete: 'delete a network (refused while VMs use its leases)',
    },
  });

  vnet
    .command('addar')
    .argument('<vnet>', 'id or name')
    .argument('<file>', 'template with AR = [TYPE = ..., ...], "-" for stdin')
    .description('add an address range')
    .action(async (ref: string, file: string, _opts: unknown, cmd: Command) => {
      const template = await readInputText(file, io);
      const client = await clientFor(cmd);
      await client.request('POST', `/api/v1/vnets/${await vnetId(client, ref)}/ar`, { template });
    });

  vnet
    .command('updatear')
    .argument('<vnet>', 'id or name')
    .argument('<ar_or_file>', 'address range id, or the file when it names AR_ID')
    .argument('[file]', 'template with one AR = [...], "-" for stdin')
    .description('update an address range (onevnet updatear VNET AR_ID FILE, or VNET FILE with AR_ID)')
    .action(
      async (ref: string, arOrFile: string, fileArg: string | undefined, _opts: unknown, cmd: Command) => {
        const file = fileArg ?? arOrFile;
        const template = await readInputText(file, io);
        const arId = fileArg !== undefined ? arOrFile : arIdInTemplate(file, template);
        if (!/^\d+$/.test(arId))
          throw new CliFailure(`nimbus: AR_ID must be an address range id, got "${arId}"`);
        const client = await clientFor(cmd);
        await client.request('PUT', `/api/v1/vnets/${await vnetId(client, ref)}/ar/${arId}`, { template });
      },
    );

  vnet
    .command('rmar')
    .argument('<vnet>', 'id or name')
    .argument('<ar_id>', 'address range id')
    .option('--force', 'remove it even with leases')
    .description('remove an address range (refused while it has leases)')
    .action(async (ref: string, arId: string, opts: { force?: boolean }, cmd: Command) => {
      const client = await clientFor(cmd);
      const query = opts.force === true ? '?force=true' : '';
      await client.request('DELETE', `/api/v1/vnets/${await vnetId(client, ref)}/ar/${arId}${query}`);
    });

  vnet
    .command('free')
    .argument('<vnet>', 'reservation network id or name')
    .argument('<ar_id>', 'address range id')
    .description("free a reservation's address range (its addresses go back to the parent)")
    .action(async (ref: string, arId: string, _opts: unknown, cmd: Command) => {
      const client = await clientFor(cmd);
      await client.request('POST', `/api/v1/vnets/${await vnetId(client, ref)}/free-ar/${arId}`);
    });

  for (const [verb, description] of [
    ['hold', 'put an address (IP, MAC or IP6) on hold'],
    ['release', 'release an address on hold'],
  ] as const) {
    vnet
      .command(verb)
      .argument('<vnet>', 'id or name')
      .argument('<address>', 'IP, MAC or IP6')
      .option('--ar <ar_id>', 'only in this address range')
      .description(description)
      .action(async (ref: string, address: string, opts: { ar?: string }, cmd: Command) => {
        const lease = { [addressAttribute(address)]: address, ...arIdOption(opts.ar) };
        const client = await clientFor(cmd);
        await client.request('POST', `/api/v1/vnets/${await vnetId(client, ref)}/${verb}`, {
          template: { LEASES: [lease] },
        });
      });
  }

  vnet
    .command('reserve')
    .argument('<vnet>', 'parent network id or name')
    .argument('[name]', 'name of the new reservation network')
    .option('-s, --size <n>', 'number of addresses')
    .option('-n, --name <name>', 'name of the new reservation network')
    .option('-a, --ar <ar_id>', 'reserve from this address range')
    .option('-i, --addr <address>', 'first address (IP, MAC or IP6; needs --ar)')
    .option('--vnet <reservation>', 'add to this existing reservation network')
    .description('reserve addresses into a reservation network')
    .action(
      async (
        ref: string,
        positionalName: string | undefined,
        opts: { size?: string; name?: string; ar?: string; addr?: string; vnet?: string },
        cmd: Command,
      ) => {
        if (opts.size === undefined || !/^\d+$/.test(opts.size))
          throw new CliFailure('nimbus: reserve needs --size <n> (a positive integer)');
        const client = await clientFor(cmd);
        const template: Record<string, string> = { SIZE: opts.size, ...arIdOption(opts.ar) };
        const name = opts.name ?? positionalName;
        if (name !== undefined) template.NAME = name;
        if (opts.addr !== undefined) template[addressAttribute(opts.addr)] = opts.addr;
        if (opts.vnet !== undefined) template.NETWORK_ID = String(await vnetId(client, opts.vnet));
        const res = await client.request<{ ID: number }>(
          'POST',
          `/api/v1/vnets/${await vnetId(client, ref)}/reserve`,
          { template },
        );
        io.stdout(`Reservation VNET ID: ${res.ID}\n`);
      },
    );

  vnet
    .command('leases')
    .argument('<vnet>', 'id or name')
    .option('--ar <ar_id>', 'only this address range')
    .option('--json', 'print the LEASES as JSON')
    .description('list the leases of a network')
    .action(async (ref: string, opts: { ar?: string; json?: boolean }, cmd: Command) => {
      const client = await clientFor(cmd);
      const ar = arIdOption(opts.ar).AR_ID;
      const query = ar === undefined ? '' : `?ar=${ar}`;
      const body = await client.request<{ LEASES: { LEASE: LeaseBody[] } }>(
        'GET',
        `/api/v1/vnets/${await vnetId(client, ref)}/leases${query}`,
      );
      if (opts.json === true) return printJson(io, body);
      printTable(io, LEASE_COLUMNS, body.LEASES.LEASE);
    });
}

/** AR_ID of the one AR in a template file, for `updatear VNET FILE`. */
function arIdInTemplate(file: string, text: string): string {
  let ars;
  try {
    ars = getVectors(parseAnyTemplate(text), 'AR');
  } catch (error) {
    if (error instanceof TemplateSyntaxError)
      throw new CliFailure(`${file}:${error.line}:${error.column}: ${error.message}`);
    throw error;
  }
  const arId = ars[0]?.['AR_ID'];
  if (ars.length !== 1 || arId === undefined)
    throw new CliFailure(
      `nimbus: ${file}: give AR_ID (updatear VNET AR_ID FILE) or put one AR with AR_ID in the file`,
    );
  return arId.trim();
}
