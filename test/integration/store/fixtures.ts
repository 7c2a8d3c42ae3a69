import type { AclRecord, GroupRecord, UserRecord } from '../../../src/domain/auth/record.js';
import type { ClusterRecord } from '../../../src/domain/cluster/record.js';
import type { DatastoreRecord } from '../../../src/domain/datastore/record.js';
import type { HostRecord } from '../../../src/domain/host/record.js';
import type { ImageRecord } from '../../../src/domain/image/record.js';
import type { QuotaSet } from '../../../src/domain/quota/record.js';
import type { SecurityGroupRecord } from '../../../src/domain/secgroup/record.js';
import type { Template } from '../../../src/domain/template/types.js';
import type { HistoryRecord, VmRecord } from '../../../src/domain/vm/record.js';
import type { VmGroupRecord } from '../../../src/domain/vmgroup/record.js';
import type { VmTemplateRecord } from '../../../src/domain/vmtemplate/record.js';
import type { AddressRangeRecord, VnetRecord } from '../../../src/domain/vnet/record.js';
import type { NewRecord } from '../../../src/store/index.js';

/** Record builders: realistic values, overridable per test. */

/** Repeated vectors (two DISKs, two NICs), a vector CONTEXT, quoting and non-ASCII text. */
export const vmTemplate: Template = {
  CONTEXT: [
    { NETWORK: 'YES', SSH_PUBLIC_KEY: 'ssh-ed25519 AAAA... user@host', START_SCRIPT: 'echo "hi" \\ done' },
  ],
  CPU: ['0.5'],
  DISK: [
    { DISK_ID: '0', IMAGE_ID: '3', SIZE: '10240', TARGET: 'vda' },
    { DISK_ID: '1', IMAGE_ID: '7', SIZE: '2048', TARGET: 'vdb' },
  ],
  GRAPHICS: [{ LISTEN: '0.0.0.0', TYPE: 'VNC' }],
  MEMORY: ['1024'],
  NIC: [
    { AR_ID: '0', IP: '10.0.0.5', MAC: '02:00:0a:00:00:05', NETWORK_ID: '0', NIC_ID: '0' },
    { AR_ID: '0', IP: '10.0.0.6', MAC: '02:00:0a:00:00:06', NETWORK_ID: '0', NIC_ID: '1' },
  ],
  DESCRIPTION: ["Ünïcode “quotes” and 'single'"],
  LABELS: ['a', 'b'],
};

export function vm(overrides: Partial<NewRecord<VmRecord>> = {}): NewRecord<VmRecord> {
  return {
    uid: 0,
    gid: 0,
    name: 'one-vm',
    permissions: 0o640,
    lock: null,
    template: vmTemplate,
    state: 1,
    lcmState: 0,
    prevState: 0,
    prevLcmState: 0,
    resched: false,
    stime: 1_700_000_000,
    etime: 0,
    deployId: '',
    lastPoll: 0,
    monitoring: { CPU: '12.5', MEMORY: '524288' },
    userTemplate: { SCHED_REQUIREMENTS: ['ID != 3'], LOGO: ['images/logos/debian.png'] },
    hostId: null,
    ...overrides,
  };
}

export function history(
  oid: number,
  overrides: Partial<Omit<HistoryRecord, 'seq'>> = {},
): Omit<HistoryRecord, 'seq'> {
  return {
    oid,
    hostname: 'node1',
    hid: 0,
    cid: 0,
    stime: 1_700_000_100,
    etime: 0,
    vmMad: 'qemu',
    tmMad: 'qcow2',
    dsId: 0,
    pstime: 1_700_000_100,
    petime: 0,
    rstime: 0,
    retime: 0,
    estime: 0,
    eetime: 0,
    action: 0,
    uid: 0,
    gid: 0,
    requestId: 4242,
    ...overrides,
  };
}

export function vmTemplateRecord(
  overrides: Partial<NewRecord<VmTemplateRecord>> = {},
): NewRecord<VmTemplateRecord> {
  return {
    uid: 0,
    gid: 0,
    name: 'debian-12',
    permissions: 0o600,
    lock: { level: 4, owner: 0, time: 1_700_000_000, reqId: 77 },
    template: vmTemplate,
    regtime: 1_700_000_000,
    ...overrides,
  };
}

