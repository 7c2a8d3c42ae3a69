/** `nimbus group` — onegroup's verbs: create, list, show, update, delete, addadmin, deladmin, quota. */
import type { Command } from 'commander';
import { clientFor, resolveId, type ApiClient } from './client.js';
import { printFields, printJson, printTable, printTemplate } from './output.js';
import { readInputText, type CliIo } from './program.js';

interface VmQuotaBody {
  VMS: number;
  VMS_USED: number;
  MEMORY: number;
  MEMORY_USED: number;
  CPU: number;
  CPU_USED: number;
}

interface QuotaBlocks {
  VM_QUOTA: { VM?: VmQuotaBody };
  DATASTORE_QUOTA: {
    DATASTORE: { ID: number; IMAGES: number; IMAGES_USED: number; SIZE: number; SIZE_USED: number }[];
  };
  NETWORK_QUOTA: { NETWORK: { ID: number; LEASES: number; LEASES_USED: number }[] };
  IMAGE_QUOTA: { IMAGE: { ID: number; RVMS: number; RVMS_USED: number }[] };
}

interface GroupBody extends QuotaBlocks {
  ID: number;
  NAME: string;
  TEMPLATE: Record<string, unknown>;
  USERS: { ID: number[] };
  ADMINS: { ID: number[] };
}

/** `used / limit` as onegroup list shows quota columns; limits -1 (default) and -2 (unlimited) print `-`. */
function usage(used: number | undefined, limit: number | undefined): string {
  return `${used ?? 0} / ${limit === undefined || limit < 0 ? '-' : limit}`;
}

function printQuotas(io: CliIo, q: QuotaBlocks): void {
  const vm = q.VM_QUOTA.VM;
  io.stdout('\nVMS USAGE & QUOTAS\n');
  printTable<VmQuotaBody | undefined>(
    io,
    [
      { header: 'VMS', value: (v) => usage(v?.VMS_USED, v?.VMS) },
      { header: 'MEMORY', value: (v) => usage(v?.MEMORY_USED, v?.MEMORY) },
      { header: 'CPU', value: (v) => usage(v?.CPU_USED, v?.CPU) },
    ],
    [vm],
  );
  if (q.DATASTORE_QUOTA.DATASTORE.length > 0) {
    io.stdout('\nDATASTORE USAGE & QUOTAS\n');
    printTable(
      io,
      [
        { header: 'ID', value: (d) => d.ID, right: true },
        { header: 'IMAGES', value: (d) => usage(d.IMAGES_USED, d.IMAGES) },
        { header: 'SIZE', value: (d) => usage(d.SIZE_USED, d.SIZE) },
      ],
      q.DATASTORE_QUOTA.DATASTORE,
    );
  }
  if (q.NETWORK_QUOTA.NETWORK.length > 0) {
    io.stdout('\nNETWORK USAGE & QUOTAS\n');
    printTable(
      io,
      [
        { header: 'ID', value: (n) => n.ID, right: true },
        { header: 'LEASES', value: (n) => usage(n.LEASES_USED, n.LEASES) },
      ],
      q.NETWORK_QUOTA.NETWORK,
    );
  }
  if (q.IMAGE_QUOTA.IMAGE.length > 0) {
    io.stdout('\nIMAGE USAGE & QUOTAS\n');
    printTable(
      io,
      [
        { header: 'ID', value: (i) => i.ID, right: true },
        { header: 'RUNNING VMS', value: (i) => usage(i.RVMS_USED, i.RVMS) },
      ],
      q.IMAGE_QUOTA.IMAGE,
    );
  }
}

const groupId = (client: ApiClient, ref: string): Promise<number> =>
  resolveId(client, 'groups', 'GROUP_POOL', 'group', ref);
const userId = (client: ApiClient, ref: string): Promise<number> =>
  resolveId(client, 'users', 'USER_POOL', 'user', ref);

/** `quota OBJECT FILE`: sets limits from a quota template file ("-" for stdin). */
function addQuotaVerb(
  noun: Command,
  io: CliIo,
  collection: 'users' | 'groups',
  resolve: (client: ApiClient, ref: string) => Promise<number>,
): void {
  const kind = collection === 'users' ? 'user' : 'group';
  noun
    .command('quota')
    .argument(`<${kind}>`, 'id or name')
    .argument('<file>', 'quota template, e.g. VM=[VMS=2, MEMORY=1024]; "-" for stdin')
    .option('--json', 'print the resulting QUOTAS as JSON')
    .description(`set the quota limits of a ${kind} (-1 default quota, -2 unlimited)`)
    .action(async (ref: string, file: string, opts: { json?: boolean }, cmd: Command) => {
      const client = await clientFor(cmd);
      const id = await resolve(client, ref);
      const template = await readInputText(file, io);
      const body = await client.request<{ QUOTAS: QuotaBlocks }>('PUT', `/api/v1/${collection}/${id}/quota`, {
        template,
      });
      if (opts.json === true) printJson(io, body);
    });
}

