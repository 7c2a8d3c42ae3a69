/**
 * `nimbus template` — onetemplate's verbs: create, list, show, update, rename, chown, chmod,
 * clone, delete, instantiate. They join `parse` and `format` under the same noun.
 */
import type { Command } from 'commander';
import { clientFor, resolveId, type ApiClient } from './client.js';
import { permissionString, printFields, printJson, printTable, printTemplate } from './output.js';
import { addOwnedVerbs } from './owned-verbs.js';
import { CliFailure, readInputText, type CliIo } from './program.js';
import { poolFilter } from './vms.js';

interface VmTemplateBody {
  ID: number;
  NAME: string;
  UNAME: string;
  GNAME: string;
  REGTIME: number;
  PERMISSIONS?: Record<string, number>;
  TEMPLATE: Record<string, unknown>;
}

/** OpenNebula's `onetemplate list` REGTIME column: `MM/DD HH:MM:SS`, local time. */
function shortTime(epoch: number): string {
  const d = new Date(epoch * 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getMonth() + 1)}/${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

async function templateId(client: ApiClient, ref: string): Promise<number> {
  return resolveId(client, 'templates', 'VMTEMPLATE_POOL', 'template', ref);
}

function positiveInteger(text: string, option: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1)
    throw new CliFailure(`nimbus: ${option} must be a positive integer, got "${text}"`);
  return Number(text);
}

export function vmTemplateNoun(program: Command, io: CliIo): void {
  const template =
    program.commands.find((c) => c.name() === 'template') ??
    program.command('template').description('VM templates (onetemplate)');
  template.description(
    'VM templates (onetemplate: create, list, show, update, instantiate …) and the template language (parse, format)',
  );

  template
    .command('create')
    .argument('<file>', 'template file (OpenNebula text or XML; NAME required), "-" for stdin')
    .description('create a VM template')
    .action(async (file: string, _opts: unknown, cmd: Command) => {
      const client = await clientFor(cmd);
      const text = await readInputText(file, io);
      const res = await client.request<{ ID: number }>('POST', '/api/v1/templates', { template: text });
      io.stdout(`ID: ${res.ID}\n`);
    });

  template
    .command('list')
    .argument('[filter]', 'a (all), m (mine), g (my groups) or a user')
    .option('--json', 'print the VMTEMPLATE_POOL as JSON')
    .description('list VM templates')
    .action(async (filter: string | undefined, opts: { json?: boolean }, cmd: Command) => {
      const client = await clientFor(cmd);
      const value = await poolFilter(client, filter);
      const body = await client.request<{ VMTEMPLATE_POOL: { VMTEMPLATE: VmTemplateBody[] } }>(
        'GET',
        `/api/v1/templates${value === undefined ? '' : `?filter=${value}`}`,
      );
      if (opts.json === true) return printJson(io, body);
      printTable<VmTemplateBody>(
        io,
        [
          { header: 'ID', value: (t) => t.ID, right: true },
          { header: 'USER', value: (t) => t.UNAME },
          { header: 'GROUP', value: (t) => t.GNAME },
          { header: 'NAME', value: (t) => t.NAME },
          { header: 'REGTIME', value: (t) => shortTime(t.REGTIME), right: true },
        ],
        body.VMTEMPLATE_POOL.VMTEMPLATE,
      );
    });

  template
    .command('show')
    .argument('<template>', 'id or name')
    .option('--json', 'print the VMTEMPLATE as JSON')
    .description('show a VM template')
    .action(async (ref: string, opts: { json?: boolean }, cmd: Command) => {
      const client = await clientFor(cmd);
      const id = await templateId(client, ref);
      const body = await client.request<{ VMTEMPLATE: VmTemplateBody }>('GET', `/api/v1/templates/${id}`);
      if (opts.json === true) return printJson(io, body);
      const t = body.VMTEMPLATE;
      printFields(io, `TEMPLATE ${t.ID} INFORMATION`, [
        ['ID', t.ID],
        ['NAME', t.NAME],
        ['USER', t.UNAME],
        ['GROUP', t.GNAME],
        ['REGISTER TIME', new Date(t.REGTIME * 1000).toISOString()],
        ['PERMISSIONS', permissionString(t.PERMISSIONS)],
      ]);
      printTemplate(io, 'TEMPLATE CONTENTS', t.TEMPLATE);
    });

  const owned = {
    collection: 'templates',
    pool: 'VMTEMPLATE_POOL',
    kind: 'template',
    arg: 'template',
    help: {
      update: 'replace or merge the template contents',
      rename: 'rename a VM template',
      chown: 'change owner (and group)',
      chgrp: 'change group',
      chmod: 'change permissions',
      octet: 'e.g. 640 or um-u-----',
      delete: 'delete a VM template',
    },
  };
  addOwnedVerbs(template, io, { ...owned, verbs: ['update', 'rename', 'chown', 'chgrp', 'chmod'] });

  template
    .command('clone')
    .argument('<template>', 'id or name')
    .argument('<name>', 'name of the copy')
    .description('copy a VM template (the copy is yours)')
    .action(async (ref: string, name: string, _opts: unknown, cmd: Command) => {
      const client = await clientFor(cmd);
      const res = await client.request<{ ID: number }>(
        'POST',
        `/api/v1/templates/${await templateId(client, ref)}/clone`,
        { name },
      );
      io.stdout(`ID: ${res.ID}\n`);
    });

  addOwnedVerbs(template, io, { ...owned, verbs: ['delete'] });

  template
    .command('instantiate')
    .argument('<template>', 'id or name')
    .option('--name <name>', 'VM name; %i is replaced by the VM index with --multiple')
    .option('--multiple <n>', 'create n VMs (all or none)')
    .option('--hold', 'create them on HOLD instead of PENDING')
    .option('--extra <file>', 'template file merged over the template (a DISK replaces all DISKs)')
    .description('create VMs from a template')
    .action(
      async (
        ref: string,
        opts: { name?: string; multiple?: string; hold?: boolean; extra?: string },
        cmd: Command,
      ) => {
        const client = await clientFor(cmd);
        const id = await templateId(client, ref);
        const multiple =
          opts.multiple === undefined ? undefined : positiveInteger(opts.multiple, '--multiple');
        const extra = opts.extra === undefined ? undefined : await readInputText(opts.extra, io);
        const res = await client.request<{ ID: number; IDS: number[] }>(
          'POST',
          `/api/v1/templates/${id}/instantiate`,
          {
            ...(opts.name !== undefined ? { name: opts.name } : {}),
            ...(multiple !== undefined ? { multiple } : {}),
            ...(extra !== undefined ? { extra } : {}),
            hold: opts.hold === true,
          },
        );
        for (const vmId of res.IDS) io.stdout(`VM ID: ${vmId}\n`);
      },
    );
}
