/**
 * `nimbus vmgroup` — onevmgroup's verbs: create, list, show, update, rename, chown, chgrp, chmod,
 * delete, lock, unlock, role-add, role-delete, role-update.
 */
import type { Command } from 'commander';
import { clientFor, resolveId, type ApiClient } from './client.js';
import { permissionString, printFields, printJson, printTable, printTemplate } from './output.js';
import { addOwnedVerbs } from './owned-verbs.js';
import { CliFailure, readInputText, type CliIo } from './program.js';
import { poolFilter } from './vms.js';

/** A ROLE as the API shows it (vm_group.xsd): ID a number, the rest strings. */
export interface VmGroupRoleBody {
  ID: number;
  NAME: string;
  POLICY?: string;
  HOST_AFFINED?: string;
  HOST_ANTI_AFFINED?: string;
  VMS?: string;
}

export interface VmGroupBody {
  ID: number;
  NAME: string;
  UNAME: string;
  GNAME: string;
  PERMISSIONS?: Record<string, number>;
  LOCK?: { LOCKED: number };
  ROLES: { ROLE: VmGroupRoleBody[] };
  TEMPLATE: Record<string, unknown>;
}

const LOCK_NAMES = ['None', 'Use', 'Manage', 'Admin', 'All'];

/** `onevmgroup show`'s ROLES table columns. */
export const ROLE_COLUMNS = [
  { header: 'ID', value: (r: VmGroupRoleBody) => r.ID, right: true },
  { header: 'NAME', value: (r: VmGroupRoleBody) => r.NAME },
  { header: 'POLICY', value: (r: VmGroupRoleBody) => r.POLICY ?? 'NONE' },
  { header: 'HOST_AFFINED', value: (r: VmGroupRoleBody) => r.HOST_AFFINED ?? '-' },
  { header: 'HOST_ANTI_AFFINED', value: (r: VmGroupRoleBody) => r.HOST_ANTI_AFFINED ?? '-' },
  { header: 'VMS', value: (r: VmGroupRoleBody) => r.VMS ?? '-' },
] as const;

/** `onevmgroup list`'s VMS column: VMs in all roles. */
function vmCount(g: VmGroupBody): number {
  return g.ROLES.ROLE.reduce(
    (n, r) => n + (r.VMS === undefined || r.VMS === '' ? 0 : r.VMS.split(',').length),
    0,
  );
}

async function groupId(client: ApiClient, ref: string): Promise<number> {
  return resolveId(client, 'vmgroups', 'VM_GROUP_POOL', 'VM group', ref);
}

function roleId(text: string): number {
  if (!/^\d+$/.test(text)) throw new CliFailure(`nimbus: the role id must be a number, got "${text}"`);
  return Number(text);
}

/** `--use` 1, `--manage` 2, `--admin` 3, `--all` 4 (onevmgroup lock); the default is use. */
function lockLevel(opts: { use?: boolean; manage?: boolean; admin?: boolean; all?: boolean }): number {
  const given = (['use', 'manage', 'admin', 'all'] as const).filter((k) => opts[k] === true);
  if (given.length > 1) throw new CliFailure('nimbus: give only one of --use, --manage, --admin, --all');
  return given[0] === undefined ? 1 : ['use', 'manage', 'admin', 'all'].indexOf(given[0]) + 1;
}

export function printVmGroup(io: CliIo, g: VmGroupBody): void {
  printFields(io, `VM GROUP ${g.ID} INFORMATION`, [
    ['ID', g.ID],
    ['NAME', g.NAME],
    ['USER', g.UNAME],
    ['GROUP', g.GNAME],
    ['LOCK', LOCK_NAMES[g.LOCK?.LOCKED ?? 0] ?? 'None'],
    ['PERMISSIONS', permissionString(g.PERMISSIONS)],
  ]);
  io.stdout('\nROLES\n');
  printTable(io, ROLE_COLUMNS, g.ROLES.ROLE);
  io.stdout('\n');
  printTemplate(io, 'VM GROUP TEMPLATE', g.TEMPLATE);
}

