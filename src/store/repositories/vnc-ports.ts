import type { Executor } from '../executor.js';

/**
 * VNC ports held per cluster (reference §8.1: OpenNebula's per-cluster bitmap). A VM holds one
 * port in the cluster it runs in, and during a migration between clusters one in each.
 */
export interface VncPortRepository {
  /** The VM holding `port` in the cluster, if any. */
  holder(clusterId: number, port: number): Promise<number | undefined>;
  /** Ports held in the cluster. */
  taken(clusterId: number): Promise<Set<number>>;
  /** Holds `port` in the cluster for the VM (idempotent for the same VM). */
  take(clusterId: number, port: number, vmId: number): Promise<void>;
  /** Gives back the VM's ports: all of them, or those in one cluster. */
  release(vmId: number, clusterId?: number): Promise<void>;
}

export function createVncPortRepository(exec: Executor): VncPortRepository {
  return {
    async holder(clusterId, port) {
      const row = await exec.db
        .selectFrom('vnc_ports')
        .select('vm_id')
        .where('cluster_id', '=', clusterId)
        .where('port', '=', port)
        .executeTakeFirst();
      return row === undefined ? undefined : Number(row.vm_id);
    },
    async taken(clusterId) {
      const rows = await exec.db
        .selectFrom('vnc_ports')
        .select('port')
        .where('cluster_id', '=', clusterId)
        .execute();
      return new Set(rows.map((r) => Number(r.port)));
    },
    async take(clusterId, port, vmId) {
      const held = await this.holder(clusterId, port);
      if (held === vmId) return;
      await exec.db.insertInto('vnc_ports').values({ cluster_id: clusterId, port, vm_id: vmId }).execute();
    },
    async release(vmId, clusterId) {
      let q = exec.db.deleteFrom('vnc_ports').where('vm_id', '=', vmId);
      if (clusterId !== undefined) q = q.where('cluster_id', '=', clusterId);
      await q.execute();
    },
  };
}
