/**
 * `nimbus vm` — onevm's record verbs: create, list, show, update, rename, chown, chmod, delete.
 * The lifecycle verbs (deploy, poweroff, migrate, recover, disk-attach, …) are in vm-lifecycle.ts,
 * `wait` in vm-wait.ts, `explain` in vm-explain.ts.
 */
import type { Command } from 'commander';
import { vmShortState } from '../domain/vm/index.js';
import { clientFor, resolveId, type ApiClient } from './client.js';
import {
  permissionString,
  printFields,
  printJson,
  printTable,
  printTemplate,
  type Column,
} from './output.js';
import { addOwnedVerbs } from './owned-verbs.js';
import { readInputText, type CliIo } from './program.js';
import { addExplainVerb } from './vm-explain.js';
import { addLifecycleVerbs } from './vm-lifecycle.js';
import { addWaitVerb, vmError } from './vm-wait.js';

/** A VM body as `GET /vms` (short) and `GET /vms/:id` (full) send it; list columns read only the short part. */
export interface VmBody {
  ID: number;
  UID: number;
  GID: number;
  UNAME: string;
  GNAME: string;
  NAME: string;
  STATE: number;
  LCM_STATE: number;
  STIME: number;
  ETIME: number;
  STATE_NAME?: string;
  LCM_STATE_NAME?: string;
  PERMISSIONS?: Record<string, number>;
  TEMPLATE: Record<string, unknown>;
  USER_TEMPLATE: Record<string, unknown>;
  HISTORY_RECORDS?: { HISTORY?: { HOSTNAME: string }[] };
  ALLOWED_ACTIONS?: string[];
}

const BINARY_SUFFIX = ['K', 'M', 'G', 'T'];

/** OpenNebula's `unit_to_str` for a MEMORY in MB: 512M, 1024M, 2G, 1.5G. */
export function memoryString(mb: number): string {
  let value = mb * 1024;
  let i = 0;
  while (value > 1024 && i < 3) {
    value /= 1024;
    i++;
  }
  return `${Math.round(value * 10) / 10}${BINARY_SUFFIX[i]}`;
}

/** OpenNebula's `period_to_str` without seconds: `  0d 00h05`. */
export function periodString(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const minutes = Math.floor(s / 60) % 60;
  const hours = Math.floor(s / 3600) % 24;
  const days = Math.floor(s / 86400);
  return `${String(days).padStart(3)}d ${String(hours).padStart(2, '0')}h${String(minutes).padStart(2, '0')}`;
}

function single(template: Record<string, unknown>, name: string): string {
  const v = template[name];
  return typeof v === 'string' ? v : '';
}

function hostOf(vm: VmBody): string {
  const history = vm.HISTORY_RECORDS?.HISTORY ?? [];
  return history[history.length - 1]?.HOSTNAME ?? '';
}

function ageOf(vm: VmBody, now: number): number {
  return (vm.ETIME > 0 ? vm.ETIME : now) - vm.STIME;
}

/** onevm list's columns: ID USER GROUP NAME STAT CPU MEM HOST TIME (also onehost show's VM table). */
export function vmListColumns(now: number): Column<VmBody>[] {
  return [
    { header: 'ID', value: (v) => v.ID, right: true },
    { header: 'USER', value: (v) => v.UNAME },
    { header: 'GROUP', value: (v) => v.GNAME },
    { header: 'NAME', value: (v) => v.NAME },
    { header: 'STAT', value: (v) => vmShortState(v.STATE, v.LCM_STATE) },
    { header: 'CPU', value: (v) => single(v.TEMPLATE, 'CPU'), right: true },
    { header: 'MEM', value: (v) => memoryString(Number(single(v.TEMPLATE, 'MEMORY') || 0)), right: true },
    { header: 'HOST', value: hostOf },
    { header: 'TIME', value: (v) => periodString(ageOf(v, now)), right: true },
  ];
}

async function vmId(client: ApiClient, ref: string): Promise<number> {
  return resolveId(client, 'vms', 'VM_POOL', 'VM', ref);
}

