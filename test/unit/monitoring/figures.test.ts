import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  hostFigures,
  hostMonitoringAttributes,
  mergeSeries,
  monitoringRecord,
  vmFigures,
} from '../../../src/domain/monitoring/index.js';

const host = {
  HYPERVISOR: 'dummy',
  TOTALCPU: 1600,
  TOTALMEMORY: 67108864,
  USEDCPU: 250.5,
  FREECPU: 1349.5,
  USEDMEMORY: 1048576,
  FREEMEMORY: 66060288,
  NETRX: 1000,
  NETTX: 2000,
  CPUSPEED: 2400,
  MODELNAME: 'Nimbus dummy CPU',
  ARCH: 'x86_64',
};

describe('monitoring figures', () => {
  it('a host sample keeps the numbers of the report, not its names', () => {
    assert.deepEqual(hostFigures(host), {
      TOTALCPU: 1600,
      TOTALMEMORY: 67108864,
      USEDCPU: 250.5,
      FREECPU: 1349.5,
      USEDMEMORY: 1048576,
      FREEMEMORY: 66060288,
      NETRX: 1000,
      NETTX: 2000,
      CPUSPEED: 2400,
    });
    assert.deepEqual(hostFigures({ TOTALCPU: Number.NaN, USEDCPU: '5' }), {});
  });

  it("the host record's MONITORING uses OpenNebula's stored names, as text", () => {
    assert.deepEqual(hostMonitoringAttributes(host), {
      FREE_CPU: '1349.5',
      USED_CPU: '250.5',
      FREE_MEMORY: '66060288',
      USED_MEMORY: '1048576',
      NETRX: '1000',
      NETTX: '2000',
      CPU_SPEED: '2400',
    });
    assert.deepEqual(hostMonitoringAttributes({ ...host, CPUSPEED: undefined }).CPU_SPEED, undefined);
  });

  it('a VM sample keeps the §12.3 figures and DISK_SIZE as reported', () => {
    const monitor = {
      CPU: 12.5,
      MEMORY: 524288,
      NETRX: 1,
      NETTX: 2,
      DISKRDBYTES: 3,
      DISKWRBYTES: 4,
      DISKRDIOPS: 5,
      DISKWRIOPS: 6,
      DISK_SIZE: [{ ID: 0, SIZE: 10240 }],
      STATE: 'RUNNING',
    };
    const { STATE: _state, ...figures } = monitor;
    assert.deepEqual(vmFigures(monitor), figures);
    assert.deepEqual(vmFigures({ CPU: 'x', DISK_SIZE: 'none' }), {});
  });
});

describe('monitoring series', () => {
  it('buckets that start before the first raw sample, then the raw samples', () => {
    const buckets = [
      { ts: 0, data: { CPU: 1, SAMPLES: 30 } },
      { ts: 900, data: { CPU: 2, SAMPLES: 30 } },
      { ts: 1800, data: { CPU: 3, SAMPLES: 2 } },
    ];
    const raw = [
      { ts: 1860, data: { CPU: 4 } },
      { ts: 1830, data: { CPU: 5 } },
    ];
    assert.deepEqual(
      mergeSeries(raw, buckets, 900).map((p) => [p.ts, p.resolution]),
      [
        [0, 900],
        [900, 900],
        [1800, 900],
        [1830, 0],
        [1860, 0],
      ],
    );
    assert.equal(mergeSeries([], buckets, 900).length, 3);
    assert.deepEqual(
      mergeSeries([{ ts: 900, data: {} }], buckets, 900).map((p) => p.ts),
      [0, 900],
    );
  });

  it('renders records as one.vm.monitoring / one.host.monitoring', () => {
    assert.deepEqual(
      monitoringRecord('vm', 7, {
        ts: 100,
        resolution: 0,
        data: { CPU: 1.5, DISK_SIZE: [{ ID: 0, SIZE: 1 }] },
      }),
      { TIMESTAMP: 100, ID: 7, CPU: 1.5, DISK_SIZE: [{ ID: 0, SIZE: 1 }], RESOLUTION: 0 },
    );
    assert.deepEqual(
      Object.keys(monitoringRecord('vm', 7, { ts: 0, resolution: 900, data: { SAMPLES: 30, CPU: 2 } })),
      ['TIMESTAMP', 'ID', 'CPU', 'SAMPLES', 'RESOLUTION'],
    );
    assert.deepEqual(monitoringRecord('host', 3, { ts: 100, resolution: 0, data: hostFigures(host) }), {
      TIMESTAMP: 100,
      ID: 3,
      CAPACITY: {
        FREE_CPU: 1349.5,
        FREE_MEMORY: 66060288,
        USED_CPU: 250.5,
        USED_MEMORY: 1048576,
        TOTAL_CPU: 1600,
        TOTAL_MEMORY: 67108864,
      },
      SYSTEM: { NETRX: 1000, NETTX: 2000, CPU_SPEED: 2400 },
      RESOLUTION: 0,
    });
  });
});
