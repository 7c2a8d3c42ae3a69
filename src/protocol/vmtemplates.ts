import { Type, type Static } from 'typebox';
import { TemplateInput } from './common.js';

/**
 * `POST /api/v1/templates`: `{ "template": ... }` (text, XML or JSON form), or the OpenNebula
 * text itself as `text/plain`. NAME is required inside the template.
 */
export const VmTemplateCreate = Type.Union([
  Type.String({ maxLength: 1_048_576 }),
  Type.Object({ template: TemplateInput }, { additionalProperties: false }),
]);
export type VmTemplateCreate = Static<typeof VmTemplateCreate>;

export const VmTemplateClone = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 128 }) },
  { additionalProperties: false },
);
export type VmTemplateClone = Static<typeof VmTemplateClone>;

/**
 * `one.template.instantiate`: `name` ("" or absent → `<template name>-<vmid>`; with `multiple`,
 * `%i` is replaced by the VM's index), `hold` (HOLD instead of PENDING), `multiple` VMs in one
 * go (all or none), `extra` merged over the template (a vector like DISK replaces them all).
 */
export const VmTemplateInstantiate = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 128 })),
    hold: Type.Optional(Type.Boolean()),
    multiple: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    extra: Type.Optional(TemplateInput),
  },
  { additionalProperties: false },
);
export type VmTemplateInstantiate = Static<typeof VmTemplateInstantiate>;

/** Answer of instantiate: the first new VM id, and all of them. */
export const Instantiated = Type.Object({ ID: Type.Integer(), IDS: Type.Array(Type.Integer()) });
export type Instantiated = Static<typeof Instantiated>;
