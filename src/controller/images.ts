import type { AuthObject } from '../domain/auth/authorize.js';
import { defaultPermissions, parseChmod, parseUmask } from '../domain/auth/permissions.js';
import {
  checkImageFits,
  decideImagePath,
  DatastoreType,
  imagePathPolicyOf,
  isPersistentOnly,
  releaseCapacity,
  reserveCapacity,
  type DatastoreRecord,
} from '../domain/datastore/index.js';
import { NimbusError } from '../domain/errors.js';
import {
  allocateClone,
  allocateImage,
  changeImageType,
  completeCopy,
  copiedLogLine,
  enableImage,
  failCopy,
  failDelete,
  finishCloneFrom,
  ImageState,
  isLockedState,
  planImageDelete,
  setImagePersistent,
  startCloneFrom,
  validateImageTemplate,
  type DsCopyOperation,
  type ImageCreateSpec,
  type ImageDefaults,
  type ImageRecord,
} from '../domain/image/index.js';
import { singleAttr, withAttr } from '../domain/image/attributes.js';
import { applyTemplateUpdate } from '../domain/template/index.js';
import type { Template } from '../domain/template/types.js';
import type { ImageFilter, PageResult, Repositories } from '../store/index.js';
import type { Caller } from './caller.js';
import type { ControllerContext } from './context.js';
import {
  bytesToMb,
  CopyCancelled,
  CopyJobs,
  createEmptyDisk,
  discardFile,
  newSourcePath,
  openLocalImage,
  probeImage,
  removeImageFile,
  resolveLocalPath,
  writeImageFile,
  type CopyJob,
  type CopyProgress,
  type DiskFormat,
  type ImageHashes,
} from './image-copy.js';
import { chargeQuota, releaseQuota } from './quotas.js';
import { datastoreAuthObject } from './datastores.js';
import { checkedName, ownedAuthObject, ownedListFilter, planChown, planPermissions } from './ownership.js';
import { unwrap } from './results.js';

/** What a finished copy reports back to the record. */
interface CopyOutcome {
  readonly format: string;
  readonly sizeMb: number;
  readonly hashes?: ImageHashes;
}

/** One background or streamed copy into `target`. */
interface CopyPlan {
  readonly imageId: number;
  readonly operation: DsCopyOperation;
  readonly target: string;
  readonly total: number;
  /** Check the datastore's free space again when the copy turns out larger than reserved. */
  readonly capacityCheck: boolean;
  write(job: CopyJob): Promise<CopyOutcome>;
}

export interface ImageUploadInput {
  readonly datastore: number;
  readonly name: string;
  readonly type?: string | undefined;
  readonly persistent?: boolean | undefined;
  readonly description?: string | undefined;
  readonly format?: string | undefined;
  readonly devPrefix?: string | undefined;
  /** Bytes announced by the client (Content-Length or ?size=), if any. */
  readonly length?: number | undefined;
  readonly body: AsyncIterable<Uint8Array>;
}

export interface ImageListInput {
  readonly filter?: number | undefined;
  readonly name?: string | undefined;
  readonly state?: number | undefined;
  readonly datastore?: number | undefined;
  readonly limit?: number | undefined;
  readonly after?: number | undefined;
}

export function imageAuthObject(image: ImageRecord): AuthObject {
  return ownedAuthObject('IMAGE', image);
}

/** One set of running copies per controller, shared by every ImageService built on it. */
const COPY_JOBS = new WeakMap<ControllerContext, CopyJobs>();

export function copyJobsOf(ctx: ControllerContext): CopyJobs {
  let jobs = COPY_JOBS.get(ctx);
  if (jobs === undefined) {
    jobs = new CopyJobs();
    COPY_JOBS.set(ctx, jobs);
  }
  return jobs;
}

/** Placeholder PATH while validating an upload: the bytes come with the request. */
const UPLOAD_PATH = '/upload';

