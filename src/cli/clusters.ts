/** `nimbus cluster` — onecluster's verbs: create, list, show, rename, update, delete, add/del host, datastore, vnet. */
import type { Command } from 'commander';
import { clientFor, resolveId, type ApiClient } from './client.js';
import { printFields, printJson, printTable, printTemplate } from './output.js';
import { readInputText, type CliIo } from './program.js';

interface ClusterBody {
  ID: number;
  NAME: string;
  HOSTS: { ID: number[] };
  DATASTORES: { ID: number[] };
  VNETS: { ID: number[] };
  TEMPLATE: Record<string, unknown>;
}

const MEMBERS = [
  { word: 'host', collection: 'hosts', pool: 'HOST_POOL' },
  { word: 'datastore', collection: 'datastores', pool: 'DATASTORE_POOL' },
  { word: 'vnet', collection: 'vnets', pool: 'VNET_POOL' },
] as const;

export function clusterNoun(program: Command, io: CliIo): void {
  const cluster = program.command('cluster').description('clusters (onecluster)');
  const idOf = (client: ApiClient, ref: string): Promise<number> =>
    resolveId(client, 'clusters', 'CLUSTER_POOL', 'cluster', ref);

  cluster
    .command('create')
    .argument('<name>')
    .description('create a cluster')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const res = await (await clientFor(cmd)).request<{ ID: number }>('POST', '/api/v1/clusters', { name });
      io.stdout(`ID: ${res.ID}\n`);
    });

  cluster
    .command('list')
    .option('--json', 'print the CLUSTER_POOL as JSON')
    .description('list clusters')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const body = await (
        await clientFor(cmd)
      ).request<{ CLUSTER_POOL: { CLUSTER: ClusterBody[] } }>('GET', '/api/v1/clusters');
      if (opts.json === true) return printJson(io, body);
      printTable<ClusterBody>(
        io,
        [
          { header: 'ID', value: (c) => c.ID, right: true },
          { header: 'NAME', value: (c) => c.NAME },
          { header: 'HOSTS', value: (c) => c.HOSTS.ID.length, right: true },
          { header: 'VNETS', value: (c) => c.VNETS.ID.length, right: true },
          { header: 'DATASTORES', value: (c) => c.DATASTORES.ID.length, right: true },
        ],
        body.CLUSTER_POOL.CLUSTER,
      );
    });

  cluster
    .command('show')
    .argument('<cluster>', 'id or name')
    .option('--json', 'print the CLUSTER as JSON')
    .description('show a cluster and its members')
    .action(async (ref: string, opts: { json?: boolean }, cmd: Command) => {
      const client = await clientFor(cmd);
      const body = await client.request<{ CLUSTER: ClusterBody }>(
        'GET',
        `/api/v1/clusters/${await idOf(client, ref)}`,
      );
      if (opts.json === true) return printJson(io, body);
      const c = body.CLUSTER;
      printFields(io, `CLUSTER ${c.ID} INFORMATION`, [
        ['ID', c.ID],
        ['NAME', c.NAME],
      ]);
      printTemplate(io, 'CLUSTER TEMPLATE', c.TEMPLATE);
      const ids = (list: number[]): string => (list.length === 0 ? '-' : list.join(','));
      io.stdout(
        `\nHOSTS\n${ids(c.HOSTS.ID)}\n\nVNETS\n${ids(c.VNETS.ID)}\n\nDATASTORES\n${ids(c.DATASTORES.ID)}\n`,
      );
    });

  cluster
    .command('rename')
    .argument('<cluster>', 'id or name')
    .argument('<name>', 'new name')
    .description('rename a cluster')
    .action(async (ref: string, name: string, _opts: unknown, cmd: Command) => {
      const client = await clientFor(cmd);
      await client.request('POST', `/api/v1/clusters/${await idOf(client, ref)}/rename`, { name });
    });

  cluster
    .command('update')
    .argument('<cluster>', 'id or name')
    .argument('<file>', 'template file, "-" for stdin')
    .option('--append', 'merge into the template instead of replacing it')
    .description('replace or merge the cluster template')
    .action(async (ref: string, file: string, opts: { append?: boolean }, cmd: Command) => {
      const client = await clientFor(cmd);
      const id = await idOf(client, ref);
      const template = await readInputText(file, io);
      await client.request('PUT', `/api/v1/clusters/${id}/template`, {
        template,
        merge: opts.append === true,
      });
    });

  cluster
    .command('delete')
    .argument('<cluster>', 'id or name')
    .description('delete an empty cluster')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const client = await clientFor(cmd);
      await client.request('DELETE', `/api/v1/clusters/${await idOf(client, ref)}`);
    });

  for (const m of MEMBERS) {
    for (const [verb, method, description] of [
      ['add', 'PUT', `add a ${m.word} to the cluster`],
      ['del', 'DELETE', `remove a ${m.word} from the cluster`],
    ] as const) {
      cluster
        .command(`${verb}${m.word}`)
        .argument('<cluster>', 'id or name')
        .argument(`<${m.word}>`, 'id or name')
        .description(description)
        .action(async (ref: string, memberRef: string, _opts: unknown, cmd: Command) => {
          const client = await clientFor(cmd);
          const id = await idOf(client, ref);
          const member = await resolveId(client, m.collection, m.pool, m.word, memberRef);
          await client.request(method, `/api/v1/clusters/${id}/${m.collection}/${member}`);
        });
    }
  }
}
