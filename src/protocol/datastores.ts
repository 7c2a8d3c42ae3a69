import { Type, type Static } from 'typebox';
import { TemplateInput, PageQuery } from './common.js';

/** `one.datastore.allocate(template, cluster_id)`: NAME, TYPE, DS_MAD, TM_MAD ... in the template. */
export const DatastoreCreate = Type.Object(
  {
    template: TemplateInput,
    /** Cluster id; -1 or absent: the default cluster 0. */
    cluster: Type.Optional(Type.Integer({ minimum: -1 })),
  },
  { additionalProperties: false },
);
export type DatastoreCreate = Static<typeof DatastoreCreate>;

export const DatastoreListQuery = Type.Object(
  {
    ...PageQuery,
    /** Part of the name, case-insensitive. */
    name: Type.Optional(Type.String({ maxLength: 128 })),
    cluster: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type DatastoreListQuery = Static<typeof DatastoreListQuery>;
