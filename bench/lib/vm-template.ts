/** The VM template the benchmarks store: a realistic deployed VM (two disks, two NICs, context). */
import type { Template } from '../../src/domain/template/types.js';

export function benchVmTemplate(i: number): Template {
  const hex = (n: number): string => (n & 255).toString(16).padStart(2, '0');
  const ip = (n: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${(i + n) & 255}`;
  return {
    AUTOMATIC_DS_REQUIREMENTS: ['("CLUSTERS/ID" @> 0)'],
    AUTOMATIC_REQUIREMENTS: ['(CLUSTER_ID = 0) & !(PUBLIC_CLOUD = YES) & !(PIN_POLICY = PINNED)'],
    CONTEXT: [
      {
        DISK_ID: '2',
        ETH0_IP: ip(0),
        ETH0_MAC: `02:00:0a:00:${hex(i >> 8)}:${hex(i)}`,
        NETWORK: 'YES',
        SSH_PUBLIC_KEY:
          'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0wmN/Cr3JXqmLW7u+g9pTh+wyqDHpSQEIQczXkVx9q ops@example.org',
        START_SCRIPT_BASE64: 'IyEvYmluL3NoCmVjaG8gImhlbGxvIiA+IC90bXAvaGVsbG8K',
        TARGET: 'hda',
      },
    ],
    CPU: ['1'],
    DISK: [
      {
        CLONE: 'YES',
        DATASTORE: 'default',
        DATASTORE_ID: '1',
        DEV_PREFIX: 'vd',
        DISK_ID: '0',
        DISK_TYPE: 'FILE',
        DRIVER: 'qcow2',
        IMAGE: 'debian-12',
        IMAGE_ID: '3',
        SIZE: '10240',
        SOURCE: '/var/lib/nimbus/datastores/1/8c2b6a1e0f',
        TARGET: 'vda',
        TM_MAD: 'qcow2',
        TYPE: 'FILE',
      },
      { DISK_ID: '1', FORMAT: 'raw', SIZE: '2048', TARGET: 'vdb', TYPE: 'swap' },
    ],
    GRAPHICS: [{ LISTEN: '127.0.0.1', PORT: String(5900 + (i % 59_000)), TYPE: 'VNC' }],
    MEMORY: ['2048'],
    NIC: [0, 1].map((n) => ({
      AR_ID: '0',
      BRIDGE: 'br0',
      IP: ip(n),
      MAC: `02:00:0a:0${n}:${hex(i >> 8)}:${hex(i)}`,
      MODEL: 'virtio',
      NETWORK: 'private',
      NETWORK_ID: '0',
      NIC_ID: String(n),
      SECURITY_GROUPS: '0',
      TARGET: `one-${i}-${n}`,
      VN_MAD: 'bridge',
    })),
    OS: [{ ARCH: 'x86_64', BOOT: 'disk0' }],
    TEMPLATE_ID: ['0'],
    VMID: [String(i)],
  };
}
