import type { Template } from '../template/types.js';
import type { DatastoreRecord } from './record.js';

/**
 * Driver facts from oned.conf (reference §9.1): TM_MAD_CONF and DS_MAD_CONF. They decide where a
 * disk's bytes live (LN_TARGET / CLONE_TARGET), whether a system datastore is shared between
 * hosts, and which datastores take persistent images only.
 */

/** Where a disk is created: in the system DS of the host, in the image DS itself, or nowhere. */
export type TmTarget = 'NONE' | 'SELF' | 'SYSTEM';

export interface TmMadConf {
  readonly name: string;
  /** Persistent disks (TM `LN`). */
  readonly lnTarget: TmTarget;
  /** Non-persistent disks (TM `CLONE`). */
  readonly cloneTarget: TmTarget;
  /** As a system DS: is it shared between the hosts (no copy on migrate)? */
  readonly shared: boolean;
  readonly dsMigrate: boolean;
  /** Disk driver forced by the TM (qcow2 overlays); undefined keeps the image FORMAT. */
  readonly driver?: 'raw' | 'qcow2';
}

export const TM_MAD_CONF: Readonly<Record<string, TmMadConf>> = {
  ssh: { name: 'ssh', lnTarget: 'SYSTEM', cloneTarget: 'SYSTEM', shared: false, dsMigrate: true },
  shared: { name: 'shared', lnTarget: 'NONE', cloneTarget: 'SYSTEM', shared: true, dsMigrate: true },
  qcow2: {
    name: 'qcow2',
    lnTarget: 'NONE',
    cloneTarget: 'SYSTEM',
    shared: true,
    dsMigrate: true,
    driver: 'qcow2',
  },
  ceph: {
    name: 'ceph',
    lnTarget: 'NONE',
    cloneTarget: 'SELF',
    shared: true,
    dsMigrate: false,
    driver: 'raw',
  },
  dummy: { name: 'dummy', lnTarget: 'NONE', cloneTarget: 'SYSTEM', shared: true, dsMigrate: true },
};

export interface DsMadConf {
  readonly name: string;
  /** Attributes the datastore template must define (non-empty). */
  readonly requiredAttrs: readonly string[];
  /** The datastore refuses non-persistent images. */
  readonly persistentOnly: boolean;
  /** BACKUP_DS drivers only back up; the others hold images. */
  readonly backup: boolean;
}

export const DS_MAD_CONF: Readonly<Record<string, DsMadConf>> = {
  fs: { name: 'fs', requiredAttrs: [], persistentOnly: false, backup: false },
  dummy: { name: 'dummy', requiredAttrs: [], persistentOnly: false, backup: false },
  ceph: { name: 'ceph', requiredAttrs: ['DISK_TYPE', 'BRIDGE_LIST'], persistentOnly: false, backup: false },
  dev: { name: 'dev', requiredAttrs: ['DISK_TYPE'], persistentOnly: true, backup: false },
  rsync: { name: 'rsync', requiredAttrs: ['RSYNC_HOST', 'RSYNC_USER'], persistentOnly: true, backup: true },
  restic: {
    name: 'restic',
    requiredAttrs: ['RESTIC_PASSWORD', 'RESTIC_SFTP_SERVER'],
    persistentOnly: true,
    backup: true,
  },
};

function yes(template: Template, name: string): boolean | undefined {
  const value = template[name]?.[0];
  return typeof value === 'string' && value.trim() !== '' ? value.trim().toUpperCase() === 'YES' : undefined;
}

/** PERSISTENT_ONLY: the datastore template wins, then DS_MAD_CONF. */
export function isPersistentOnly(ds: Pick<DatastoreRecord, 'dsMad' | 'template'>): boolean {
  return yes(ds.template, 'PERSISTENT_ONLY') ?? DS_MAD_CONF[ds.dsMad]?.persistentOnly ?? false;
}

/** LN_TARGET / CLONE_TARGET / SHARED of a datastore: its template wins, then TM_MAD_CONF. */
export function tmTargetsOf(ds: Pick<DatastoreRecord, 'tmMad' | 'template'>): {
  readonly lnTarget: TmTarget;
  readonly cloneTarget: TmTarget;
  readonly shared: boolean;
} {
  const conf = TM_MAD_CONF[ds.tmMad];
  const target = (name: string, fallback: TmTarget): TmTarget => {
    const value = ds.template[name]?.[0];
    const upper = typeof value === 'string' ? value.trim().toUpperCase() : '';
    return upper === 'NONE' || upper === 'SELF' || upper === 'SYSTEM' ? upper : fallback;
  };
  return {
    lnTarget: target('LN_TARGET', conf?.lnTarget ?? 'NONE'),
    cloneTarget: target('CLONE_TARGET', conf?.cloneTarget ?? 'SYSTEM'),
    shared: yes(ds.template, 'SHARED') ?? conf?.shared ?? false,
  };
}