const yesNoOf = (template: Template, name: string): boolean | undefined => {
  const value = singleAttr(template, name)?.trim().toUpperCase();
  return value === 'YES' ? true : value === 'NO' ? false : undefined;
};

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Images (`oneimage`): register from a local PATH, an upload or as an empty datablock, clone,
 * delete, and the state actions. A new image is LOCKED while its bytes are copied in the
 * background (`image-copy.ts`); the copy's end moves it to READY or ERROR.
 */
export class ImageService {
  readonly #jobs: CopyJobs;

  constructor(private readonly ctx: ControllerContext) {
    this.#jobs = copyJobsOf(ctx);
  }

  /** Progress of the copy that fills image `id`, while one runs. */
  progress(id: number): CopyProgress | undefined {
    return this.#jobs.progress(id);
  }

  // -----------------------------------------------------------------------------------------------
  // Create

  /**
   * `one.image.allocate`. PATH images and empty datablocks answer at once with a LOCKED image
   * and are copied / created in the background; SOURCE images (oneadmin group) are READY.
   */
  async create(
    caller: Caller,
    input: { template: Template; datastore: number; noCapacityCheck?: boolean | undefined },
  ): Promise<number> {
    const method = 'one.image.allocate';
    const ds = await this.datastoreForNewImage(caller, input.datastore, method);
    const spec = unwrap(
      validateImageTemplate(input.template, {
        datastore: ds,
        callerInOneadminGroup: caller.isOneadmin,
        defaults: await this.defaultsFor(caller),
      }),
    );
    const capacityCheck = !(input.noCapacityCheck === true && caller.isOneadmin);

    if (spec.dsAction === 'none') {
      return this.allocate(caller, spec, ds.id, spec.sizeMb ?? 0, capacityCheck, method);
    }
    if (spec.dsAction === 'mkfs') {
      const sizeMb = spec.sizeMb ?? 0;
      const format = spec.format as DiskFormat;
      const target = await newSourcePath(ds.basePath);
      const id = await this.allocate(caller, spec, ds.id, sizeMb, capacityCheck, method);
      this.startInBackground({
        imageId: id,
        operation: 'mkfs',
        target,
        total: 0,
        capacityCheck,
        write: async (job) => {
          await createEmptyDisk(target, format, sizeMb, job.signal);
          return { format, sizeMb };
        },
      });
      return id;
    }
    if (spec.pathKind === 'url') {
      throw new NimbusError(
        'PATH_URL_UNSUPPORTED',
        `PATH ${spec.path}: registering images from http(s) URLs is not supported yet (nimbusd has no ` +
          'outside network); upload the file instead (POST /api/v1/images/upload, nimbus image upload)',
        'PATH',
      );
    }
    const source = await this.openPath(caller, ds, spec.path);
    let id: number;
    let target: string;
    try {
      target = await newSourcePath(ds.basePath);
      id = await this.allocate(caller, spec, ds.id, bytesToMb(source.size), capacityCheck, method);
    } catch (error) {
      await source.handle.close();
      throw error;
    }
    this.startInBackground({
      imageId: id,
      operation: 'cp',
      target,
      total: source.size,
      capacityCheck,
      write: async (job) => {
        try {
          const bytes = source.handle.createReadStream({ highWaterMark: 1024 * 1024, autoClose: false });
          return await this.writeVerified(bytes, target, spec, job, {});
        } finally {
          await source.handle.close();
        }
      },
    });
    return id;
  }

