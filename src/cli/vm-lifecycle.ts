/**
 * `nimbus vm` — onevm's lifecycle verbs: the `one.vm.action` ones (terminate, poweroff, …),
 * deploy, migrate, recover, resize, disk-attach/detach/resize, nic-attach/detach, and log.
 * Verbs that take a range (`3 4`, `3,5`, `3..7`) act on each VM in turn and report a failure as
 * `VM 4: CODE: message`, one line each; the command then exits 2.
 */
import type { Command } from 'commander';
import { clientFor, resolveId, type ApiClient } from './client.js';
import { CliFailure, readInputText, type CliIo } from './program.js';
import {
  diskAttachSource,
  diskTemplate,
  expandVmRefs,
  integerArgument,
  migrationMode,
  nicAttachSource,
  nicTemplate,
  recoverOperation,
  resizeBody,
  sizeArgument,
  type MigrateFlags,
  type ResizeFlags,
} from './vm-arguments.js';

/** The answer of an action: the state the VM is in now and, sometimes, a remark worth printing. */
interface ActionAnswer {
  readonly ID: number;
  readonly STATE_NAME?: string;
  readonly LCM_STATE_NAME?: string;
  readonly NOTICE?: string;
  readonly DISK_ID?: number;
  readonly NIC_ID?: number;
}

/** `VM 3: <notice>` when the answer has one (a no-op, a flag already set). */
function printNotice(io: CliIo, id: number, answer: ActionAnswer | undefined): void {
  if (answer?.NOTICE !== undefined && answer.NOTICE !== '') io.stdout(`VM ${id}: ${answer.NOTICE}\n`);
}

const vmId = (client: ApiClient, ref: string): Promise<number> =>
  resolveId(client, 'vms', 'VM_POOL', 'VM', ref);
const hostId = (client: ApiClient, ref: string): Promise<number> =>
  resolveId(client, 'hosts', 'HOST_POOL', 'host', ref);
const datastoreId = (client: ApiClient, ref: string): Promise<number> =>
  resolveId(client, 'datastores', 'DATASTORE_POOL', 'datastore', ref);

/**
 * Runs `act` on each VM of `refs` in turn, once per VM. A failure does not stop the others; it is
 * printed as `VM <id or unresolved name>: <reason>`. The last failure is thrown instead of printed
 * (runCli prints it and exits 2), so every failure appears once, in order, and nothing else is
 * added to stderr.
 */
async function forEachVm(
  client: ApiClient,
  refs: readonly string[],
  io: CliIo,
  act: (id: number) => Promise<ActionAnswer | undefined>,
): Promise<void> {
  let held: string | undefined;
  const done = new Set<number>();
  for (const ref of refs) {
    let label = ref; // the id once the name is resolved
    try {
      const id = await vmId(client, ref);
      label = String(id);
      if (done.has(id)) continue; // a name and an id of the same VM
      done.add(id);
      printNotice(io, id, await act(id));
    } catch (error) {
      if (!(error instanceof CliFailure)) throw error;
      if (held !== undefined) io.stderr(`${held}\n`);
      held = `VM ${label}: ${error.message.replace(/^nimbus: /, '')}`;
    }
  }
  if (held !== undefined) throw new CliFailure(held);
}

/** The `one.vm.action` verbs; `hard` ones take `--hard` (the `-hard` action). */
const ACTION_VERBS: readonly {
  readonly verb: string;
  readonly hard: boolean;
  readonly description: string;
}[] = [
  { verb: 'terminate', hard: true, description: 'shut down and end VMs (DONE), freeing their resources' },
  {
    verb: 'undeploy',
    hard: true,
    description: 'shut down VMs and move their disks back to the system datastore',
  },
  { verb: 'poweroff', hard: true, description: 'power off VMs, keeping them on their host' },
  { verb: 'reboot', hard: true, description: 'reboot VMs (--hard: reset)' },
  { verb: 'hold', hard: false, description: 'keep PENDING VMs from being scheduled' },
  { verb: 'release', hard: false, description: 'release VMs on HOLD to PENDING' },
  { verb: 'stop', hard: false, description: 'save VMs and move them back to the system datastore' },
  { verb: 'suspend', hard: false, description: 'save VMs, keeping them on their host' },
  { verb: 'resume', hard: false, description: 'resume STOPPED, SUSPENDED, POWEROFF or UNDEPLOYED VMs' },
  { verb: 'resched', hard: false, description: 'ask the scheduler to move VMs to another host' },
  { verb: 'unresched', hard: false, description: 'clear the resched flag' },
];

const RANGE_HELP = 'ids, names or ranges: 3 4, 3,5, 3..7';

