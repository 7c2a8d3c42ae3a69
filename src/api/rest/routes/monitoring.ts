import type { SeriesQuery } from '../../../controller/monitoring.js';
import { NimbusError } from '../../../domain/errors.js';
import { monitoringRecord } from '../../../domain/monitoring/index.js';
import { ErrorBody, IdParams } from '../../../protocol/common.js';
import { MonitoringData, MonitoringQuery } from '../../../protocol/monitoring.js';
import type { RestApp, RestDeps } from '../app.js';
import { callerOf } from '../request-context.js';

/** Default range of a monitoring request: the last hour. */
const DEFAULT_SPAN_S = 3_600;

/** Host and VM monitoring records (`onehost monitoring`, `onevm monitoring`). */
export function registerMonitoringRoutes(app: RestApp, { ctx, monitoring }: RestDeps): void {
  for (const kind of ['host', 'vm'] as const) {
    const collection = kind === 'host' ? 'hosts' : 'vms';
    app.get(
      `/api/v1/${collection}/:id/monitoring`,
      {
        schema: {
          tags: [collection],
          summary:
            kind === 'host'
              ? 'Monitoring records of a host (one.host.monitoring)'
              : 'Monitoring records of a VM (one.vm.monitoring)',
          params: IdParams,
          querystring: MonitoringQuery,
          response: { 200: MonitoringData, 503: ErrorBody },
        },
      },
      async (request, reply) => {
        if (monitoring === undefined) {
          return reply.status(503).send({
            code: 'UNAVAILABLE',
            message: 'monitoring is not running in this nimbusd; try again shortly',
          });
        }
        const now = ctx.now();
        const { id } = request.params;
        const q = request.query;
        const query: SeriesQuery = {
          since: q.since ?? now - DEFAULT_SPAN_S,
          until: q.until,
          resolution: q.resolution,
        };
        if (query.until !== undefined && query.until < query.since) {
          throw new NimbusError(
            'VALIDATION',
            `until (${query.until}) is before since (${query.since})`,
            'querystring/until',
          );
        }
        const caller = callerOf(request);
        const points =
          kind === 'host'
            ? await monitoring.hostSeries(caller, id, query)
            : await monitoring.vmSeries(caller, id, query);
        return {
          MONITORING_DATA: {
            MONITORING: points.map((p) => monitoringRecord(kind, id, p)),
          },
        };
      },
    );
  }
}
