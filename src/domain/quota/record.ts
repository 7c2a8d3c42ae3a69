/**
 * Quotas (reference §11.6). A limit of -1 means "use the default quota", -2 unlimited.
 * Each limit has a matching *Used counter.
 */
export interface VmQuota {
  readonly vms: number;
  readonly vmsUsed: number;
  readonly cpu: number;
  readonly cpuUsed: number;
  readonly memory: number;
  readonly memoryUsed: number;
  readonly runningVms: number;
  readonly runningVmsUsed: number;
  readonly runningCpu: number;
  readonly runningCpuUsed: number;
  readonly runningMemory: number;
  readonly runningMemoryUsed: number;
  readonly systemDiskSize: number;
  readonly systemDiskSizeUsed: number;
}

export interface DatastoreQuota {
  readonly id: number;
  readonly images: number;
  readonly imagesUsed: number;
  /** MB */
  readonly size: number;
  readonly sizeUsed: number;
}

export interface NetworkQuota {
  readonly id: number;
  readonly leases: number;
  readonly leasesUsed: number;
}

export interface ImageQuota {
  readonly id: number;
  readonly rvms: number;
  readonly rvmsUsed: number;
}

export interface QuotaSet {
  readonly vm: VmQuota | null;
  readonly datastore: readonly DatastoreQuota[];
  readonly network: readonly NetworkQuota[];
  readonly image: readonly ImageQuota[];
}