  /**
   * An upload: the image is LOCKED while the body streams into the datastore, READY when this
   * resolves. A failed or refused upload leaves nothing behind (no record, no file).
   */
  async upload(caller: Caller, input: ImageUploadInput): Promise<number> {
    const method = 'one.image.allocate';
    const maxBytes = this.ctx.config.maxUploadBytes;
    if (input.length !== undefined && input.length > maxBytes) {
      throw new NimbusError(
        'PAYLOAD_TOO_LARGE',
        `the upload of ${input.length} bytes is larger than the limit of ${maxBytes} bytes (maxUploadBytes)`,
      );
    }
    const ds = await this.datastoreForNewImage(caller, input.datastore, method);
    const template: Record<string, string[]> = { NAME: [input.name], PATH: [UPLOAD_PATH] };
    if (input.type !== undefined) template.TYPE = [input.type];
    if (input.persistent !== undefined) template.PERSISTENT = [input.persistent ? 'YES' : 'NO'];
    if (input.description !== undefined) template.DESCRIPTION = [input.description];
    if (input.format !== undefined) template.FORMAT = [input.format];
    if (input.devPrefix !== undefined) template.DEV_PREFIX = [input.devPrefix];
    const validated = unwrap(
      validateImageTemplate(template, {
        datastore: ds,
        callerInOneadminGroup: caller.isOneadmin,
        defaults: await this.defaultsFor(caller),
      }),
    );
    const spec: ImageCreateSpec = { ...validated, path: '', pathKind: null };
    const target = await newSourcePath(ds.basePath);
    const id = await this.allocate(caller, spec, ds.id, bytesToMb(input.length ?? 0), true, method);
    try {
      await this.runCopy({
        imageId: id,
        operation: 'cp',
        target,
        total: input.length ?? 0,
        capacityCheck: true,
        write: (job) =>
          this.writeVerified(input.body, target, spec, job, { maxBytes, expectedBytes: input.length }),
      });
    } catch (error) {
      if (error instanceof CopyCancelled) {
        throw new NimbusError(
          'IMAGE_CANCELLED',
          `the upload of image ${id} was cancelled: the image was deleted`,
        );
      }
      await this.store.transaction(async (tx) => {
        const image = await tx.images.find(id);
        if (image !== undefined && isLockedState(image.state)) await this.dropInTx(tx, image, null);
      });
      if (error instanceof NimbusError) throw error;
      throw new NimbusError('UPLOAD_FAILED', `the upload of image ${id} failed: ${messageOf(error)}`);
    }
    return id;
  }

  /** `one.image.clone`: a LOCKED copy of a READY/USED image, filled in the background. */
  async clone(
    caller: Caller,
    id: number,
    input: { name: string; datastore?: number | undefined },
  ): Promise<number> {
    const method = 'one.image.clone';
    const name = checkedName(input.name, 'NAME');
    const original = await this.store.images.get(id);
    this.ctx.authorize(caller, { operation: 'USE', object: imageAuthObject(original) }, method);
    const ds = await this.datastoreForNewImage(caller, input.datastore ?? original.datastoreId, method);
    if (ds.type !== DatastoreType.IMAGE_DS) {
      throw new NimbusError(
        'DATASTORE_TYPE',
        `Images can only be cloned into an IMAGE_DS datastore; datastore ${ds.id} "${ds.name}" is not one`,
        'datastore',
      );
    }
    const defaults = await this.userDefaults(caller);
    const permissions = this.newPermissions(caller);
    const target = await newSourcePath(ds.basePath);
    const { cloneId, sourceFile } = await this.store.transaction(
      async (tx) => {
        const src = await tx.images.get(id);
        const into = await tx.datastores.get(ds.id);
        unwrap(checkImageFits(into, src.size));
        const {
          id: _id,
          version: _version,
          ...fresh
        } = allocateClone(src, {
          id: -1,
          name,
          uid: caller.uid,
          gid: caller.gid,
          permissions,
          now: this.ctx.now(),
          datastoreId: into.id,
          ...(defaults.persistentClone !== undefined ? { persistent: defaults.persistentClone } : {}),
        });
        const newId = await tx.images.insert(fresh);
        await tx.images.update(unwrap(startCloneFrom(src, newId)));
        await tx.datastores.update(reserveCapacity(into, src.size));
        await chargeQuota(tx, caller, { image: { datastoreId: into.id, size: src.size } }, method);
        return { cloneId: newId, sourceFile: src.source };
      },
      { retries: 3 },
    );
    this.startInBackground({
      imageId: cloneId,
      operation: 'clone',
      target,
      total: 0,
      capacityCheck: true,
      write: async (job) => {
        const opened = await openLocalImage(sourceFile);
        try {
          job.setTotal(opened.size);
          const bytes = opened.handle.createReadStream({ highWaterMark: 1024 * 1024, autoClose: false });
          const written = await writeImageFile(bytes, target, { signal: job.signal, onProgress: job.report });
          const probe = await this.probeWritten(target, job.signal);
          return { format: probe.format, sizeMb: probe.sizeMb, hashes: written };
        } finally {
          await opened.handle.close();
        }
      },
    });
    return cloneId;
  }