export function image(overrides: Partial<NewRecord<ImageRecord>> = {}): NewRecord<ImageRecord> {
  return {
    uid: 0,
    gid: 0,
    name: 'debian-12.qcow2',
    permissions: 0o660,
    lock: null,
    template: { DEV_PREFIX: ['vd'], DRIVER: ['qcow2'] },
    type: 0,
    diskType: 0,
    persistent: false,
    regtime: 1_700_000_000,
    source: '/var/lib/nimbus/datastores/1/3f2a',
    path: 'https://example.org/debian-12.qcow2',
    format: 'qcow2',
    fs: '',
    size: 2048,
    state: 1,
    prevState: 0,
    runningVms: 2,
    cloningOps: 0,
    cloningId: -1,
    targetSnapshot: -1,
    datastoreId: 1,
    vms: [4, 9],
    clones: [],
    ...overrides,
  };
}

export function datastore(overrides: Partial<NewRecord<DatastoreRecord>> = {}): NewRecord<DatastoreRecord> {
  return {
    uid: 0,
    gid: 0,
    name: 'default',
    permissions: 0o640,
    lock: null,
    template: { SHARED: ['YES'], TYPE: ['IMAGE_DS'], RESTRICTED_DIRS: ['/'] },
    dsMad: 'fs',
    tmMad: 'qcow2',
    basePath: '/var/lib/nimbus/datastores/1',
    type: 0,
    diskType: 0,
    state: 0,
    clusters: [0, 100],
    totalMb: 8_000_000_000,
    freeMb: 7_000_000_000,
    usedMb: 1_000_000_000,
    ...overrides,
  };
}

export function host(overrides: Partial<NewRecord<HostRecord>> = {}): NewRecord<HostRecord> {
  return {
    name: 'node1.example.org',
    state: 2,
    prevState: 1,
    imMad: 'qemu',
    vmMad: 'qemu',
    clusterId: 0,
    // 8 TiB of memory in KB does not fit 32 bits
    share: {
      memUsage: 1_048_576,
      cpuUsage: 150,
      totalMem: 8_589_934_592,
      totalCpu: 6400,
      maxMem: 8_589_000_000,
      maxCpu: 6400,
      runningVms: 3,
    },
    vms: [1, 2, 5],
    template: { ARCH: ['x86_64'], HYPERVISOR: ['kvm'], KVM_MACHINES: ['pc q35'] },
    monitoring: { TIMESTAMP: '1700000000', FREE_CPU: '6250' },
    lastMonTime: 1_700_000_000,
    ...overrides,
  };
}

export function cluster(overrides: Partial<NewRecord<ClusterRecord>> = {}): NewRecord<ClusterRecord> {
  return { name: 'default', template: { RESERVED_CPU: [''], RESERVED_MEM: [''] }, ...overrides };
}

export const quotas: QuotaSet = {
  vm: {
    vms: 10,
    vmsUsed: 2,
    cpu: -1,
    cpuUsed: 1.5,
    memory: -2,
    memoryUsed: 2048,
    runningVms: -1,
    runningVmsUsed: 1,
    runningCpu: -1,
    runningCpuUsed: 0.5,
    runningMemory: -1,
    runningMemoryUsed: 1024,
    systemDiskSize: -1,
    systemDiskSizeUsed: 0,
  },
  datastore: [{ id: 1, images: 5, imagesUsed: 1, size: 10240, sizeUsed: 2048 }],
  network: [{ id: 0, leases: 4, leasesUsed: 2 }],
  image: [{ id: 3, rvms: -1, rvmsUsed: 2 }],
};

export function user(overrides: Partial<NewRecord<UserRecord>> = {}): NewRecord<UserRecord> {
  return {
    gid: 1,
    groups: [1, 0, 105],
    name: 'alice',
    password: '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA',
    authDriver: 'core',
    enabled: true,
    loginTokens: [{ tokenHash: 'ab12', expirationTime: -1, egid: -1 }],
    template: { EMAIL: ['alice@example.org'] },
    quotas,
    ...overrides,
  };
}

