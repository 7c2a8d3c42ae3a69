import type { UserRecord } from '../../domain/auth/record.js';
import type { QuotaSet } from '../../domain/quota/record.js';
import { idsBody, REDACTED, templateBody, type Names } from './common.js';

/** USER body (reference §2.9), JSON with numbers. Quota blocks only in `show` (`one.user.info`). */
export function userBody(
  user: UserRecord,
  names: Names,
  options: { quotas: boolean },
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    ID: user.id,
    GID: user.gid,
    GROUPS: idsBody(user.groups),
    GNAME: names.group(user.gid),
    NAME: user.name,
    PASSWORD: REDACTED,
    AUTH_DRIVER: user.authDriver,
    ENABLED: user.enabled ? 1 : 0,
    LOGIN_TOKEN: user.loginTokens.map((t) => ({
      TOKEN: REDACTED,
      EXPIRATION_TIME: t.expirationTime,
      EGID: t.egid,
    })),
    TEMPLATE: templateBody(user.template),
  };
  if (options.quotas) Object.assign(body, quotaBody(user.quotas));
  return body;
}

/** DATASTORE_QUOTA, NETWORK_QUOTA, VM_QUOTA, IMAGE_QUOTA blocks (reference §2.9). */
export function quotaBody(q: QuotaSet): Record<string, unknown> {
  return {
    DATASTORE_QUOTA: {
      DATASTORE: q.datastore.map((d) => ({
        ID: d.id,
        IMAGES: d.images,
        IMAGES_USED: d.imagesUsed,
        SIZE: d.size,
        SIZE_USED: d.sizeUsed,
      })),
    },
    NETWORK_QUOTA: {
      NETWORK: q.network.map((n) => ({ ID: n.id, LEASES: n.leases, LEASES_USED: n.leasesUsed })),
    },
    VM_QUOTA:
      q.vm === null
        ? {}
        : {
            VM: {
              CPU: q.vm.cpu,
              CPU_USED: q.vm.cpuUsed,
              MEMORY: q.vm.memory,
              MEMORY_USED: q.vm.memoryUsed,
              RUNNING_CPU: q.vm.runningCpu,
              RUNNING_CPU_USED: q.vm.runningCpuUsed,
              RUNNING_MEMORY: q.vm.runningMemory,
              RUNNING_MEMORY_USED: q.vm.runningMemoryUsed,
              RUNNING_VMS: q.vm.runningVms,
              RUNNING_VMS_USED: q.vm.runningVmsUsed,
              SYSTEM_DISK_SIZE: q.vm.systemDiskSize,
              SYSTEM_DISK_SIZE_USED: q.vm.systemDiskSizeUsed,
              VMS: q.vm.vms,
              VMS_USED: q.vm.vmsUsed,
            },
          },
    IMAGE_QUOTA: { IMAGE: q.image.map((i) => ({ ID: i.id, RVMS: i.rvms, RVMS_USED: i.rvmsUsed })) },
  };
}
