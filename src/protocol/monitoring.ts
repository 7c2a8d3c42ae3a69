import { Type, type Static } from 'typebox';

/**
 * `GET /api/v1/{hosts,vms}/:id/monitoring`: a time range in epoch seconds (default the last hour)
 * and a resolution: 0 for samples as reported, the bucket size for downsampled ones; absent, the
 * buckets before the raw window followed by the raw samples.
 */
export const MonitoringQuery = Type.Object(
  {
    since: Type.Optional(
      Type.Integer({ minimum: 0, description: 'epoch s, inclusive; default an hour ago' }),
    ),
    until: Type.Optional(Type.Integer({ minimum: 0, description: 'epoch s, inclusive; default now' })),
    resolution: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 86_400, description: '0 raw samples, N buckets of N s' }),
    ),
  },
  { additionalProperties: false },
);
export type MonitoringQuery = Static<typeof MonitoringQuery>;

/**
 * One record as OpenNebula's `one.vm.monitoring` / `one.host.monitoring`: TIMESTAMP, ID, the
 * figures (a VM's flat, a host's under CAPACITY and SYSTEM), SAMPLES for a bucket, RESOLUTION.
 */
export const MonitoringRecord = Type.Object(
  {
    TIMESTAMP: Type.Integer(),
    ID: Type.Integer(),
    SAMPLES: Type.Optional(Type.Integer()),
    RESOLUTION: Type.Integer(),
  },
  { additionalProperties: true },
);

export const MonitoringData = Type.Object({
  MONITORING_DATA: Type.Object({ MONITORING: Type.Array(MonitoringRecord) }),
});
export type MonitoringData = Static<typeof MonitoringData>;
