import { NimbusError } from '../../../domain/errors.js';
import { getVectors } from '../../../domain/template/attributes.js';
import { lcmStateName, stateName, type RecoverOpName, type UserAction } from '../../../domain/vm/index.js';
import type { LifecycleRequest, StepAnswer } from '../../../controller/lifecycle/engine.js';
import { templateFromInput } from '../../../controller/template-input.js';
import { ownedAuthObject } from '../../../controller/ownership.js';
import { IdParams } from '../../../protocol/common.js';
import {
  DiskParams,
  DiskResize,
  NicParams,
  VmAction,
  VmActionAnswer,
  VmAttach,
  VmDeploy,
  VmLogQuery,
  VmMigrate,
  VmRecover,
  VmResize,
} from '../../../protocol/vm-actions.js';
import type { RestApp, RestDeps } from '../app.js';
import { callerOf } from '../request-context.js';

const tags = ['vm lifecycle'];
const response = { 200: VmActionAnswer };

function answer(a: StepAnswer, extra: Record<string, number> = {}) {
  return {
    ID: a.vm.id,
    STATE: a.vm.state,
    LCM_STATE: a.vm.lcmState,
    STATE_NAME: stateName(a.vm.state),
    LCM_STATE_NAME: lcmStateName(a.vm.lcmState),
    ...(a.notice !== undefined ? { NOTICE: a.notice } : {}),
    ...extra,
  };
}

function migrateAction(body: VmMigrate): UserAction {
  if (body.live === true && body.poweroff !== undefined) {
    throw new NimbusError('INVALID_ARGUMENT', 'live and poweroff cannot be combined', 'live');
  }
  if (body.live === true) return 'live-migrate';
  if (body.poweroff === 'soft') return 'poweroff-migrate';
  if (body.poweroff === 'hard') return 'poweroff-hard-migrate';
  return 'migrate';
}

/** The one element of a DISK / NIC attach template. */
function element(input: unknown, kind: 'DISK' | 'NIC') {
  const template = templateFromInput(input);
  const list = getVectors(template, kind);
  if (list.length !== 1) {
    throw new NimbusError(
      'TEMPLATE_INVALID',
      `the template must hold exactly one ${kind} = [ ... ] vector`,
      'template',
    );
  }
  return list[0]!;
}

