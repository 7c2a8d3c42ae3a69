/** Request bodies of the VM lifecycle routes (`onevm deploy`, `poweroff`, `recover` …). */
import { Type, type Static } from 'typebox';
import { TemplateInput } from './common.js';

/** `one.vm.action` names (reference §1.5). */
export const VM_SIMPLE_ACTIONS = [
  'terminate',
  'terminate-hard',
  'undeploy',
  'undeploy-hard',
  'poweroff',
  'poweroff-hard',
  'reboot',
  'reboot-hard',
  'hold',
  'release',
  'stop',
  'suspend',
  'resume',
  'resched',
  'unresched',
] as const;

export const VmAction = Type.Object(
  { action: Type.Union(VM_SIMPLE_ACTIONS.map((a) => Type.Literal(a))) },
  { additionalProperties: false },
);
export type VmAction = Static<typeof VmAction>;

const HostId = Type.Integer({ minimum: 0, maximum: 2147483647 });

export const VmDeploy = Type.Object(
  {
    host: HostId,
    datastore: Type.Optional(Type.Integer({ minimum: 0, maximum: 2147483647 })),
    enforce: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type VmDeploy = Static<typeof VmDeploy>;

export const VmMigrate = Type.Object(
  {
    host: HostId,
    datastore: Type.Optional(Type.Integer({ minimum: 0, maximum: 2147483647 })),
    live: Type.Optional(Type.Boolean()),
    poweroff: Type.Optional(Type.Union([Type.Literal('soft'), Type.Literal('hard')])),
    enforce: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type VmMigrate = Static<typeof VmMigrate>;

export const VmRecover = Type.Object(
  {
    operation: Type.Union(
      ['success', 'failure', 'retry', 'delete', 'delete-recreate', 'delete-db'].map((o) => Type.Literal(o)),
    ),
  },
  { additionalProperties: false },
);
export type VmRecover = Static<typeof VmRecover>;

export const VmResize = Type.Object(
  {
    CPU: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 4096 })),
    VCPU: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096 })),
    MEMORY: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_073_741_824 })),
    enforce: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type VmResize = Static<typeof VmResize>;

export const VmAttach = Type.Object({ template: TemplateInput }, { additionalProperties: false });
export type VmAttach = Static<typeof VmAttach>;

export const DiskParams = Type.Object({
  id: Type.Integer({ minimum: 0, maximum: 2147483647 }),
  diskId: Type.Integer({ minimum: 0, maximum: 65535 }),
});
export const NicParams = Type.Object({
  id: Type.Integer({ minimum: 0, maximum: 2147483647 }),
  nicId: Type.Integer({ minimum: 0, maximum: 65535 }),
});

export const DiskResize = Type.Object(
  { size: Type.Integer({ minimum: 1, maximum: 1_073_741_824 }) },
  { additionalProperties: false },
);

export const VmLogQuery = Type.Object({
  lines: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
});

/** Answer of every lifecycle request: the VM's state after the request (and a notice for no-ops). */
export const VmActionAnswer = Type.Object({
  ID: Type.Integer(),
  STATE: Type.Integer(),
  LCM_STATE: Type.Integer(),
  STATE_NAME: Type.String(),
  LCM_STATE_NAME: Type.String(),
  NOTICE: Type.Optional(Type.String()),
  DISK_ID: Type.Optional(Type.Integer()),
  NIC_ID: Type.Optional(Type.Integer()),
});
