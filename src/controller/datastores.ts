import { mkdir, statfs } from 'node:fs/promises';
import type { AuthObject } from '../domain/auth/authorize.js';
import { defaultPermissions, parseChmod, parseUmask } from '../domain/auth/permissions.js';
import {
  applyDatastoreMonitor,
  newDatastoreRecord,
  setDatastoreEnabled,
  validateDatastoreTemplate,
  type DatastoreRecord,
} from '../domain/datastore/index.js';
import { NimbusError } from '../domain/errors.js';
import { applyTemplateUpdate } from '../domain/template/index.js';
import type { Template } from '../domain/template/types.js';
import type { Repositories } from '../store/index.js';
import type { Caller } from './caller.js';
import type { ControllerContext } from './context.js';
import { assertNameFree, clusterAuthObject } from './hosts.js';
import { checkedName, ownedAuthObject, planChown, planPermissionBits } from './ownership.js';
import { unwrap } from './results.js';

const ALL = { limit: 1_000_000 };
const MB = 1024 * 1024;
/** A FREE_MB drift alone is stored at most this often per datastore. */
const STORE_INTERVAL_S = 10;

export function datastoreAuthObject(ds: DatastoreRecord): AuthObject {
  return ownedAuthObject('DATASTORE', ds, ds.clusters);
}

/** A datastore as shown: the record (capacity refreshed) and the images it holds. */
export interface DatastoreView {
  readonly datastore: DatastoreRecord;
  readonly images: readonly number[];
}

/**
 * Datastores (`onedatastore`). Capacity: TOTAL_MB and FREE_MB are the file system of BASE_PATH
 * (statfs), USED_MB the sum of the sizes of the images it holds; measured whenever a datastore is
 * shown or listed, and stored as a DS monitor report.
 */
export class DatastoreService {
  readonly #storedAt = new Map<number, number>();

  constructor(private readonly ctx: ControllerContext) {}

  /** `one.datastore.allocate`: owned by the caller, BASE_PATH `<location>/<id>` created now. */
  async create(caller: Caller, template: Template, clusterId?: number): Promise<number> {
    this.ctx.authorize(caller, { operation: 'CREATE', type: 'DATASTORE' }, 'one.datastore.allocate');
    const spec = unwrap(validateDatastoreTemplate(template, this.ctx.config.datastoreLocation));
    const umask = parseUmask(caller.umask);
    const permissions = defaultPermissions({
      uid: caller.uid,
      gid: caller.gid,
      ...(umask.ok ? { umask: umask.value } : {}),
    });
    return this.ctx.store.transaction(async (tx) => {
      const cluster = await tx.clusters.get(clusterId ?? 0);
      if (clusterId !== undefined) {
        this.ctx.authorize(
          caller,
          { operation: 'ADMIN', object: clusterAuthObject(cluster) },
          'one.datastore.allocate',
        );
      }
      await assertNameFree(tx.datastores, 'DATASTORE', spec.name);
      const identity = { uid: caller.uid, gid: caller.gid, permissions, clusters: [cluster.id] };
      const expected = await tx.sequences.peek('datastore');
      const id = await tx.datastores.insert(newDatastoreRecord(spec, { ...identity, id: expected }));
      // BASE_PATH carries the id: fix it up if another insert took the id we expected.
      const ds = newDatastoreRecord(spec, { ...identity, id });
      if (id !== expected) await tx.datastores.update(ds);
      try {
        await mkdir(ds.basePath, { recursive: true, mode: 0o750 });
      } catch (error) {
        throw new NimbusError(
          'DATASTORE_PATH',
          `cannot create BASE_PATH ${ds.basePath}: ${(error as Error).message}`,
          'BASE_PATH',
        );
      }
      return id;
    });
  }

  /** Measures a datastore's capacity now (the scheduler's view of system datastores). */
  async measure(ds: DatastoreRecord): Promise<DatastoreRecord> {
    return (await this.view(ds)).datastore;
  }