/** `onevm` lifecycle verbs: actions, deploy, migrate, recover, resize, disk/NIC hotplug, log. */
export function registerVmLifecycleRoutes(app: RestApp, { ctx, lifecycle }: RestDeps): void {
  const engine = () => {
    if (lifecycle === undefined) throw new NimbusError('UNAVAILABLE', 'the lifecycle engine is not running');
    return lifecycle.engine;
  };
  const run = (
    request: { params: { id: number } },
    caller: ReturnType<typeof callerOf>,
    req: LifecycleRequest,
  ) => engine().request(caller, request.params.id, req);

  app.post(
    '/api/v1/vms/:id/action',
    {
      schema: {
        tags,
        summary: 'onevm terminate | poweroff | reboot | suspend | resume | hold | …',
        params: IdParams,
        body: VmAction,
        response,
      },
    },
    async (request) => answer(await run(request, callerOf(request), { action: request.body.action })),
  );

  app.post(
    '/api/v1/vms/:id/deploy',
    {
      schema: {
        tags,
        summary: 'Deploy a PENDING/HOLD/STOPPED/UNDEPLOYED VM on a host',
        params: IdParams,
        body: VmDeploy,
        response,
      },
    },
    async (request) => {
      const b = request.body;
      return answer(
        await run(request, callerOf(request), {
          action: 'deploy',
          hostId: b.host,
          ...(b.datastore !== undefined ? { datastoreId: b.datastore } : {}),
          enforce: b.enforce ?? false,
        }),
      );
    },
  );

  app.post(
    '/api/v1/vms/:id/migrate',
    {
      schema: {
        tags,
        summary: 'Migrate (cold, live, or powered off) to another host',
        params: IdParams,
        body: VmMigrate,
        response,
      },
    },
    async (request) => {
      const b = request.body;
      return answer(
        await run(request, callerOf(request), {
          action: migrateAction(b),
          hostId: b.host,
          ...(b.datastore !== undefined ? { datastoreId: b.datastore } : {}),
          enforce: b.enforce ?? false,
        }),
      );
    },
  );

  app.post(
    '/api/v1/vms/:id/recover',
    {
      schema: {
        tags,
        summary: 'Recover: success, failure, retry, delete, delete-recreate, delete-db',
        params: IdParams,
        body: VmRecover,
        response,
      },
    },
    async (request) =>
      answer(
        await engine().recover(callerOf(request), request.params.id, request.body.operation as RecoverOpName),
      ),
  );

  app.post(
    '/api/v1/vms/:id/resize',
    {
      schema: {
        tags,
        summary: 'Change CPU, VCPU and MEMORY (MB)',
        params: IdParams,
        body: VmResize,
        response,
      },
    },
    async (request) => {
      const b = request.body;
      return answer(
        await run(request, callerOf(request), {
          action: 'resize',
          resize: {
            ...(b.CPU !== undefined ? { cpu: b.CPU } : {}),
            ...(b.VCPU !== undefined ? { vcpu: b.VCPU } : {}),
            ...(b.MEMORY !== undefined ? { memory: b.MEMORY } : {}),
          },
          enforce: b.enforce ?? false,
        }),
      );
    },
  );

  app.post(
    '/api/v1/vms/:id/disks',
    {
      schema: {
        tags,
        summary: 'Attach a disk (DISK = [ IMAGE_ID = … ])',
        params: IdParams,
        body: VmAttach,
        response,
      },
    },
    async (request) => {
      const a = await run(request, callerOf(request), {
        action: 'disk-attach',
        element: () => element(request.body.template, 'DISK'),
      });
      return answer(a, a.elementId !== undefined ? { DISK_ID: a.elementId } : {});
    },
  );

  app.delete(
    '/api/v1/vms/:id/disks/:diskId',
    { schema: { tags, summary: 'Detach a disk', params: DiskParams, response } },
    async (request) =>
      answer(await run(request, callerOf(request), { action: 'disk-detach', diskId: request.params.diskId })),
  );

  app.post(
    '/api/v1/vms/:id/disks/:diskId/resize',
    { schema: { tags, summary: 'Grow a disk (MB)', params: DiskParams, body: DiskResize, response } },
    async (request) =>
      answer(
        await run(request, callerOf(request), {
          action: 'disk-resize',
          diskId: request.params.diskId,
          size: request.body.size,
        }),
      ),
  );

  app.post(
    '/api/v1/vms/:id/nics',
    {
      schema: {
        tags,
        summary: 'Attach a NIC (NIC = [ NETWORK_ID = … ])',
        params: IdParams,
        body: VmAttach,
        response,
      },
    },
    async (request) => {
      const a = await run(request, callerOf(request), {
        action: 'nic-attach',
        element: () => element(request.body.template, 'NIC'),
      });
      return answer(a, a.elementId !== undefined ? { NIC_ID: a.elementId } : {});
    },
  );

  app.delete(
    '/api/v1/vms/:id/nics/:nicId',
    { schema: { tags, summary: 'Detach a NIC', params: NicParams, response } },
    async (request) =>
      answer(await run(request, callerOf(request), { action: 'nic-detach', nicId: request.params.nicId })),
  );

  app.get(
    '/api/v1/vms/:id/log',
    { schema: { tags, summary: "The VM's vm.log (text)", params: IdParams, querystring: VmLogQuery } },
    async (request, reply) => {
      const vm = await ctx.store.vms.get(request.params.id);
      ctx.authorize(
        callerOf(request),
        { operation: 'USE', object: ownedAuthObject('VM', vm), ignoreLock: true },
        'one.vm.info',
      );
      const text = await engine().logs.read(vm.id, request.query.lines);
      return reply.type('text/plain; charset=utf-8').send(text);
    },
  );
}