/** `nimbus user quota USER FILE`: call from src/cli/users.ts as `addUserQuotaVerb(user, io)`. */
export function addUserQuotaVerb(userCommand: Command, io: CliIo): void {
  addQuotaVerb(userCommand, io, 'users', userId);
}

export function groupNoun(program: Command, io: CliIo): void {
  const group = program.command('group').description('groups (onegroup)');

  group
    .command('create')
    .argument('<name>')
    .description('create a group; its users may create VMs, images and templates')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const res = await (await clientFor(cmd)).request<{ ID: number }>('POST', '/api/v1/groups', { name });
      io.stdout(`ID: ${res.ID}\n`);
    });

  group
    .command('list')
    .option('--json', 'print the GROUP_POOL as JSON')
    .description('list groups')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const body = await (
        await clientFor(cmd)
      ).request<{ GROUP_POOL: { GROUP: GroupBody[] } }>('GET', '/api/v1/groups');
      if (opts.json === true) return printJson(io, body);
      printTable<GroupBody>(
        io,
        [
          { header: 'ID', value: (g) => g.ID, right: true },
          { header: 'NAME', value: (g) => g.NAME },
          { header: 'USERS', value: (g) => g.USERS.ID.length, right: true },
          { header: 'VMS', value: (g) => usage(g.VM_QUOTA.VM?.VMS_USED, g.VM_QUOTA.VM?.VMS), right: true },
          {
            header: 'MEMORY',
            value: (g) => usage(g.VM_QUOTA.VM?.MEMORY_USED, g.VM_QUOTA.VM?.MEMORY),
            right: true,
          },
          { header: 'CPU', value: (g) => usage(g.VM_QUOTA.VM?.CPU_USED, g.VM_QUOTA.VM?.CPU), right: true },
        ],
        body.GROUP_POOL.GROUP,
      );
    });

  group
    .command('show')
    .argument('<group>', 'id or name')
    .option('--json', 'print the GROUP as JSON')
    .description('show a group, its users, admins and quotas')
    .action(async (ref: string, opts: { json?: boolean }, cmd: Command) => {
      const client = await clientFor(cmd);
      const id = await groupId(client, ref);
      const body = await client.request<{ GROUP: GroupBody }>('GET', `/api/v1/groups/${id}`);
      if (opts.json === true) return printJson(io, body);
      const g = body.GROUP;
      printFields(io, 'GROUP INFORMATION', [
        ['ID', g.ID],
        ['NAME', g.NAME],
      ]);
      printTemplate(io, 'GROUP TEMPLATE', g.TEMPLATE);
      io.stdout('\nUSERS\n');
      printTable<number>(
        io,
        [
          { header: 'ID', value: (u) => u, right: true },
          { header: 'ADMIN', value: (u) => (g.ADMINS.ID.includes(u) ? '*' : '') },
        ],
        g.USERS.ID,
      );
      printQuotas(io, g);
    });

  group
    .command('update')
    .argument('<group>', 'id or name')
    .argument('<file>', 'template file, "-" for stdin')
    .option('--append', 'merge into the template instead of replacing it')
    .description('replace or merge the group template')
    .action(async (ref: string, file: string, opts: { append?: boolean }, cmd: Command) => {
      const client = await clientFor(cmd);
      const id = await groupId(client, ref);
      const template = await readInputText(file, io);
      await client.request('PUT', `/api/v1/groups/${id}/template`, { template, merge: opts.append === true });
    });

  group
    .command('delete')
    .argument('<group>', 'id or name')
    .description('delete a group without users (its ACL rules go too)')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const client = await clientFor(cmd);
      await client.request('DELETE', `/api/v1/groups/${await groupId(client, ref)}`);
    });

  group
    .command('addadmin')
    .argument('<group>', 'id or name')
    .argument('<user>', 'id or name of a member')
    .description('make a member an administrator of the group')
    .action(async (ref: string, userRef: string, _opts: unknown, cmd: Command) => {
      const client = await clientFor(cmd);
      const id = await groupId(client, ref);
      await client.request('POST', `/api/v1/groups/${id}/admins`, { user: await userId(client, userRef) });
    });

  group
    .command('deladmin')
    .argument('<group>', 'id or name')
    .argument('<user>', 'id or name')
    .description('remove an administrator of the group')
    .action(async (ref: string, userRef: string, _opts: unknown, cmd: Command) => {
      const client = await clientFor(cmd);
      const id = await groupId(client, ref);
      await client.request('DELETE', `/api/v1/groups/${id}/admins/${await userId(client, userRef)}`);
    });

  addQuotaVerb(group, io, 'groups', groupId);
}