export function vmNoun(program: Command, io: CliIo): void {
  const vm = program.command('vm').description('virtual machines (onevm)');

  vm.command('create')
    .argument('<file>', 'VM template file (OpenNebula text or XML), "-" for stdin')
    .option('--hold', 'create it on HOLD instead of PENDING')
    .description('create a VM from a template file')
    .action(async (file: string, opts: { hold?: boolean }, cmd: Command) => {
      const client = await clientFor(cmd);
      const template = await readInputText(file, io);
      const res = await client.request<{ ID: number }>('POST', '/api/v1/vms', {
        template,
        hold: opts.hold === true,
      });
      io.stdout(`ID: ${res.ID}\n`);
    });

  vm.command('list')
    .argument('[filter]', 'a, m, g or a user (OpenNebula filter flag: all -2, mine -3, group -1)')
    .option('--state <n>', 'STATE number, -1 any but DONE (default), -2 any')
    .option('--json', 'print the VM_POOL as JSON')
    .description('list VMs')
    .action(async (filter: string | undefined, opts: { state?: string; json?: boolean }, cmd: Command) => {
      const client = await clientFor(cmd);
      const params = new URLSearchParams();
      const flag = await poolFilter(client, filter);
      if (flag !== undefined) params.set('filter', flag);
      if (opts.state !== undefined) params.set('state', opts.state);
      const query = params.size > 0 ? `?${params}` : '';
      const body = await client.request<{ VM_POOL: { VM: VmBody[] } }>('GET', `/api/v1/vms${query}`);
      if (opts.json === true) return printJson(io, body);
      printTable(io, vmListColumns(Math.floor(Date.now() / 1000)), body.VM_POOL.VM);
    });

  vm.command('show')
    .argument('<vm>', 'id or name')
    .option('--json', 'print the VM as JSON')
    .description('show a VM')
    .action(async (ref: string, opts: { json?: boolean }, cmd: Command) => {
      const client = await clientFor(cmd);
      const id = await vmId(client, ref);
      const body = await client.request<{ VM: VmBody }>('GET', `/api/v1/vms/${id}`);
      if (opts.json === true) return printJson(io, body);
      const v = body.VM;
      const now = Math.floor(Date.now() / 1000);
      const error = vmError(v);
      printFields(io, `VIRTUAL MACHINE ${v.ID} INFORMATION`, [
        ['ID', v.ID],
        ['NAME', v.NAME],
        ['USER', v.UNAME],
        ['GROUP', v.GNAME],
        ['STATE', v.STATE_NAME ?? String(v.STATE)],
        ['LCM_STATE', v.LCM_STATE_NAME ?? String(v.LCM_STATE)],
        ...(error !== undefined ? [['ERROR', error] as [string, string]] : []),
        ['HOST', hostOf(v)],
        ['START TIME', new Date(v.STIME * 1000).toISOString()],
        ['END TIME', v.ETIME > 0 ? new Date(v.ETIME * 1000).toISOString() : '-'],
        ['TIME', periodString(ageOf(v, now)).trim()],
        ['PERMISSIONS', permissionString(v.PERMISSIONS)],
        ['ALLOWED ACTIONS', (v.ALLOWED_ACTIONS ?? []).join(', ') || '-'],
      ]);
      printTemplate(io, 'VIRTUAL MACHINE TEMPLATE', v.TEMPLATE);
      printTemplate(io, 'USER TEMPLATE', v.USER_TEMPLATE);
    });

  addOwnedVerbs(vm, io, {
    collection: 'vms',
    pool: 'VM_POOL',
    kind: 'VM',
    arg: 'vm',
    verbs: ['update', 'rename', 'chown', 'chgrp', 'chmod', 'delete'],
    help: {
      update: 'replace or merge the USER_TEMPLATE',
      append: 'merge into the USER_TEMPLATE instead of replacing it',
      rename: 'rename a VM',
      chown: 'change owner (and group)',
      chgrp: 'change group',
      chmod: 'change permissions',
      octet: 'e.g. 640 or um-u-----',
      delete: 'end a PENDING or HOLD VM (it stays listed as DONE with --state -2)',
    },
  });

  addLifecycleVerbs(vm, io);
  addWaitVerb(vm, io);
  addExplainVerb(vm, io);
}

/** onevm list's filter argument: a (all), m (mine), g (my groups), or a user id. */
/** A list's `filter`: a, m, g, a user id (or OpenNebula's -4…-1 flags), or a user's name resolved to its id. */
export async function poolFilter(client: ApiClient, filter: string | undefined): Promise<string | undefined> {
  const flag = filterFlag(filter);
  return flag === undefined || /^-?\d+$/.test(flag)
    ? flag
    : String(await resolveId(client, 'users', 'USER_POOL', 'user', flag));
}

export function filterFlag(filter: string | undefined): string | undefined {
  switch (filter) {
    case undefined:
      return undefined;
    case 'a':
      return '-2';
    case 'm':
      return '-3';
    case 'g':
      return '-1';
    default:
      return filter;
  }
}
