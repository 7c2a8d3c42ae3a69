/** `nimbus user` — oneuser's verbs: create, list, show, passwd, chgrp, enable, disable, update, delete, login. */
import type { Command } from 'commander';
import { clientFor, resolveId } from './client.js';
import { addUserQuotaVerb } from './groups.js';
import { printFields, printJson, printTable, printTemplate } from './output.js';
import { readInputText, type CliIo } from './program.js';

interface UserBody {
  ID: number;
  NAME: string;
  GID: number;
  GNAME: string;
  AUTH_DRIVER: string;
  ENABLED: number;
  GROUPS: { ID: number[] };
  TEMPLATE: Record<string, unknown>;
  VM_QUOTA?: { VM?: Record<string, number> };
}

export function userNoun(program: Command, io: CliIo): void {
  const user = program.command('user').description('users (oneuser)');

  user
    .command('create')
    .argument('<name>')
    .argument('<password>')
    .option('--group <group>', 'primary group (id or name), default users')
    .description('create a user')
    .action(async (name: string, password: string, opts: { group?: string }, cmd: Command) => {
      const client = await clientFor(cmd);
      const group =
        opts.group === undefined
          ? undefined
          : await resolveId(client, 'groups', 'GROUP_POOL', 'group', opts.group);
      const res = await client.request<{ ID: number }>('POST', '/api/v1/users', {
        name,
        password,
        ...(group !== undefined ? { group } : {}),
      });
      io.stdout(`ID: ${res.ID}\n`);
    });

  user
    .command('list')
    .option('--json', 'print the USER_POOL as JSON')
    .description('list users')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const body = await (
        await clientFor(cmd)
      ).request<{ USER_POOL: { USER: UserBody[] } }>('GET', '/api/v1/users');
      if (opts.json === true) return printJson(io, body);
      printTable<UserBody>(
        io,
        [
          { header: 'ID', value: (u) => u.ID, right: true },
          { header: 'NAME', value: (u) => u.NAME },
          { header: 'GROUP', value: (u) => u.GNAME },
          { header: 'AUTH', value: (u) => u.AUTH_DRIVER },
          { header: 'ENABLED', value: (u) => (u.ENABLED === 1 ? 'yes' : 'no') },
        ],
        body.USER_POOL.USER,
      );
    });

  user
    .command('show')
    .argument('<user>', 'id or name')
    .option('--json', 'print the USER as JSON')
    .description('show a user')
    .action(async (ref: string, opts: { json?: boolean }, cmd: Command) => {
      const client = await clientFor(cmd);
      const id = await resolveId(client, 'users', 'USER_POOL', 'user', ref);
      const body = await client.request<{ USER: UserBody }>('GET', `/api/v1/users/${id}`);
      if (opts.json === true) return printJson(io, body);
      const u = body.USER;
      printFields(io, `USER ${u.ID} INFORMATION`, [
        ['ID', u.ID],
        ['NAME', u.NAME],
        ['GROUP', u.GNAME],
        ['SECONDARY GROUPS', u.GROUPS.ID.filter((g) => g !== u.GID).join(',')],
        ['AUTH_DRIVER', u.AUTH_DRIVER],
        ['ENABLED', u.ENABLED === 1 ? 'Yes' : 'No'],
      ]);
      printTemplate(io, 'USER TEMPLATE', u.TEMPLATE);
    });

  const simple = (verb: string, description: string, method: string, path: (id: number) => string): void => {
    user
      .command(verb)
      .argument('<user>', 'id or name')
      .description(description)
      .action(async (ref: string, _opts: unknown, cmd: Command) => {
        const client = await clientFor(cmd);
        const id = await resolveId(client, 'users', 'USER_POOL', 'user', ref);
        await client.request(method, path(id));
      });
  };
  simple('enable', 'enable a user', 'POST', (id) => `/api/v1/users/${id}/enable`);
  simple('disable', 'disable a user (its sessions end)', 'POST', (id) => `/api/v1/users/${id}/disable`);
  simple('delete', 'delete a user that owns nothing', 'DELETE', (id) => `/api/v1/users/${id}`);

  user
    .command('passwd')
    .argument('<user>', 'id or name')
    .argument('<password>')
    .description("change a password (ends the user's sessions)")
    .action(async (ref: string, password: string, _opts: unknown, cmd: Command) => {
      const client = await clientFor(cmd);
      const id = await resolveId(client, 'users', 'USER_POOL', 'user', ref);
      await client.request('PUT', `/api/v1/users/${id}/password`, { password });
    });

  user
    .command('chgrp')
    .argument('<user>', 'id or name')
    .argument('<group>', 'id or name')
    .description('change the primary group')
    .action(async (ref: string, groupRef: string, _opts: unknown, cmd: Command) => {
      const client = await clientFor(cmd);
      const id = await resolveId(client, 'users', 'USER_POOL', 'user', ref);
      const group = await resolveId(client, 'groups', 'GROUP_POOL', 'group', groupRef);
      await client.request('POST', `/api/v1/users/${id}/chgrp`, { group });
    });

  user
    .command('update')
    .argument('<user>', 'id or name')
    .argument('<file>', 'template file, "-" for stdin')
    .option('--append', 'merge into the template instead of replacing it')
    .description('replace or merge the user template')
    .action(async (ref: string, file: string, opts: { append?: boolean }, cmd: Command) => {
      const client = await clientFor(cmd);
      const id = await resolveId(client, 'users', 'USER_POOL', 'user', ref);
      const template = await readInputText(file, io);
      await client.request('PUT', `/api/v1/users/${id}/template`, { template, merge: opts.append === true });
    });

  user
    .command('login')
    .argument('<name>')
    .argument('<password>')
    .option('--time <seconds>', 'token lifetime in seconds (default 36000)')
    .description('print a login token (use as Bearer, or as the password)')
    .action(async (name: string, password: string, opts: { time?: string }, cmd: Command) => {
      const client = await clientFor(cmd);
      const res = await client.request<{ token: string }>('POST', '/api/v1/login', {
        username: name,
        password,
        ...(opts.time !== undefined ? { expire: Number(opts.time) } : {}),
      });
      io.stdout(`${res.token}\n`);
    });

  addUserQuotaVerb(user, io);
}