  // -----------------------------------------------------------------------------------------------
  // Read

  async get(caller: Caller, id: number): Promise<ImageRecord> {
    const image = await this.store.images.get(id);
    this.ctx.authorize(
      caller,
      { operation: 'USE', object: imageAuthObject(image), ignoreLock: true },
      'one.image.info',
    );
    return image;
  }

  /** `one.imagepool.info`: the images the caller may see, narrowed by the filter flag. */
  async list(caller: Caller, input: ImageListInput): Promise<PageResult<ImageRecord>> {
    let filter: ImageFilter = await ownedListFilter(this.ctx, caller, 'IMAGE', input.filter ?? -2);
    if (input.name !== undefined && input.name !== '') filter = { ...filter, nameContains: input.name };
    if (input.state !== undefined && input.state >= 0) filter = { ...filter, state: input.state };
    if (input.datastore !== undefined) filter = { ...filter, datastoreId: input.datastore };
    return this.store.images.list(filter, {
      ...(input.limit !== undefined ? { limit: input.limit } : {}),
      ...(input.after !== undefined && input.after >= 0 ? { afterId: input.after } : {}),
    });
  }

  /** Datastore names for DATASTORE in image bodies. */
  async datastoreNames(): Promise<Map<number, string>> {
    const all = await this.store.datastores.list(undefined, { limit: 1_000_000 });
    return new Map(all.items.map((ds) => [ds.id, ds.name]));
  }

  // -----------------------------------------------------------------------------------------------
  // Changes

  async updateTemplate(caller: Caller, id: number, template: Template, merge: boolean): Promise<void> {
    await this.change(caller, id, 'MANAGE', 'one.image.update', (image) => ({
      ...image,
      template: applyTemplateUpdate(image.template, template, merge),
    }));
  }

  async rename(caller: Caller, id: number, name: string): Promise<void> {
    const valid = checkedName(name, 'NAME');
    await this.change(caller, id, 'MANAGE', 'one.image.rename', (image) => ({ ...image, name: valid }));
  }

  async enable(caller: Caller, id: number, enable: boolean): Promise<void> {
    await this.change(caller, id, 'MANAGE', 'one.image.enable', (image) =>
      unwrap(enableImage(image, enable)),
    );
  }

  async setPersistent(caller: Caller, id: number, persistent: boolean): Promise<void> {
    await this.change(caller, id, 'MANAGE', 'one.image.persistent', async (image, tx) => {
      const ds = await tx.datastores.get(image.datastoreId);
      return unwrap(setImagePersistent(image, persistent, { datastorePersistentOnly: isPersistentOnly(ds) }));
    });
  }

  async changeType(caller: Caller, id: number, type: string): Promise<void> {
    await this.change(caller, id, 'MANAGE', 'one.image.chtype', (image) =>
      unwrap(changeImageType(image, type)),
    );
  }

  async chmod(caller: Caller, id: number, octet: string): Promise<void> {
    const bits = unwrap(parseChmod(octet));
    await this.store.transaction(
      async (tx) => {
        const image = await tx.images.get(id);
        const object = imageAuthObject(image);
        const permissions = planPermissions(this.ctx, caller, object, bits, 'one.image.chmod');
        await tx.images.update({ ...image, permissions });
      },
      { retries: 3 },
    );
  }