export function addLifecycleVerbs(vm: Command, io: CliIo): void {
  for (const { verb, hard, description } of ACTION_VERBS) {
    const command = vm.command(verb).argument('<vms...>', RANGE_HELP).description(description);
    if (hard) command.option('--hard', `${verb}-hard: do not wait for the guest`);
    command.action(async (refs: string[], opts: { hard?: boolean }, cmd: Command) => {
      const action = opts.hard === true ? `${verb}-hard` : verb;
      const vms = expandVmRefs(refs);
      const client = await clientFor(cmd);
      await forEachVm(client, vms, io, (id) =>
        client.request<ActionAnswer>('POST', `/api/v1/vms/${id}/action`, { action }),
      );
    });
  }

  vm.command('deploy')
    .argument('<vms>', RANGE_HELP.replace('3 4, ', ''))
    .argument('<host>', 'host (id or name)')
    .argument('[datastore]', 'system datastore (id or name); default: the cluster default')
    .option('--enforce', 'refuse when the host lacks the capacity')
    .description('deploy PENDING, HOLD, STOPPED or UNDEPLOYED VMs on a host')
    .action(
      async (
        range: string,
        host: string,
        datastore: string | undefined,
        opts: { enforce?: boolean },
        cmd: Command,
      ) => {
        const vms = expandVmRefs([range]);
        const client = await clientFor(cmd);
        const body = {
          host: await hostId(client, host),
          ...(datastore !== undefined ? { datastore: await datastoreId(client, datastore) } : {}),
          ...(opts.enforce === true ? { enforce: true } : {}),
        };
        await forEachVm(client, vms, io, (id) =>
          client.request<ActionAnswer>('POST', `/api/v1/vms/${id}/deploy`, body),
        );
      },
    );

  vm.command('migrate')
    .argument('<vms>', RANGE_HELP.replace('3 4, ', ''))
    .argument('<host>', 'destination host (id or name)')
    .argument('[datastore]', 'destination system datastore (id or name); default: keep')
    .option('--live', 'move the running VM without stopping it')
    .option('--poweroff', 'power the VM off, move it, boot it again')
    .option('--poweroff-hard', 'as --poweroff without waiting for the guest')
    .option('--enforce', 'refuse when the host lacks the capacity')
    .description('move VMs to another host')
    .action(
      async (
        range: string,
        host: string,
        datastore: string | undefined,
        opts: MigrateFlags & { enforce?: boolean },
        cmd: Command,
      ) => {
        const mode = migrationMode(opts);
        const vms = expandVmRefs([range]);
        const client = await clientFor(cmd);
        const body = {
          host: await hostId(client, host),
          ...(datastore !== undefined ? { datastore: await datastoreId(client, datastore) } : {}),
          ...mode,
          ...(opts.enforce === true ? { enforce: true } : {}),
        };
        await forEachVm(client, vms, io, (id) =>
          client.request<ActionAnswer>('POST', `/api/v1/vms/${id}/migrate`, body),
        );
      },
    );

  vm.command('recover')
    .argument('<vms...>', RANGE_HELP)
    .option('--success', 'the pending step succeeded: move on as if the driver had said so')
    .option('--failure', 'the pending step failed: move to its *_FAILURE state')
    .option('--retry', 'run the failed step again')
    .option('--delete', 'end the VM (DONE), cleaning up on its host')
    .option('--recreate', 'end the VM and make it PENDING again with the same id (delete-recreate)')
    .option('--delete-db', 'drop the VM from the database without any driver action')
    .description('get a VM out of a stuck or failure state (exactly one operation)')
    .action(async (refs: string[], opts: Record<string, unknown>, cmd: Command) => {
      const operation = recoverOperation(opts);
      const vms = expandVmRefs(refs);
      const client = await clientFor(cmd);
      await forEachVm(client, vms, io, (id) =>
        client.request<ActionAnswer>('POST', `/api/v1/vms/${id}/recover`, { operation }),
      );
    });

  vm.command('resize')
    .argument('<vm>', 'id or name')
    .option('--cpu <cpu>', 'CPU share, e.g. 0.5 or 2')
    .option('--vcpu <n>', 'virtual CPUs')
    .option('--memory <size>', 'memory: 512 (MB), 512M, 2G')
    .option('--enforce', 'refuse when the host lacks the capacity')
    .description('change the CPU, VCPU and MEMORY of a VM (POWEROFF or UNDEPLOYED)')
    .action(async (ref: string, opts: ResizeFlags, cmd: Command) => {
      const body = resizeBody(opts);
      const client = await clientFor(cmd);
      const id = await vmId(client, ref);
      printNotice(io, id, await client.request<ActionAnswer>('POST', `/api/v1/vms/${id}/resize`, body));
    });

  vm.command('disk-attach')
    .argument('<vm>', 'id or name')
    .option('--image <image>', 'image to attach (id or name)')
    .option('--target <target>', 'TARGET device, e.g. vdb')
    .option('--cache <mode>', 'CACHE: default, none, writethrough, writeback, directsync or unsafe')
    .option('--file <file>', 'a DISK = [ ... ] template file, "-" for stdin')
    .description('attach a disk to a VM (RUNNING or POWEROFF); prints DISK_ID: N')
    .action(async (ref: string, opts: Parameters<typeof diskAttachSource>[0], cmd: Command) => {
      const source = diskAttachSource(opts);
      const client = await clientFor(cmd);
      const id = await vmId(client, ref);
      const template =
        source.kind === 'file'
          ? await readInputText(source.file, io)
          : diskTemplate(await resolveId(client, 'images', 'IMAGE_POOL', 'image', source.image), source);
      const res = await client.request<ActionAnswer>('POST', `/api/v1/vms/${id}/disks`, { template });
      if (res.DISK_ID !== undefined) io.stdout(`DISK_ID: ${res.DISK_ID}\n`);
      printNotice(io, id, res);
    });

  vm.command('disk-detach')
    .argument('<vm>', 'id or name')
    .argument('<disk_id>', 'DISK_ID')
    .description('detach a disk from a VM (RUNNING or POWEROFF)')
    .action(async (ref: string, disk: string, _opts: unknown, cmd: Command) => {
      const diskId = integerArgument(disk, 'DISK_ID', 0);
      const client = await clientFor(cmd);
      const id = await vmId(client, ref);
      printNotice(io, id, await client.request<ActionAnswer>('DELETE', `/api/v1/vms/${id}/disks/${diskId}`));
    });

  vm.command('disk-resize')
    .argument('<vm>', 'id or name')
    .argument('<disk_id>', 'DISK_ID')
    .argument('<size>', 'new size: 10240 (MB), 10G')
    .description('grow a disk of a VM (RUNNING, POWEROFF or UNDEPLOYED)')
    .action(async (ref: string, disk: string, sizeText: string, _opts: unknown, cmd: Command) => {
      const diskId = integerArgument(disk, 'DISK_ID', 0);
      const size = sizeArgument(sizeText, 'SIZE');
      const client = await clientFor(cmd);
      const id = await vmId(client, ref);
      const path = `/api/v1/vms/${id}/disks/${diskId}/resize`;
      printNotice(io, id, await client.request<ActionAnswer>('POST', path, { size }));
    });

  vm.command('nic-attach')
    .argument('<vm>', 'id or name')
    .option('--network <vnet>', 'virtual network (id or name)')
    .option('--ip <ip>', 'IPv4 address to lease from it')
    .option('--file <file>', 'a NIC = [ ... ] template file, "-" for stdin')
    .description('attach a network interface to a VM (RUNNING or POWEROFF); prints NIC_ID: N')
    .action(async (ref: string, opts: Parameters<typeof nicAttachSource>[0], cmd: Command) => {
      const source = nicAttachSource(opts);
      const client = await clientFor(cmd);
      const id = await vmId(client, ref);
      const template =
        source.kind === 'file'
          ? await readInputText(source.file, io)
          : nicTemplate(await resolveId(client, 'vnets', 'VNET_POOL', 'vnet', source.network), source);
      const res = await client.request<ActionAnswer>('POST', `/api/v1/vms/${id}/nics`, { template });
      if (res.NIC_ID !== undefined) io.stdout(`NIC_ID: ${res.NIC_ID}\n`);
      printNotice(io, id, res);
    });

  vm.command('nic-detach')
    .argument('<vm>', 'id or name')
    .argument('<nic_id>', 'NIC_ID')
    .description('detach a network interface from a VM (RUNNING or POWEROFF)')
    .action(async (ref: string, nic: string, _opts: unknown, cmd: Command) => {
      const nicId = integerArgument(nic, 'NIC_ID', 0);
      const client = await clientFor(cmd);
      const id = await vmId(client, ref);
      printNotice(io, id, await client.request<ActionAnswer>('DELETE', `/api/v1/vms/${id}/nics/${nicId}`));
    });

  vm.command('log')
    .argument('<vm>', 'id or name')
    .option('--lines <n>', 'only the last N lines')
    .description("print a VM's log (vm.log: state changes, driver messages)")
    .action(async (ref: string, opts: { lines?: string }, cmd: Command) => {
      const lines = opts.lines === undefined ? undefined : integerArgument(opts.lines, '--lines', 1);
      const client = await clientFor(cmd);
      const id = await vmId(client, ref);
      const query = lines === undefined ? '' : `?lines=${lines}`;
      const text: unknown = await client.request('GET', `/api/v1/vms/${id}/log${query}`, undefined, {
        accept: 'text/plain',
      });
      // ApiClient parses answers that look like JSON: a log that does (a lone number) is printed back as text
      const log = text === undefined ? '' : typeof text === 'string' ? text : JSON.stringify(text);
      io.stdout(log === '' || log.endsWith('\n') ? log : `${log}\n`);
    });
}
