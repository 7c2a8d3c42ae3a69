/**
 * The verbs every owned object (image, vnet, VM, VM template, datastore) has the same way:
 * update, rename, chown, chgrp, chmod and delete. Each noun passes its route, pool and help texts;
 * a noun whose verb differs (another order of steps, another route, an extra option) keeps its own.
 */
import type { Command } from 'commander';
import { clientFor, resolveId, type ApiClient } from './client.js';
import { readInputText, type CliIo } from './program.js';

export type OwnedVerb = 'update' | 'rename' | 'chown' | 'chgrp' | 'chmod' | 'delete';

/** Help texts; those left out take the defaults in `DEFAULT_HELP`. */
export interface OwnedVerbsHelp {
  /** `rename`'s description. */
  readonly rename: string;
  /** `update`'s description (needed when `update` is registered). */
  readonly update?: string;
  /** `delete`'s description (needed when `delete` is registered). */
  readonly delete?: string;
  readonly append?: string;
  readonly chown?: string;
  readonly chgrp?: string;
  readonly chmod?: string;
  /** Descriptions of the `<name>`, `<user>`, `<group>` and `<octet>` arguments. */
  readonly name?: string;
  readonly user?: string;
  readonly group?: string;
  readonly octet?: string;
}

export interface OwnedVerbsSpec {
  /** The API collection, `/api/v1/<collection>`, also where names are looked up. */
  readonly collection: string;
  /** The list answer's pool key, e.g. `IMAGE_POOL`. */
  readonly pool: string;
  /** The object in error messages, e.g. `image`. */
  readonly kind: string;
  /** The object argument's name, e.g. `image` for `<image>`. */
  readonly arg: string;
  /** The verbs to register, in this order. */
  readonly verbs: readonly OwnedVerb[];
  readonly help: OwnedVerbsHelp;
}

const DEFAULT_HELP = {
  append: 'merge into the template instead of replacing it',
  chown: 'change the owner (and group)',
  chgrp: 'change the group',
  chmod: 'change the permissions',
  user: 'id or name',
  group: 'id or name',
  octet: 'permissions, e.g. 640 or um-u-----',
} as const;

function required(text: string | undefined, verb: OwnedVerb): string {
  if (text === undefined) throw new Error(`owned verbs: no description for ${verb}`);
  return text;
}

/** Registers `spec.verbs` on `noun`, each as `nimbus <noun> <verb> <object> …`. */
export function addOwnedVerbs(noun: Command, io: CliIo, spec: OwnedVerbsSpec): void {
  const { collection, help } = spec;
  const object = `<${spec.arg}>`;
  const idOf = (client: ApiClient, ref: string): Promise<number> =>
    resolveId(client, collection, spec.pool, spec.kind, ref);
  const chownGroup = (client: ApiClient, groupRef: string): Promise<number> =>
    resolveId(client, 'groups', 'GROUP_POOL', 'group', groupRef);

  const register: Record<OwnedVerb, () => void> = {
    update: () => {
      noun
        .command('update')
        .argument(object, 'id or name')
        .argument('<file>', 'template file, "-" for stdin')
        .option('--append', help.append ?? DEFAULT_HELP.append)
        .description(required(help.update, 'update'))
        .action(async (ref: string, file: string, opts: { append?: boolean }, cmd: Command) => {
          const client = await clientFor(cmd);
          const id = await idOf(client, ref);
          const template = await readInputText(file, io);
          await client.request('PUT', `/api/v1/${collection}/${id}/template`, {
            template,
            merge: opts.append === true,
          });
        });
    },
    rename: () => {
      noun
        .command('rename')
        .argument(object, 'id or name')
        .argument('<name>', help.name)
        .description(help.rename)
        .action(async (ref: string, name: string, _opts: unknown, cmd: Command) => {
          const client = await clientFor(cmd);
          await client.request('POST', `/api/v1/${collection}/${await idOf(client, ref)}/rename`, { name });
        });
    },
    chown: () => {
      noun
        .command('chown')
        .argument(object, 'id or name')
        .argument('<user>', help.user ?? DEFAULT_HELP.user)
        .argument('[group]', help.group ?? DEFAULT_HELP.group)
        .description(help.chown ?? DEFAULT_HELP.chown)
        .action(
          async (
            ref: string,
            userRef: string,
            groupRef: string | undefined,
            _opts: unknown,
            cmd: Command,
          ) => {
            const client = await clientFor(cmd);
            const id = await idOf(client, ref);
            const uid = await resolveId(client, 'users', 'USER_POOL', 'user', userRef);
            const gid = groupRef === undefined ? -1 : await chownGroup(client, groupRef);
            await client.request('POST', `/api/v1/${collection}/${id}/chown`, { uid, gid });
          },
        );
    },
    chgrp: () => {
      noun
        .command('chgrp')
        .argument(object, 'id or name')
        .argument('<group>', help.group ?? DEFAULT_HELP.group)
        .description(help.chgrp ?? DEFAULT_HELP.chgrp)
        .action(async (ref: string, groupRef: string, _opts: unknown, cmd: Command) => {
          const client = await clientFor(cmd);
          const id = await idOf(client, ref);
          const gid = await chownGroup(client, groupRef);
          await client.request('POST', `/api/v1/${collection}/${id}/chown`, { uid: -1, gid });
        });
    },
    chmod: () => {
      noun
        .command('chmod')
        .argument(object, 'id or name')
        .argument('<octet>', help.octet ?? DEFAULT_HELP.octet)
        .description(help.chmod ?? DEFAULT_HELP.chmod)
        .action(async (ref: string, octet: string, _opts: unknown, cmd: Command) => {
          const client = await clientFor(cmd);
          await client.request('POST', `/api/v1/${collection}/${await idOf(client, ref)}/chmod`, { octet });
        });
    },
    delete: () => {
      noun
        .command('delete')
        .argument(object, 'id or name')
        .description(required(help.delete, 'delete'))
        .action(async (ref: string, _opts: unknown, cmd: Command) => {
          const client = await clientFor(cmd);
          await client.request('DELETE', `/api/v1/${collection}/${await idOf(client, ref)}`);
        });
    },
  };

  for (const verb of spec.verbs) register[verb]();
}