  /** `one.image.chown`: -1 keeps the owner or group; the image's quota usage moves with it. */
  async chown(
    caller: Caller,
    id: number,
    input: { uid?: number | undefined; gid?: number | undefined },
  ): Promise<void> {
    const method = 'one.image.chown';
    await this.store.transaction(
      async (tx) => {
        const image = await tx.images.get(id);
        const { uid, gid } = await planChown(tx, this.ctx, caller, imageAuthObject(image), input, method, {
          onlyChanges: true,
        });
        if (uid === image.uid && gid === image.gid) return;
        const charge = { image: { datastoreId: image.datastoreId, size: image.size } };
        await releaseQuota(tx, image, charge);
        await chargeQuota(tx, { uid, gid }, charge, method);
        await tx.images.update({ ...image, uid, gid });
      },
      { retries: 3 },
    );
  }

  /**
   * `one.image.delete`: refused while VMs or clones use the image. A LOCKED image's copy is
   * cancelled first (its partial file removed); then the file goes, then the record.
   */
  async delete(caller: Caller, id: number): Promise<void> {
    const method = 'one.image.delete';
    const first = await this.store.images.get(id);
    this.ctx.authorize(caller, { operation: 'MANAGE', object: imageAuthObject(first) }, method);
    unwrap(planImageDelete(first));
    if (isLockedState(first.state)) await this.#jobs.cancel(id);

    const plan = await this.store.transaction(
      async (tx) => {
        const image = await tx.images.get(id);
        this.ctx.authorize(caller, { operation: 'MANAGE', object: imageAuthObject(image) }, method);
        const planned = unwrap(planImageDelete(image));
        if (planned.action === 'drop') await this.dropInTx(tx, image, planned.releaseCloneOf);
        else await tx.images.update(planned.image);
        return planned;
      },
      { retries: 3 },
    );
    if (plan.action === 'drop') return;

    const image = plan.image;
    try {
      const ds = await this.store.datastores.find(image.datastoreId);
      if (ds === undefined || !(await removeImageFile(ds.basePath, image.source))) {
        this.ctx.log.warn(
          { image: id, source: image.source },
          'image SOURCE is outside its datastore; file kept',
        );
      }
    } catch (error) {
      await this.store.transaction(
        async (tx) => {
          const current = await tx.images.get(id);
          await tx.images.update(
            failDelete(current, { driverMessage: messageOf(error), now: this.ctx.now() }),
          );
        },
        { retries: 3 },
      );
      throw new NimbusError('IMAGE_DELETE_FAILED', `Cannot delete image ${id}: ${messageOf(error)}`);
    }
    await this.store.transaction(
      async (tx) => {
        const current = await tx.images.get(id);
        await this.dropInTx(tx, current, plan.releaseCloneOf);
      },
      { retries: 3 },
    );
  }

  /** Waits for the background copies of this controller (shutdown, tests). */
  /**
   * At start-up no copy is running: an image still LOCKED was being copied when nimbusd stopped.
   * It goes to ERROR with the reason (delete it and register it again) instead of staying LOCKED
   * for ever; a clone gives its source back.
   */
  async failInterruptedCopies(): Promise<number> {
    const locked = await this.store.images.list({ state: ImageState.LOCKED });
    for (const image of locked.items) {
      const operation: DsCopyOperation = image.cloningId >= 0 ? 'clone' : image.path === '' ? 'mkfs' : 'cp';
      await this.recordCopyFailure(
        image.id,
        operation,
        'the copy was interrupted by a nimbusd restart; delete the image and register it again',
      );
    }
    return locked.items.length;
  }

  drain(): Promise<void> {
    return this.#jobs.drain();
  }

  // -----------------------------------------------------------------------------------------------
  // Internals

  private get store(): ControllerContext['store'] {
    return this.ctx.store;
  }

  private async change(
    caller: Caller,
    id: number,
    operation: 'MANAGE' | 'ADMIN',
    method: string,
    apply: (image: ImageRecord, tx: Repositories) => ImageRecord | Promise<ImageRecord>,
  ): Promise<void> {
    await this.store.transaction(
      async (tx) => {
        const image = await tx.images.get(id);
        this.ctx.authorize(caller, { operation, object: imageAuthObject(image) }, method);
        const changed = await apply(image, tx);
        if (changed !== image) await tx.images.update(changed);
      },
      { retries: 3 },
    );
  }

