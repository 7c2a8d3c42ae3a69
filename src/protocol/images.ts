import { Type, type Static } from 'typebox';
import { ListQuery, TemplateInput } from './common.js';

const DatastoreId = Type.Integer({ minimum: 0, maximum: 2147483647 });
/** OS, CDROM, DATABLOCK, KERNEL, RAMDISK or CONTEXT, any case; the domain names a wrong one. */
const ImageTypeText = Type.String({ minLength: 1, maxLength: 16 });

/**
 * `one.image.allocate`: an image template (PATH = local file or URL, SOURCE, or an empty disk
 * with SIZE) into a datastore. `no_capacity_check` is honoured for the oneadmin group only.
 */
export const ImageCreate = Type.Object(
  {
    template: TemplateInput,
    datastore: DatastoreId,
    no_capacity_check: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ImageCreate = Static<typeof ImageCreate>;

/** `POST /api/v1/images/upload?…` with the file as an application/octet-stream body. */
export const ImageUploadQuery = Type.Object(
  {
    datastore: DatastoreId,
    name: Type.String({ minLength: 1, maxLength: 128 }),
    type: Type.Optional(ImageTypeText),
    persistent: Type.Optional(Type.Boolean()),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    format: Type.Optional(Type.Union([Type.Literal('raw'), Type.Literal('qcow2')])),
    dev_prefix: Type.Optional(Type.String({ maxLength: 8 })),
    /** Length in bytes when the body is chunked (progress and the capacity check use it). */
    size: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type ImageUploadQuery = Static<typeof ImageUploadQuery>;

/** `one.image.clone`: the new image's name, and its datastore (default: the source's). */
export const ImageClone = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 128 }), datastore: Type.Optional(DatastoreId) },
  { additionalProperties: false },
);
export type ImageClone = Static<typeof ImageClone>;

/** `one.image.chtype`: OS, CDROM, DATABLOCK, KERNEL, RAMDISK or CONTEXT. */
export const ImageChtype = Type.Object({ type: ImageTypeText }, { additionalProperties: false });
export type ImageChtype = Static<typeof ImageChtype>;

/** The common list query plus a datastore filter. */
export const ImageListQuery = Type.Object(
  { ...ListQuery.properties, datastore: Type.Optional(DatastoreId) },
  { additionalProperties: false },
);
export type ImageListQuery = Static<typeof ImageListQuery>;