  async get(caller: Caller, id: number): Promise<DatastoreView> {
    const ds = await this.ctx.store.datastores.get(id);
    this.ctx.authorize(caller, { operation: 'USE', object: datastoreAuthObject(ds) }, 'one.datastore.info');
    return this.view(ds);
  }

  /** Datastores the caller may USE (ACL rules by id, group and cluster included). */
  async list(
    caller: Caller,
    filter: { name?: string | undefined; cluster?: number | undefined } = {},
  ): Promise<DatastoreView[]> {
    const all = await this.ctx.store.datastores.list(
      {
        ...(filter.name !== undefined ? { nameContains: filter.name } : {}),
        ...(filter.cluster !== undefined ? { clusterId: filter.cluster } : {}),
      },
      ALL,
    );
    const visible = all.items.filter((ds) =>
      caller.authorizer.allows({ operation: 'USE', object: datastoreAuthObject(ds) }),
    );
    return Promise.all(visible.map((ds) => this.view(ds)));
  }

  async setEnabled(caller: Caller, id: number, enabled: boolean): Promise<void> {
    await this.modify(caller, id, 'one.datastore.enable', (ds) => ({
      operation: 'MANAGE',
      next: unwrap(setDatastoreEnabled(ds, enabled)),
    }));
  }

  /**
   * `one.datastore.update`: the result is validated as a new datastore's template would be (DS_MAD,
   * TM_MAD, TYPE, DISK_TYPE ...); BASE_PATH cannot move, and TYPE cannot change while images are
   * in the datastore.
   */
  async updateTemplate(caller: Caller, id: number, template: Template, merge: boolean): Promise<void> {
    await this.modify(caller, id, 'one.datastore.update', async (ds, tx) => {
      const merged = applyTemplateUpdate(ds.template, template, merge);
      const spec = unwrap(
        validateDatastoreTemplate(
          { ...merged, NAME: [ds.name], BASE_PATH: [ds.basePath.replace(/\/[^/]*$/, '') || '/'] },
          this.ctx.config.datastoreLocation,
        ),
      );
      if (spec.type !== ds.type && (await tx.images.count({ datastoreId: id })) > 0) {
        throw new NimbusError(
          'IN_USE',
          `datastore ${id} "${ds.name}" holds images: its TYPE cannot change`,
          'TYPE',
        );
      }
      return {
        operation: 'MANAGE',
        next: {
          ...ds,
          type: spec.type,
          dsMad: spec.dsMad,
          tmMad: spec.tmMad,
          diskType: spec.diskType,
          template: spec.template,
        },
      };
    });
  }

  async rename(caller: Caller, id: number, name: string): Promise<void> {
    const valid = checkedName(name.trim(), 'NAME');
    await this.modify(caller, id, 'one.datastore.rename', async (ds, tx) => {
      await assertNameFree(tx.datastores, 'DATASTORE', valid, id);
      return { operation: 'MANAGE', next: { ...ds, name: valid } };
    });
  }

  /** ADMIN on the datastore, MANAGE on the new owner, USE on the new group; -1 keeps a field. */
  async chown(caller: Caller, id: number, uid = -1, gid = -1): Promise<void> {
    await this.ctx.store.transaction(
      async (tx) => {
        const ds = await tx.datastores.get(id);
        const owner = await planChown(
          tx,
          this.ctx,
          caller,
          datastoreAuthObject(ds),
          { uid, gid },
          'one.datastore.chown',
        );
        const next = { ...ds, ...owner };
        if (next.uid !== ds.uid || next.gid !== ds.gid) await tx.datastores.update(next);
      },
      { retries: 3 },
    );
  }

