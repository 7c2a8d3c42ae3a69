import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  DEFAULT_CLUSTER_ID,
  addToCluster,
  bootstrapCluster,
  checkClusterDelete,
  clusterMembers,
  isInCluster,
  moveHostToCluster,
  newClusterRecord,
  removeFromCluster,
  removeHostFromCluster,
  validateClusterName,
} from '../../../src/domain/cluster/index.js';
import { bootstrapDatastores } from '../../../src/domain/datastore/index.js';
import { newHostRecord } from '../../../src/domain/host/index.js';

const host = newHostRecord({ name: 'node1', imMad: 'kvm', vmMad: 'kvm', clusterId: 0 }, 7);
const [system, images, files] = bootstrapDatastores({ location: '/var/lib/nimbus/datastores' });

describe('cluster bootstrap', () => {
  it('cluster 0 "default" with empty reservations, holding DS 0, 1, 2', () => {
    const c = bootstrapCluster();
    assert.deepEqual(c, {
      id: 0,
      name: 'default',
      template: { RESERVED_CPU: [''], RESERVED_MEM: [''] },
      version: 0,
    });
    assert.ok(system && images && files);
    assert.deepEqual(
      clusterMembers(DEFAULT_CLUSTER_ID, { hosts: [host], datastores: [system, images, files], vnets: [] }),
      {
        hosts: [7],
        datastores: [0, 1, 2],
        vnets: [],
      },
    );
  });
  it('names', () => {
    assert.ok(validateClusterName('production').ok);
    const bad = validateClusterName('a|b');
    assert.ok(!bad.ok);
    assert.equal(bad.error.message, "Invalid NAME, char '|' is not allowed");
    assert.deepEqual(newClusterRecord(100, 'prod', { RESERVED_CPU: ['10%'] }).template, {
      RESERVED_CPU: ['10%'],
      RESERVED_MEM: [''],
    });
  });
});

describe('membership', () => {
  it('a host is in exactly one cluster: adding moves it', () => {
    const moved = moveHostToCluster(host, 100);
    assert.equal(moved.clusterId, 100);
    assert.equal(moveHostToCluster(moved, 100), moved);
    const pools = { hosts: [moved], datastores: [], vnets: [] };
    assert.deepEqual(clusterMembers(0, pools).hosts, []);
    assert.deepEqual(clusterMembers(100, pools).hosts, [7]);
  });
  it('removing a host sends it back to the default cluster', () => {
    const r = removeHostFromCluster(moveHostToCluster(host, 100), 100);
    assert.ok(r.ok);
    assert.equal(r.value.clusterId, 0);
    const wrong = removeHostFromCluster(host, 100);
    assert.ok(!wrong.ok);
    assert.equal(wrong.error.message, 'Host 7 is not in cluster 100.');
  });
  it('datastores and vnets may be in many clusters, or none', () => {
    assert.ok(images);
    const both = addToCluster(images, 100);
    assert.deepEqual(both.clusters, [0, 100]);
    assert.equal(addToCluster(both, 100), both);
    assert.ok(isInCluster(both, 100));
    const vnet = addToCluster({ id: 4, clusters: [101] }, 100);
    assert.deepEqual(vnet.clusters, [100, 101]);
    const onlyProd = removeFromCluster(both, 0);
    assert.ok(onlyProd.ok);
    assert.deepEqual(onlyProd.value.clusters, [100]);
    const none = removeFromCluster(onlyProd.value, 100);
    assert.ok(none.ok);
    assert.deepEqual(none.value.clusters, []);
    const wrong = removeFromCluster(vnet, 0);
    assert.ok(!wrong.ok);
    assert.equal(wrong.error.message, 'The object is not in cluster 0.');
  });
});

describe('delete', () => {
  const empty = { hosts: [], datastores: [], vnets: [] };
  it('system clusters (ID < 100) cannot be deleted', () => {
    const r = checkClusterDelete(bootstrapCluster(), empty);
    assert.ok(!r.ok);
    assert.equal(r.error.message, 'System Clusters (ID < 100) cannot be deleted.');
  });
  it('a cluster with members is refused with the count of the first kind found', () => {
    const c = newClusterRecord(100, 'prod');
    const cases: [typeof empty | { hosts: number[]; datastores: number[]; vnets: number[] }, string][] = [
      [{ hosts: [1, 2], datastores: [0], vnets: [] }, 'Cluster 100 is not empty, it contains 2 hosts.'],
      [{ hosts: [], datastores: [0], vnets: [3] }, 'Cluster 100 is not empty, it contains 1 datastores.'],
      [{ hosts: [], datastores: [], vnets: [3, 4, 5] }, 'Cluster 100 is not empty, it contains 3 vnets.'],
    ];
    for (const [members, message] of cases) {
      const r = checkClusterDelete(c, members);
      assert.ok(!r.ok);
      assert.equal(r.error.message, message);
      assert.equal(r.error.code, 'CLUSTER_NOT_EMPTY');
    }
    assert.ok(checkClusterDelete(c, empty).ok);
  });
});