  /** The target datastore of a new image, with CREATE IMAGE and USE DATASTORE checked. */
  private async datastoreForNewImage(caller: Caller, dsId: number, method: string): Promise<DatastoreRecord> {
    const ds = await this.store.datastores.find(dsId);
    if (ds === undefined) throw new NimbusError('NOT_FOUND', `datastore ${dsId} does not exist`, 'datastore');
    this.ctx.authorize(
      caller,
      [
        { operation: 'CREATE', type: 'IMAGE', gid: caller.gid },
        { operation: 'USE', object: datastoreAuthObject(ds) },
      ],
      method,
    );
    return ds;
  }

  private newPermissions(caller: Caller): number {
    return defaultPermissions({ uid: caller.uid, gid: caller.gid, umask: unwrap(parseUmask(caller.umask)) });
  }

  /** DEFAULT_IMAGE_PERSISTENT_NEW / DEFAULT_IMAGE_PERSISTENT of the user, else of its group. */
  private async userDefaults(
    caller: Caller,
  ): Promise<{ persistentNew: boolean | undefined; persistentClone: boolean | undefined }> {
    const user = await this.store.users.find(caller.uid);
    const group = await this.store.groups.find(caller.gid);
    const pick = (name: string): boolean | undefined =>
      (user === undefined ? undefined : yesNoOf(user.template, name)) ??
      (group === undefined ? undefined : yesNoOf(group.template, name));
    return {
      persistentNew: pick('DEFAULT_IMAGE_PERSISTENT_NEW'),
      persistentClone: pick('DEFAULT_IMAGE_PERSISTENT'),
    };
  }

  private async defaultsFor(caller: Caller): Promise<Partial<ImageDefaults>> {
    const { persistentNew } = await this.userDefaults(caller);
    return persistentNew === undefined ? {} : { persistentNew };
  }

  /** The new record, LOCKED (or READY for SOURCE images), its size reserved and charged. */
  private async allocate(
    caller: Caller,
    spec: ImageCreateSpec,
    dsId: number,
    sizeMb: number,
    capacityCheck: boolean,
    method: string,
  ): Promise<number> {
    const permissions = this.newPermissions(caller);
    return this.store.transaction(
      async (tx) => {
        const ds = await tx.datastores.get(dsId);
        if (capacityCheck) unwrap(checkImageFits(ds, sizeMb));
        const record = allocateImage({ ...spec, sizeMb }, ds.id, {
          id: -1,
          uid: caller.uid,
          gid: caller.gid,
          permissions,
          now: this.ctx.now(),
        });
        const { id: _id, version: _version, ...fresh } = record;
        const id = await tx.images.insert(fresh);
        await tx.datastores.update(reserveCapacity(ds, sizeMb));
        await chargeQuota(tx, caller, { image: { datastoreId: ds.id, size: sizeMb } }, method);
        return id;
      },
      { retries: 3 },
    );
  }

  /**
   * A local PATH that may be copied: judged as given (normalized), after realpath (symbolic
   * links), and as actually opened, so neither `..` nor a link nor a swap reaches /etc/shadow.
   */
  private async openPath(caller: Caller, ds: DatastoreRecord, path: string) {
    const decide = (candidate: string): string =>
      unwrap(
        decideImagePath({
          path: candidate,
          policy: imagePathPolicyOf(ds),
          callerInOneadminGroup: caller.isOneadmin,
          protectedDirs: [this.ctx.config.home, this.ctx.config.datastoreLocation],
        }),
      );
    decide(path);
    const resolved = await resolveLocalPath(path);
    if (resolved !== path) decideWithOrigin(decide, path, resolved);
    const opened = await openLocalImage(resolved);
    try {
      decideWithOrigin(decide, path, opened.openedPath);
    } catch (error) {
      await opened.handle.close();
      throw error;
    }
    return opened;
  }

