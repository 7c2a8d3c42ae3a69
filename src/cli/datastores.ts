/** `nimbus datastore` — onedatastore's verbs: create, list, show, update, rename, chown, chmod, enable, disable, delete. */
import type { Command } from 'commander';
import { clientFor, resolveId, type ApiClient } from './client.js';
import { unitToStr } from './hosts.js';
import { permissionString, printFields, printJson, printTable, printTemplate } from './output.js';
import { addOwnedVerbs } from './owned-verbs.js';
import { readInputText, type CliIo } from './program.js';

interface DatastoreBody {
  ID: number;
  NAME: string;
  UNAME: string;
  GNAME: string;
  PERMISSIONS: Record<string, number>;
  DS_MAD: string;
  TM_MAD: string;
  BASE_PATH: string;
  TYPE: number;
  TYPE_NAME: string;
  DISK_TYPE_NAME: string;
  STATE: number;
  STATE_NAME: string;
  CLUSTERS: { ID: number[] };
  TOTAL_MB: number;
  FREE_MB: number;
  USED_MB: number;
  IMAGES: { ID: number[] };
  TEMPLATE: Record<string, unknown>;
}

const TYPE_SHORT = ['img', 'sys', 'fil', 'bck'];
const STATE_SHORT = ['on', 'off'];

export function datastoreNoun(program: Command, io: CliIo): void {
  const datastore = program.command('datastore').description('datastores (onedatastore)');
  const idOf = (client: ApiClient, ref: string): Promise<number> =>
    resolveId(client, 'datastores', 'DATASTORE_POOL', 'datastore', ref);

  datastore
    .command('create')
    .argument('<file>', 'datastore template (NAME, TYPE, DS_MAD, TM_MAD ...), "-" for stdin')
    .option('--cluster <cluster>', 'cluster (id or name), default 0')
    .description('create a datastore')
    .action(async (file: string, opts: { cluster?: string }, cmd: Command) => {
      const client = await clientFor(cmd);
      const template = await readInputText(file, io);
      const cluster =
        opts.cluster === undefined
          ? undefined
          : await resolveId(client, 'clusters', 'CLUSTER_POOL', 'cluster', opts.cluster);
      const res = await client.request<{ ID: number }>('POST', '/api/v1/datastores', {
        template,
        ...(cluster !== undefined ? { cluster } : {}),
      });
      io.stdout(`ID: ${res.ID}\n`);
    });

  datastore
    .command('list')
    .option('--json', 'print the DATASTORE_POOL as JSON')
    .description('list datastores')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const body = await (
        await clientFor(cmd)
      ).request<{ DATASTORE_POOL: { DATASTORE: DatastoreBody[] } }>('GET', '/api/v1/datastores');
      if (opts.json === true) return printJson(io, body);
      printTable<DatastoreBody>(
        io,
        [
          { header: 'ID', value: (d) => d.ID, right: true },
          { header: 'NAME', value: (d) => d.NAME },
          {
            header: 'SIZE',
            value: (d) => (d.TOTAL_MB === 0 ? '-' : unitToStr(d.TOTAL_MB, 'M')),
            right: true,
          },
          {
            header: 'AVA',
            value: (d) => (d.TOTAL_MB === 0 ? '-' : `${Math.round((d.FREE_MB / d.TOTAL_MB) * 100)}%`),
            right: true,
          },
          { header: 'CLUSTERS', value: (d) => d.CLUSTERS.ID.join(',') || '-' },
          { header: 'IMAGES', value: (d) => d.IMAGES.ID.length, right: true },
          { header: 'TYPE', value: (d) => TYPE_SHORT[d.TYPE] ?? '-' },
          { header: 'DS', value: (d) => d.DS_MAD },
          { header: 'TM', value: (d) => d.TM_MAD },
          { header: 'STAT', value: (d) => STATE_SHORT[d.STATE] ?? '-' },
        ],
        body.DATASTORE_POOL.DATASTORE,
      );
    });

  datastore
    .command('show')
    .argument('<datastore>', 'id or name')
    .option('--json', 'print the DATASTORE as JSON')
    .description('show a datastore: capacity, images')
    .action(async (ref: string, opts: { json?: boolean }, cmd: Command) => {
      const client = await clientFor(cmd);
      const body = await client.request<{ DATASTORE: DatastoreBody }>(
        'GET',
        `/api/v1/datastores/${await idOf(client, ref)}`,
      );
      if (opts.json === true) return printJson(io, body);
      const d = body.DATASTORE;
      printFields(io, `DATASTORE ${d.ID} INFORMATION`, [
        ['ID', d.ID],
        ['NAME', d.NAME],
        ['USER', d.UNAME],
        ['GROUP', d.GNAME],
        ['CLUSTERS', d.CLUSTERS.ID.join(',') || '-'],
        ['TYPE', d.TYPE_NAME],
        ['DS_MAD', d.DS_MAD],
        ['TM_MAD', d.TM_MAD],
        ['BASE PATH', d.BASE_PATH],
        ['DISK_TYPE', d.DISK_TYPE_NAME],
        ['STATE', d.STATE_NAME],
        ['PERMISSIONS', permissionString(d.PERMISSIONS)],
      ]);
      io.stdout('\n');
      printFields(io, 'DATASTORE CAPACITY', [
        ['TOTAL', unitToStr(d.TOTAL_MB, 'M')],
        ['FREE', unitToStr(d.FREE_MB, 'M')],
        ['USED', unitToStr(d.USED_MB, 'M')],
      ]);
      printTemplate(io, 'DATASTORE TEMPLATE', d.TEMPLATE);
      io.stdout(`\nIMAGES\n${d.IMAGES.ID.length === 0 ? '-' : d.IMAGES.ID.join(',')}\n`);
    });

  const simple = (verb: string, description: string, method: string, path: (id: number) => string): void => {
    datastore
      .command(verb)
      .argument('<datastore>', 'id or name')
      .description(description)
      .action(async (ref: string, _opts: unknown, cmd: Command) => {
        const client = await clientFor(cmd);
        await client.request(method, path(await idOf(client, ref)));
      });
  };
  simple('enable', 'enable a system datastore', 'POST', (id) => `/api/v1/datastores/${id}/enable`);
  simple(
    'disable',
    'disable a system datastore (no new VMs)',
    'POST',
    (id) => `/api/v1/datastores/${id}/disable`,
  );
  simple('delete', 'delete a datastore without images', 'DELETE', (id) => `/api/v1/datastores/${id}`);

  addOwnedVerbs(datastore, io, {
    collection: 'datastores',
    pool: 'DATASTORE_POOL',
    kind: 'datastore',
    arg: 'datastore',
    verbs: ['update', 'rename', 'chown', 'chgrp', 'chmod'],
    help: {
      update: 'replace or merge the datastore template',
      rename: 'rename a datastore',
      name: 'new name',
      chown: 'change the owner and optionally the group',
      user: 'new owner (id or name)',
      group: 'new group (id or name)',
    },
  });
}