export function group(overrides: Partial<NewRecord<GroupRecord>> = {}): NewRecord<GroupRecord> {
  return {
    name: 'users',
    admins: [3],
    template: { SUNSTONE: [{ DEFAULT_VIEW: 'cloud' }] },
    quotas: { vm: null, datastore: [], network: [], image: [] },
    ...overrides,
  };
}

export function aclRule(overrides: Partial<Omit<AclRecord, 'id'>> = {}): Omit<AclRecord, 'id'> {
  return {
    // "@1 VM+NET+IMAGE+TEMPLATE/* CREATE *", bits far above 2^53
    user: 0x200000001n,
    resource: 0x2d400000000n | 0x8000000000000000n,
    rights: 0x8n,
    zone: 0x400000000n,
    ...overrides,
  };
}

export function addressRange(overrides: Partial<AddressRangeRecord> = {}): AddressRangeRecord {
  return {
    arId: 0,
    type: 'IP4',
    mac: '02:00:0a:00:00:01',
    ip: '10.0.0.1',
    size: 254,
    globalPrefix: null,
    ulaPrefix: null,
    ip6: null,
    prefixLength: null,
    parentNetworkArId: null,
    next: 0,
    attributes: { GATEWAY: ['10.0.0.254'], DNS: ['10.0.0.53 1.1.1.1'] },
    ...overrides,
  };
}

export function vnet(overrides: Partial<NewRecord<VnetRecord>> = {}): NewRecord<VnetRecord> {
  return {
    uid: 0,
    gid: 0,
    name: 'private',
    permissions: 0o644,
    lock: null,
    template: { NETWORK_ADDRESS: ['10.0.0.0'], NETWORK_MASK: ['255.255.255.0'], SECURITY_GROUPS: ['0'] },
    clusters: [0],
    bridge: 'br0',
    bridgeType: 'linux',
    state: 1,
    prevState: 0,
    parentNetworkId: null,
    vnMad: 'bridge',
    phydev: '',
    vlanId: '',
    outerVlanId: '',
    vlanIdAutomatic: false,
    outerVlanIdAutomatic: false,
    ars: [
      addressRange(),
      addressRange({
        arId: 1,
        type: 'IP6_STATIC',
        mac: '02:00:0a:00:01:01',
        ip: null,
        ip6: '2001:db8::10',
        prefixLength: 64,
        size: 16,
        attributes: {},
      }),
    ],
    ...overrides,
  };
}

export function securityGroup(
  overrides: Partial<NewRecord<SecurityGroupRecord>> = {},
): NewRecord<SecurityGroupRecord> {
  return {
    uid: 0,
    gid: 0,
    name: 'default',
    permissions: 0o600,
    lock: null,
    template: {
      RULE: [
        { PROTOCOL: 'ALL', RULE_TYPE: 'OUTBOUND' },
        { PROTOCOL: 'ALL', RULE_TYPE: 'INBOUND' },
      ],
    },
    ...overrides,
  };
}

/** Two roles (one ANTI_AFFINED with host lists and VMs), a group-level AFFINED rule. */
export function vmGroup(overrides: Partial<NewRecord<VmGroupRecord>> = {}): NewRecord<VmGroupRecord> {
  return {
    uid: 0,
    gid: 0,
    name: 'web',
    permissions: 0o600,
    lock: null,
    roles: [
      {
        id: 0,
        name: 'front',
        policy: 'ANTI_AFFINED',
        hostAffined: [],
        hostAntiAffined: [3],
        vms: [4, 9],
        extra: {},
      },
      {
        id: 1,
        name: 'db',
        policy: 'NONE',
        hostAffined: [1, 2],
        hostAntiAffined: [],
        vms: [],
        extra: { NOTE: 'é' },
      },
    ],
    template: { AFFINED: ['db'], DESCRIPTION: ['multi-tier'] },
    ...overrides,
  };
}
