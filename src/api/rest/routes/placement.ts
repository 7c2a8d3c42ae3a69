import { VmService } from '../../../controller/vms.js';
import { authorizationMessage } from '../../../domain/auth/authorize.js';
import { NimbusError } from '../../../domain/errors.js';
import { VmState } from '../../../domain/vm/index.js';
import { ErrorBody, IdParams } from '../../../protocol/common.js';
import { Placement } from '../../../protocol/placement.js';
import { placementBody } from '../../bodies/placement.js';
import type { RestApp, RestDeps } from '../app.js';
import { callerOf } from '../request-context.js';

/**
 * `GET /api/v1/vms/:id/placement`: the scheduler's explanation of a VM, and `GET /api/v1/scheduler`:
 * its settings and latest pass (Nimbus extensions).
 */
export function registerPlacementRoutes(app: RestApp, { ctx, lifecycle }: RestDeps): void {
  const vms = new VmService(ctx);

  app.get(
    '/api/v1/vms/:id/placement',
    {
      schema: {
        tags: ['vms'],
        summary:
          'Where the scheduler would place a VM now and why not elsewhere: every host, system datastore and auto NIC network with its verdict (Nimbus extension)',
        params: IdParams,
        response: { 200: Placement, 409: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => {
      // Whoever may show the VM may see why it waits (USE, as one.vm.info).
      const { vm } = await vms.get(callerOf(request), request.params.id);
      if (vm.state === VmState.DONE)
        throw new NimbusError('ACTION_NOT_ALLOWED', `VM ${vm.id} is DONE: there is nothing to place`);
      const scheduler = lifecycle?.scheduler;
      if (scheduler === undefined)
        throw new NimbusError(
          'UNAVAILABLE',
          'the scheduler is not running in this nimbusd; try again shortly',
        );
      const explanation = await scheduler.explain(vm);
      return placementBody(vm, explanation, scheduler.pendingSince(vm.id));
    },
  );

  app.get(
    '/api/v1/scheduler',
    {
      schema: {
        tags: ['vms'],
        summary:
          'The scheduler settings (nimbusd.json "scheduler") and its latest pass: VMs seen, placed, left pending, deferred, milliseconds (oneadmin only)',
      },
    },
    async (request) => {
      const caller = callerOf(request);
      if (!caller.isOneadmin)
        throw new NimbusError(
          'AUTHORIZATION',
          authorizationMessage('scheduler', caller.uid, 'Not authorized to see the scheduler'),
        );
      const scheduler = lifecycle?.scheduler;
      if (scheduler === undefined)
        throw new NimbusError(
          'UNAVAILABLE',
          'the scheduler is not running in this nimbusd; try again shortly',
        );
      const last = scheduler.last;
      return {
        SCHEDULER: {
          CONFIG: ctx.config.scheduler,
          LAST_PASS:
            last === undefined
              ? null
              : {
                  TIME: Math.floor(last.at / 1000),
                  VMS: last.vms,
                  PLACED: last.placed,
                  UNPLACED: last.unplaced,
                  DEFERRED: last.deferred,
                  MS: last.ms,
                },
          PASSES: scheduler.passes,
        },
      };
    },
  );
}
