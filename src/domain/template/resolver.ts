/**
 * A VariableResolver built from a VM template and its owner, with the lookups OpenNebula does in
 * one:src/parsers/vm_var_syntax.y: `$NETWORK[..]` goes through the NIC (or NIC_ALIAS) whose key
 * matches to its NETWORK_ID and AR_ID, `$IMAGE[..]` through the matching DISK to its IMAGE_ID;
 * the pools themselves are behind optional callbacks the controller supplies.
 */
import { Buffer } from 'node:buffer';
import { getSingle, getVectors } from './attributes.js';
import type { Template, VectorValue } from './types.js';
import type { OwnerField, VariableCondition, VariableResolver } from './variables.js';
import { serializeTemplateXml } from './xml.js';

export interface TemplateResolverContext {
  /** The VM template the references are resolved against. */
  readonly template: Template;
  /** The VM's id and name: `$VMID` and `$NAME` (OpenNebula takes NAME from the VM object). */
  readonly vm?: { readonly id?: number | string; readonly name?: string };
  readonly owner?: {
    readonly uid: number | string;
    readonly uname: string;
    readonly gid: number | string;
    readonly gname: string;
  };
  /** The owner's user template, for `$USER[attr]`. */
  readonly userTemplate?: Template;
  /** Attribute of a virtual network (or of its address range first, when arId is set). */
  readonly network?: (lookup: { networkId: string; arId?: string; attribute: string }) => string | undefined;
  /** Attribute of an image. */
  readonly image?: (lookup: { imageId: string; attribute: string }) => string | undefined;
  /** A `$FILE[...]` reference. */
  readonly file?: (conditions: readonly VariableCondition[]) => string | undefined;
}

function base64Xml(template: Template, root: string): string {
  return Buffer.from(serializeTemplateXml(template, { root }), 'utf8').toString('base64');
}

function matches(vector: VectorValue, condition: VariableCondition): boolean {
  return (Object.hasOwn(vector, condition.key) ? vector[condition.key] : '') === condition.value;
}

export function createTemplateResolver(context: TemplateResolverContext): VariableResolver {
  const { template } = context;
  return {
    attribute(name) {
      if (name === 'NAME' && context.vm?.name !== undefined) return context.vm.name;
      const value = getSingle(template, name);
      if (value === undefined && name === 'VMID' && context.vm?.id !== undefined)
        return String(context.vm.id);
      return value;
    },
    owner(field: OwnerField) {
      const owner = context.owner;
      if (owner === undefined) return undefined;
      const values = { UID: owner.uid, UNAME: owner.uname, GID: owner.gid, GNAME: owner.gname };
      return String(values[field]);
    },
    template() {
      return base64Xml(template, 'TEMPLATE');
    },
    vector(name, attribute, condition) {
      const vectors = getVectors(template, name);
      const vector = condition === undefined ? vectors[0] : vectors.find((v) => matches(v, condition));
      return vector !== undefined && Object.hasOwn(vector, attribute) ? vector[attribute] : undefined;
    },
    network(attribute, condition) {
      const nic = [...getVectors(template, 'NIC'), ...getVectors(template, 'NIC_ALIAS')].find((v) =>
        matches(v, condition),
      );
      const networkId = nic?.['NETWORK_ID'];
      if (nic === undefined || networkId === undefined || networkId === '' || context.network === undefined)
        return undefined;
      const arId = nic['AR_ID'];
      return context.network(arId === undefined ? { networkId, attribute } : { networkId, arId, attribute });
    },
    image(attribute, condition) {
      const disk = getVectors(template, 'DISK').find((v) => matches(v, condition));
      const imageId = disk?.['IMAGE_ID'];
      if (imageId === undefined || imageId === '' || context.image === undefined) return undefined;
      return context.image({ imageId, attribute });
    },
    user(attribute) {
      const userTemplate = context.userTemplate;
      if (userTemplate === undefined) return undefined;
      return attribute === 'TEMPLATE'
        ? base64Xml(userTemplate, 'TEMPLATE')
        : getSingle(userTemplate, attribute);
    },
    file(conditions) {
      return context.file?.(conditions);
    },
  };
}