export function vmGroupNoun(program: Command, io: CliIo): void {
  const noun = program.command('vmgroup').description('VM groups and affinity rules (onevmgroup)');

  noun
    .command('create')
    .argument('[file]', 'template file (NAME, ROLE = [ … ], AFFINED / ANTI_AFFINED), "-" for stdin')
    .option('--name <name>', 'the group name (without a file: an empty group)')
    .description('create a VM group')
    .action(async (file: string | undefined, opts: { name?: string }, cmd: Command) => {
      if (file === undefined && opts.name === undefined)
        throw new CliFailure('nimbus: vmgroup create needs a template file or --name');
      const client = await clientFor(cmd);
      let text = file === undefined ? '' : await readInputText(file, io);
      if (opts.name !== undefined) text = `${text}\nNAME = ${JSON.stringify(opts.name)}\n`;
      const res = await client.request<{ ID: number }>('POST', '/api/v1/vmgroups', { template: text });
      io.stdout(`ID: ${res.ID}\n`);
    });

  noun
    .command('list')
    .argument('[filter]', 'a (all), m (mine), g (my groups) or a user')
    .option('--json', 'print the VM_GROUP_POOL as JSON')
    .description('list VM groups')
    .action(async (filter: string | undefined, opts: { json?: boolean }, cmd: Command) => {
      const client = await clientFor(cmd);
      const value = await poolFilter(client, filter);
      const body = await client.request<{ VM_GROUP_POOL: { VM_GROUP: VmGroupBody[] } }>(
        'GET',
        `/api/v1/vmgroups${value === undefined ? '' : `?filter=${value}`}`,
      );
      if (opts.json === true) return printJson(io, body);
      printTable<VmGroupBody>(
        io,
        [
          { header: 'ID', value: (g) => g.ID, right: true },
          { header: 'USER', value: (g) => g.UNAME },
          { header: 'GROUP', value: (g) => g.GNAME },
          { header: 'NAME', value: (g) => g.NAME },
          { header: 'VMS', value: vmCount, right: true },
        ],
        body.VM_GROUP_POOL.VM_GROUP,
      );
    });

  noun
    .command('show')
    .argument('<vmgroup>', 'id or name')
    .option('--json', 'print the VM_GROUP as JSON')
    .description('show a VM group and its roles')
    .action(async (ref: string, opts: { json?: boolean }, cmd: Command) => {
      const client = await clientFor(cmd);
      const id = await groupId(client, ref);
      const body = await client.request<{ VM_GROUP: VmGroupBody }>('GET', `/api/v1/vmgroups/${id}`);
      if (opts.json === true) return printJson(io, body);
      printVmGroup(io, body.VM_GROUP);
    });

  addOwnedVerbs(noun, io, {
    collection: 'vmgroups',
    pool: 'VM_GROUP_POOL',
    kind: 'VM group',
    arg: 'vmgroup',
    verbs: ['update', 'rename', 'chown', 'chgrp', 'chmod', 'delete'],
    help: {
      update:
        'replace or merge the template (AFFINED / ANTI_AFFINED rules; roles with role-*); refused while it has VMs',
      rename: 'rename a VM group',
      delete: 'delete a VM group (refused while its roles have VMs)',
    },
  });

  noun
    .command('lock')
    .argument('<vmgroup>', 'id or name')
    .option('--use', 'lock use, manage and admin actions (default)')
    .option('--manage', 'lock manage and admin actions')
    .option('--admin', 'lock admin actions')
    .option('--all', 'lock every action')
    .description('lock a VM group')
    .action(async (ref: string, opts: Record<string, boolean | undefined>, cmd: Command) => {
      const level = lockLevel(opts);
      const client = await clientFor(cmd);
      await client.request('POST', `/api/v1/vmgroups/${await groupId(client, ref)}/lock`, { level });
    });

  noun
    .command('unlock')
    .argument('<vmgroup>', 'id or name')
    .description('unlock a VM group')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const client = await clientFor(cmd);
      await client.request('POST', `/api/v1/vmgroups/${await groupId(client, ref)}/unlock`, {});
    });

  noun
    .command('role-add')
    .argument('<vmgroup>', 'id or name')
    .argument('<file>', 'template with one ROLE = [ NAME = …, POLICY = …, HOST_AFFINED = … ], "-" for stdin')
    .description('add a role to a VM group')
    .action(async (ref: string, file: string, _opts: unknown, cmd: Command) => {
      const client = await clientFor(cmd);
      const id = await groupId(client, ref);
      const template = await readInputText(file, io);
      await client.request('POST', `/api/v1/vmgroups/${id}/roles`, { template });
    });

  noun
    .command('role-delete')
    .argument('<vmgroup>', 'id or name')
    .argument('<role>', 'role id')
    .description('delete a role (refused while it has VMs or a rule names it)')
    .action(async (ref: string, role: string, _opts: unknown, cmd: Command) => {
      const rid = roleId(role);
      const client = await clientFor(cmd);
      await client.request('DELETE', `/api/v1/vmgroups/${await groupId(client, ref)}/roles/${rid}`);
    });

  noun
    .command('role-update')
    .argument('<vmgroup>', 'id or name')
    .argument('<role>', 'role id')
    .argument('<file>', 'template with one ROLE = [ … ] merged over the role, "-" for stdin')
    .description('update a role (refused while it has VMs)')
    .action(async (ref: string, role: string, file: string, _opts: unknown, cmd: Command) => {
      const rid = roleId(role);
      const client = await clientFor(cmd);
      const id = await groupId(client, ref);
      const template = await readInputText(file, io);
      await client.request('PATCH', `/api/v1/vmgroups/${id}/roles/${rid}`, { template });
    });
}
