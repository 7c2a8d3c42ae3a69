import { Type, type Static } from 'typebox';
import { TemplateInput } from './common.js';

/**
 * `one.user.quota` / `one.group.quota`: an OpenNebula quota template, as text
 * (`VM=[VMS=2, MEMORY=1024]  DATASTORE=[ID=1, SIZE=10240]`) or JSON
 * (`{"VM":{"VMS":"2"},"DATASTORE":[{"ID":"1","SIZE":"10240"}]}`). Blocks given replace the limits
 * of the matching entry; -1 means the default quota, -2 unlimited.
 */
export const QuotaUpdate = Type.Object({ template: TemplateInput }, { additionalProperties: false });
export type QuotaUpdate = Static<typeof QuotaUpdate>;