  /** Writes the bytes, verifies MD5 / SHA1 the template asks for, probes format and size. */
  private async writeVerified(
    source: AsyncIterable<Uint8Array>,
    target: string,
    spec: ImageCreateSpec,
    job: CopyJob,
    limits: { maxBytes?: number; expectedBytes?: number | undefined },
  ): Promise<CopyOutcome> {
    const expectedMd5 = singleAttr(spec.template, 'MD5');
    const expectedSha1 = singleAttr(spec.template, 'SHA1');
    const written = await writeImageFile(source, target, {
      signal: job.signal,
      onProgress: job.report,
      sha1: expectedSha1 !== undefined,
      ...(limits.maxBytes !== undefined ? { maxBytes: limits.maxBytes } : {}),
    });
    if (limits.expectedBytes !== undefined && written.bytes !== limits.expectedBytes) {
      throw new NimbusError(
        'UPLOAD_INCOMPLETE',
        `the upload ended after ${written.bytes} of the ${limits.expectedBytes} bytes announced`,
      );
    }
    if (written.bytes === 0) throw new NimbusError('IMAGE_EMPTY', 'the image file is empty (0 bytes)');
    if (expectedMd5 !== undefined && expectedMd5 !== written.md5) {
      throw new NimbusError(
        'CHECKSUM_MISMATCH',
        `MD5 of the image is ${written.md5}, the template expects ${expectedMd5}`,
      );
    }
    if (expectedSha1 !== undefined && expectedSha1 !== written.sha1) {
      throw new NimbusError(
        'CHECKSUM_MISMATCH',
        `SHA1 of the image is ${written.sha1 ?? '?'}, the template expects ${expectedSha1}`,
      );
    }
    const probe = await this.probeWritten(target, job.signal);
    if (spec.format === 'qcow2' && probe.format !== 'qcow2') {
      throw new NimbusError('IMAGE_FORMAT', `FORMAT is qcow2 but the file is ${probe.format}`);
    }
    // An explicit FORMAT raw presents the bytes as they are, whatever they look like.
    return spec.format === 'raw'
      ? { format: 'raw', sizeMb: bytesToMb(written.bytes), hashes: written }
      : { format: probe.format, sizeMb: probe.sizeMb, hashes: written };
  }

  /** Format and virtual size of a copied file; backing and data files are refused. */
  private async probeWritten(file: string, signal: AbortSignal): Promise<{ format: string; sizeMb: number }> {
    const probe = await probeImage(file, signal);
    if (probe.format !== 'raw' && probe.format !== 'qcow2') {
      throw new NimbusError('IMAGE_FORMAT', `the image is ${probe.format}; convert it to qcow2 or raw first`);
    }
    if (probe.externalFile !== null) {
      throw new NimbusError(
        'IMAGE_FORMAT',
        `the qcow2 image refers to the file ${probe.externalFile}; images with backing or data files are not accepted`,
      );
    }
    return { format: probe.format, sizeMb: bytesToMb(probe.virtualSize) };
  }

  /** A copy in the background: failures land in the record (ERROR), cancellation leaves it to delete. */
  private startInBackground(plan: CopyPlan): void {
    this.runCopy(plan).catch(async (error: unknown) => {
      if (error instanceof CopyCancelled) return;
      try {
        await this.recordCopyFailure(plan.imageId, plan.operation, messageOf(error));
      } catch (failure) {
        this.ctx.log.error({ err: failure, image: plan.imageId }, 'could not record an image copy failure');
      }
    });
  }