  async chmod(caller: Caller, id: number, octet: string): Promise<void> {
    const bits = unwrap(parseChmod(octet));
    await this.modify(caller, id, 'one.datastore.chmod', (ds) => {
      const plan = planPermissionBits(caller, ds.permissions, bits);
      return { operation: plan.operation, next: { ...ds, permissions: plan.permissions } };
    });
  }

  /** Refused while the datastore holds images (OpenNebula: "Datastore N is not empty."). */
  async delete(caller: Caller, id: number): Promise<void> {
    await this.ctx.store.transaction(async (tx) => {
      const ds = await tx.datastores.get(id);
      this.ctx.authorize(
        caller,
        { operation: 'ADMIN', object: datastoreAuthObject(ds) },
        'one.datastore.delete',
      );
      const images = await tx.images.count({ datastoreId: id });
      if (images > 0) {
        throw new NimbusError(
          'IN_USE',
          `Datastore ${id} "${ds.name}" is not empty: it holds ${images} image${images === 1 ? '' : 's'}; delete them first`,
        );
      }
      await tx.datastores.delete(id, ds.version);
    });
    this.#storedAt.delete(id);
  }

  /**
   * The images of the datastore and its capacity, measured now (a statfs and a sum). The figures
   * are stored when TOTAL_MB or USED_MB changed, or FREE_MB drifted and the last write is a few
   * seconds old: reads do not turn into a write each.
   */
  private async view(ds: DatastoreRecord): Promise<DatastoreView> {
    const images = (await this.ctx.store.images.list({ datastoreId: ds.id }, ALL)).items;
    const ids = images.map((i) => i.id);
    const fs = await measureFileSystem(ds.basePath);
    if (fs === undefined) return { datastore: ds, images: ids };
    const usedMb = images.reduce((sum, image) => sum + Math.max(0, image.size), 0);
    const measured = applyDatastoreMonitor(ds, { ...fs, usedMb });
    const now = this.ctx.now();
    const due =
      measured.totalMb !== ds.totalMb ||
      measured.usedMb !== ds.usedMb ||
      (measured.freeMb !== ds.freeMb && now - (this.#storedAt.get(ds.id) ?? 0) >= STORE_INTERVAL_S);
    if (!due) return { datastore: measured, images: ids };
    this.#storedAt.set(ds.id, now);
    const stored = await this.ctx.store.transaction(
      async (tx) =>
        tx.datastores.update(applyDatastoreMonitor(await tx.datastores.get(ds.id), { ...fs, usedMb })),
      { retries: 3 },
    );
    return { datastore: stored, images: ids };
  }

  private async modify(
    caller: Caller,
    id: number,
    method: string,
    change: (
      ds: DatastoreRecord,
      tx: Repositories,
    ) =>
      | { operation: 'MANAGE' | 'ADMIN'; next: DatastoreRecord }
      | Promise<{ operation: 'MANAGE' | 'ADMIN'; next: DatastoreRecord }>,
  ): Promise<void> {
    await this.ctx.store.transaction(
      async (tx) => {
        const ds = await tx.datastores.get(id);
        // MANAGE first, so that a caller without rights learns nothing from validation errors.
        this.ctx.authorize(caller, { operation: 'MANAGE', object: datastoreAuthObject(ds) }, method);
        const { operation, next } = await change(ds, tx);
        if (operation !== 'MANAGE')
          this.ctx.authorize(caller, { operation, object: datastoreAuthObject(ds) }, method);
        if (next !== ds) await tx.datastores.update(next);
      },
      { retries: 3 },
    );
  }
}

/** TOTAL_MB and FREE_MB (space available to unprivileged writers) of the file system at `path`. */
async function measureFileSystem(path: string): Promise<{ totalMb: number; freeMb: number } | undefined> {
  try {
    const fs = await statfs(path);
    return {
      totalMb: Math.floor((fs.blocks * fs.bsize) / MB),
      freeMb: Math.floor((fs.bavail * fs.bsize) / MB),
    };
  } catch {
    return undefined;
  }
}
