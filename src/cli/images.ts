/**
 * `nimbus image` — oneimage's verbs: create, upload, list, show, update, rename, chown, chgrp,
 * chmod, clone, delete, enable, disable, persistent, nonpersistent, chtype.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import {
  imageStateShortName,
  imageTypeName,
  imageTypeShortName,
  isLockedState,
} from '../domain/image/enums.js';
import { clientFor, resolveId, type ApiClient } from './client.js';
import { permissionString, printFields, printJson, printTable, printTemplate } from './output.js';
import { CliFailure, readInputText, type CliIo } from './program.js';
import { addOwnedVerbs } from './owned-verbs.js';

interface ImageBody {
  ID: number;
  UID: number;
  GID: number;
  UNAME: string;
  GNAME: string;
  NAME: string;
  PERMISSIONS: Record<string, number>;
  TYPE: number;
  PERSISTENT: number;
  REGTIME: number;
  SOURCE: string;
  PATH: string;
  FORMAT: string;
  SIZE: number;
  STATE: number;
  RUNNING_VMS: number;
  DATASTORE_ID: number;
  DATASTORE: string;
  VMS: { ID: number[] };
  TEMPLATE: Record<string, unknown>;
  PROGRESS?: { BYTES: number; TOTAL: number; PERCENT: number };
}

const ERROR_STATE = 5;
const POLL_MS = 200;

/** OpenNebula's `unit_to_str` for MB: 10M, 2.2G, 2G (a unit up only above 1024). */
export function sizeString(mb: number): string {
  const units = ['M', 'G', 'T', 'P'];
  let value = mb;
  let i = 0;
  while (value > 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  const rounded = Math.round(value * 10) / 10;
  return `${Number.isInteger(rounded) ? rounded.toFixed(0) : rounded.toFixed(1)}${units[i]}`;
}

/** `MM/DD HH:MM:SS` in local time, as oneimage prints REGTIME. */
function timeString(epoch: number): string {
  const d = new Date(epoch * 1000);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(d.getMonth() + 1)}/${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** A progress bar on stderr, or nothing when stderr is not a terminal or --no-progress. */
interface ProgressView {
  update(bytes: number, total: number): void;
  stop(): void;
}

function progressView(enabled: boolean, label: string): ProgressView {
  if (!enabled || process.stderr.isTTY !== true) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% | {value}/{total} MB`,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(bytes, total) {
      const mb = Math.floor(bytes / 1024 / 1024);
      const totalMb = Math.max(mb, Math.ceil(total / 1024 / 1024), 1);
      if (!started) {
        bar.start(totalMb, mb);
        started = true;
      } else {
        bar.setTotal(totalMb);
        bar.update(mb);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** Polls the image until its copy ends; ERROR (or a delete meanwhile) is a failure. */
async function waitForCopy(client: ApiClient, id: number, view: ProgressView): Promise<void> {
  try {
    for (;;) {
      let image: ImageBody;
      try {
        image = (await client.request<{ IMAGE: ImageBody }>('GET', `/api/v1/images/${id}`)).IMAGE;
      } catch (error) {
        if (error instanceof CliFailure && error.message.includes('NOT_FOUND')) {
          throw new CliFailure(`nimbus: NOT_FOUND: image ${id} was deleted before its copy ended`);
        }
        throw error;
      }
      if (image.PROGRESS !== undefined) view.update(image.PROGRESS.BYTES, image.PROGRESS.TOTAL);
      if (!isLockedState(image.STATE)) {
        if (image.STATE === ERROR_STATE) {
          const reason = typeof image.TEMPLATE.ERROR === 'string' ? image.TEMPLATE.ERROR : 'the copy failed';
          throw new CliFailure(`nimbus: IMAGE_ERROR: image ${id}: ${reason}`);
        }
        if (image.PROGRESS === undefined && image.SIZE > 0)
          view.update(image.SIZE * 1024 * 1024, image.SIZE * 1024 * 1024);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    view.stop();
  }
}

interface CreateOptions {
  datastore: string;
  name?: string;
  path?: string;
  type?: string;
  persistent?: boolean;
  size?: string;
  format?: string;
  description?: string;
  prefix?: string;
  driver?: string;
  wait: boolean;
  progress: boolean;
}

/** The template of `create --name … --path …|--size …`, as JSON. */
function templateFromOptions(opts: CreateOptions): Record<string, string> {
  if (opts.name === undefined) {
    throw new CliFailure('nimbus: give a template FILE, or --name with --path or --size');
  }
  if (opts.path === undefined && opts.size === undefined) {
    throw new CliFailure('nimbus: give --path (a file on the nimbusd machine) or --size (an empty disk, MB)');
  }
  const template: Record<string, string> = { NAME: opts.name };
  if (opts.path !== undefined) template.PATH = opts.path;
  if (opts.size !== undefined) template.SIZE = opts.size;
  const type = opts.type ?? (opts.path === undefined ? 'DATABLOCK' : undefined);
  if (type !== undefined) template.TYPE = type.toUpperCase();
  if (opts.persistent === true) template.PERSISTENT = 'YES';
  if (opts.format !== undefined) template.FORMAT = opts.format;
  if (opts.description !== undefined) template.DESCRIPTION = opts.description;
  if (opts.prefix !== undefined) template.DEV_PREFIX = opts.prefix;
  if (opts.driver !== undefined) template.DRIVER = opts.driver;
  return template;
}

export function imageNoun(program: Command, io: CliIo): void {
  const image = program.command('image').description('images (oneimage)');
  const imageId = (client: ApiClient, ref: string): Promise<number> =>
    resolveId(client, 'images', 'IMAGE_POOL', 'image', ref);
  const datastoreId = (client: ApiClient, ref: string): Promise<number> =>
    resolveId(client, 'datastores', 'DATASTORE_POOL', 'datastore', ref);

  image
    .command('create')
    .argument('[file]', 'image template file ("-" for stdin); or use the options below')
    .requiredOption('-d, --datastore <datastore>', 'datastore (id or name)')
    .option('--name <name>', 'image name')
    .option('--path <path>', 'file on the nimbusd machine to copy (SAFE_DIRS of the datastore)')
    .option('--type <type>', 'OS, CDROM, DATABLOCK, KERNEL, RAMDISK or CONTEXT')
    .option('--persistent', 'make the image persistent')
    .option('--size <mb>', 'empty disk of this size in MB (DATABLOCK)')
    .option('--format <format>', 'raw or qcow2')
    .option('--description <text>', 'DESCRIPTION')
    .option('--prefix <prefix>', 'DEV_PREFIX: hd, sd or vd')
    .option('--driver <driver>', 'DRIVER: raw or qcow2')
    .option('--no-wait', 'return once the image is registered (LOCKED), without waiting for READY')
    .option('--no-progress', 'no progress bar')
    .description('register an image from a template, a local PATH, or as an empty datablock')
    .action(async (file: string | undefined, opts: CreateOptions, cmd: Command) => {
      const client = await clientFor(cmd);
      let template: string | Record<string, string>;
      if (file !== undefined) {
        if (opts.name !== undefined || opts.path !== undefined || opts.size !== undefined) {
          throw new CliFailure('nimbus: give a template FILE or --name/--path/--size, not both');
        }
        template = await readInputText(file, io);
      } else {
        template = templateFromOptions(opts);
      }
      const datastore = await datastoreId(client, opts.datastore);
      const res = await client.request<{ ID: number }>('POST', '/api/v1/images', { template, datastore });
      io.stdout(`ID: ${res.ID}\n`);
      if (opts.wait) await waitForCopy(client, res.ID, progressView(opts.progress, `image ${res.ID}`));
    });

  image
    .command('upload')
    .argument('<file>', 'local file to upload')
    .requiredOption('-d, --datastore <datastore>', 'datastore (id or name)')
    .option('--name <name>', 'image name (default: the file name)')
    .option('--type <type>', 'OS, CDROM, DATABLOCK, KERNEL, RAMDISK or CONTEXT')
    .option('--persistent', 'make the image persistent')
    .option('--format <format>', 'raw or qcow2 (default: detected)')
    .option('--description <text>', 'DESCRIPTION')
    .option('--no-progress', 'no progress bar')
    .description('upload a local file as a new image (streamed; READY when the command ends)')
    .action(
      async (
        file: string,
        opts: {
          datastore: string;
          name?: string;
          type?: string;
          persistent?: boolean;
          format?: string;
          description?: string;
          progress: boolean;
        },
        cmd: Command,
      ) => {
        let size: number;
        try {
          const info = await stat(file);
          if (!info.isFile()) throw new CliFailure(`nimbus: ${file}: not a regular file`);
          size = info.size;
        } catch (error) {
          if (error instanceof CliFailure) throw error;
          const code = (error as NodeJS.ErrnoException).code;
          throw new CliFailure(
            `nimbus: ${file}: ${code === 'ENOENT' ? 'no such file or directory' : (error as Error).message}`,
          );
        }
        const client = await clientFor(cmd);
        const datastore = await datastoreId(client, opts.datastore);
        const query = new URLSearchParams({
          datastore: String(datastore),
          name: opts.name ?? basename(file),
          size: String(size),
        });
        if (opts.type !== undefined) query.set('type', opts.type.toUpperCase());
        if (opts.persistent === true) query.set('persistent', 'true');
        if (opts.format !== undefined) query.set('format', opts.format);
        if (opts.description !== undefined) query.set('description', opts.description);

        const view = progressView(opts.progress, 'upload');
        let sent = 0;
        const counted = (
          Readable.toWeb(createReadStream(file, { highWaterMark: 1024 * 1024 })) as ReadableStream<Uint8Array>
        ).pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              sent += chunk.byteLength;
              view.update(sent, size);
              controller.enqueue(chunk);
            },
          }),
        );
        let res: { ID: number };
        try {
          res = await client.request<{ ID: number }>(
            'POST',
            `/api/v1/images/upload?${query.toString()}`,
            counted,
            {
              'content-type': 'application/octet-stream',
            },
          );
        } finally {
          view.stop();
        }
        io.stdout(`ID: ${res.ID}\n`);
      },
    );

  image
    .command('list')
    .option('--json', 'print the IMAGE_POOL as JSON')
    .description('list images')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const body = await (
        await clientFor(cmd)
      ).request<{ IMAGE_POOL: { IMAGE: ImageBody[] } }>('GET', '/api/v1/images');
      if (opts.json === true) return printJson(io, body);
      printTable<ImageBody>(
        io,
        [
          { header: 'ID', value: (i) => i.ID, right: true },
          { header: 'USER', value: (i) => i.UNAME },
          { header: 'GROUP', value: (i) => i.GNAME },
          { header: 'NAME', value: (i) => i.NAME },
          { header: 'DATASTORE', value: (i) => i.DATASTORE },
          { header: 'SIZE', value: (i) => sizeString(i.SIZE), right: true },
          { header: 'TYPE', value: (i) => imageTypeShortName(i.TYPE) },
          { header: 'PER', value: (i) => (i.PERSISTENT === 1 ? 'Yes' : 'No') },
          { header: 'STAT', value: (i) => imageStateShortName(i.STATE) },
          { header: 'RVMS', value: (i) => i.RUNNING_VMS, right: true },
        ],
        body.IMAGE_POOL.IMAGE,
      );
    });

  image
    .command('show')
    .argument('<image>', 'id or name')
    .option('--json', 'print the IMAGE as JSON')
    .description('show an image')
    .action(async (ref: string, opts: { json?: boolean }, cmd: Command) => {
      const client = await clientFor(cmd);
      const id = await imageId(client, ref);
      const body = await client.request<{ IMAGE: ImageBody }>('GET', `/api/v1/images/${id}`);
      if (opts.json === true) return printJson(io, body);
      const i = body.IMAGE;
      const fields: [string, string | number][] = [
        ['ID', i.ID],
        ['NAME', i.NAME],
        ['USER', i.UNAME],
        ['GROUP', i.GNAME],
        ['DATASTORE', i.DATASTORE],
        ['TYPE', imageTypeName(i.TYPE)],
        ['REGISTER TIME', timeString(i.REGTIME)],
        ['PERSISTENT', i.PERSISTENT === 1 ? 'Yes' : 'No'],
        ['SOURCE', i.SOURCE],
        ['PATH', i.PATH],
        ['FORMAT', i.FORMAT],
        ['SIZE', sizeString(i.SIZE)],
        ['STATE', imageStateShortName(i.STATE)],
        ['RUNNING_VMS', i.RUNNING_VMS],
      ];
      if (i.PROGRESS !== undefined) fields.push(['PROGRESS', `${i.PROGRESS.PERCENT}%`]);
      printFields(io, `IMAGE ${i.ID} INFORMATION`, fields);
      const perms = permissionString(i.PERMISSIONS);
      io.stdout('\n');
      printFields(io, 'PERMISSIONS', [
        ['OWNER', perms.slice(0, 3)],
        ['GROUP', perms.slice(3, 6)],
        ['OTHER', perms.slice(6, 9)],
      ]);
      printTemplate(io, 'IMAGE TEMPLATE', i.TEMPLATE);
      if (i.VMS.ID.length > 0) io.stdout(`\nVIRTUAL MACHINES\n${i.VMS.ID.join(',')}\n`);
    });

  const simple = (verb: string, description: string, method: string, path: (id: number) => string): void => {
    image
      .command(verb)
      .argument('<image>', 'id or name')
      .description(description)
      .action(async (ref: string, _opts: unknown, cmd: Command) => {
        const client = await clientFor(cmd);
        await client.request(method, path(await imageId(client, ref)));
      });
  };
  simple(
    'delete',
    'delete an image and its file (cancels a copy in progress)',
    'DELETE',
    (id) => `/api/v1/images/${id}`,
  );
  simple('enable', 'enable an image', 'POST', (id) => `/api/v1/images/${id}/enable`);
  simple('disable', 'disable an image', 'POST', (id) => `/api/v1/images/${id}/disable`);
  simple('persistent', 'make an image persistent', 'POST', (id) => `/api/v1/images/${id}/persistent`);
  simple(
    'nonpersistent',
    'make an image non-persistent',
    'POST',
    (id) => `/api/v1/images/${id}/nonpersistent`,
  );

  addOwnedVerbs(image, io, {
    collection: 'images',
    pool: 'IMAGE_POOL',
    kind: 'image',
    arg: 'image',
    verbs: ['update', 'rename', 'chown', 'chgrp', 'chmod'],
    help: { update: 'replace or merge the image template', rename: 'rename an image' },
  });

  image
    .command('clone')
    .argument('<image>', 'id or name')
    .argument('<name>', 'name of the new image')
    .option('-d, --datastore <datastore>', 'datastore of the copy (default: the same)')
    .option('--no-wait', 'return at once, while the copy is LOCKED')
    .option('--no-progress', 'no progress bar')
    .description('clone an image')
    .action(
      async (
        ref: string,
        name: string,
        opts: { datastore?: string; wait: boolean; progress: boolean },
        cmd: Command,
      ) => {
        const client = await clientFor(cmd);
        const id = await imageId(client, ref);
        const datastore =
          opts.datastore === undefined ? undefined : await datastoreId(client, opts.datastore);
        const res = await client.request<{ ID: number }>('POST', `/api/v1/images/${id}/clone`, {
          name,
          ...(datastore !== undefined ? { datastore } : {}),
        });
        io.stdout(`ID: ${res.ID}\n`);
        if (opts.wait) await waitForCopy(client, res.ID, progressView(opts.progress, `image ${res.ID}`));
      },
    );

  image
    .command('chtype')
    .argument('<image>', 'id or name')
    .argument('<type>', 'OS, CDROM, DATABLOCK, KERNEL, RAMDISK or CONTEXT')
    .description('change the image type')
    .action(async (ref: string, type: string, _opts: unknown, cmd: Command) => {
      const client = await clientFor(cmd);
      await client.request('POST', `/api/v1/images/${await imageId(client, ref)}/chtype`, { type });
    });
}