  /** Runs the copy as a job (progress, cancel) and records its success; the file goes on failure. */
  private async runCopy(plan: CopyPlan): Promise<void> {
    await this.#jobs.run(plan.imageId, plan.total, async (job) => {
      try {
        const outcome = await plan.write(job);
        if (job.signal.aborted) throw new CopyCancelled();
        await this.recordCopySuccess(plan, outcome);
      } catch (error) {
        await discardFile(plan.target);
        throw job.signal.aborted ? new CopyCancelled() : error;
      }
    });
  }

  /** READY (completeCopy), hashes in the template, the size settled against capacity and quota. */
  private async recordCopySuccess(plan: CopyPlan, outcome: CopyOutcome): Promise<void> {
    const { imageId, operation, target: source } = plan;
    const image = await this.store.transaction(
      async (tx) => {
        const current = await tx.images.get(imageId);
        let done = unwrap(completeCopy(current, { source, format: outcome.format, sizeMb: outcome.sizeMb }));
        if (outcome.hashes !== undefined) {
          done = {
            ...done,
            template: withAttr(
              withAttr(done.template, 'MD5', outcome.hashes.md5),
              'SHA256',
              outcome.hashes.sha256,
            ),
          };
        }
        await this.settleSize(tx, current, done.size, plan.capacityCheck);
        if (operation === 'clone') await this.releaseCloneSource(tx, current.cloningId, imageId);
        return tx.images.update(done);
      },
      { retries: 3 },
    );
    this.ctx.log.info({ image: imageId, source, sizeMb: image.size }, copiedLogLine(image, operation));
    this.ctx.events.imageCopyEnded(imageId, true);
  }

  private async recordCopyFailure(
    imageId: number,
    operation: DsCopyOperation,
    message: string,
  ): Promise<void> {
    this.ctx.log.warn({ image: imageId, operation }, `image copy failed: ${message}`);
    await this.store.transaction(
      async (tx) => {
        const image = await tx.images.find(imageId);
        if (image === undefined) return;
        const failed = failCopy(image, { operation, driverMessage: message, now: this.ctx.now() });
        if (!failed.ok) return;
        if (operation === 'clone') await this.releaseCloneSource(tx, image.cloningId, imageId);
        await tx.images.update(failed.value);
      },
      { retries: 3 },
    );
    this.ctx.events.imageCopyEnded(imageId, false);
  }

  /** Reserved capacity and charged quota follow the size the copy found. */
  private async settleSize(
    tx: Repositories,
    image: ImageRecord,
    sizeMb: number,
    capacityCheck: boolean,
  ): Promise<void> {
    if (sizeMb === image.size) return;
    const released = releaseCapacity(await tx.datastores.get(image.datastoreId), image.size);
    if (capacityCheck && sizeMb > image.size) unwrap(checkImageFits(released, sizeMb));
    await tx.datastores.update(reserveCapacity(released, sizeMb));
    await releaseQuota(tx, image, { image: { datastoreId: image.datastoreId, size: image.size } });
    await chargeQuota(
      tx,
      image,
      { image: { datastoreId: image.datastoreId, size: sizeMb } },
      'one.image.allocate',
    );
  }

  private async releaseCloneSource(tx: Repositories, sourceId: number, cloneId: number): Promise<void> {
    if (sourceId < 0) return;
    const source = await tx.images.find(sourceId);
    if (source === undefined || (source.state !== ImageState.USED && source.state !== ImageState.CLONE))
      return;
    await tx.images.update(unwrap(finishCloneFrom(source, cloneId)));
  }

  /** The record goes; its capacity and quota come back; a clone releases its source. */
  private async dropInTx(tx: Repositories, image: ImageRecord, releaseCloneOf: number | null): Promise<void> {
    await tx.images.delete(image.id);
    const ds = await tx.datastores.find(image.datastoreId);
    if (ds !== undefined) await tx.datastores.update(releaseCapacity(ds, image.size));
    await releaseQuota(tx, image, { image: { datastoreId: image.datastoreId, size: image.size } });
    if (releaseCloneOf !== null) await this.releaseCloneSource(tx, releaseCloneOf, image.id);
  }
}

/** Judge a resolved path; a refusal names the PATH the user gave as well. */
function decideWithOrigin(decide: (path: string) => string, given: string, resolved: string): void {
  try {
    decide(resolved);
  } catch (error) {
    if (error instanceof NimbusError && error.code === 'PATH_RESTRICTED') {
      throw new NimbusError(
        error.code,
        `PATH ${given} resolves to ${resolved}: ${error.message}`,
        error.field,
      );
    }
    throw error;
  }
}
