import { randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { bootstrapAclRules } from '../domain/auth/acl.js';
import { bootstrapIdentities } from '../domain/auth/users.js';
import { bootstrapCluster } from '../domain/cluster/membership.js';
import { bootstrapDatastores } from '../domain/datastore/bootstrap.js';
import { NimbusError } from '../domain/errors.js';
import { newHostRecord, validateHostCreate } from '../domain/host/create.js';
import type { Store } from '../store/index.js';
import { hashPassword } from './auth.js';
import type { DaemonConfig } from './config.js';

/** OpenNebula reserves the first 100 ids of these pools for system objects (GroupPool,
 * ClusterPool, DatastorePool): user-made groups, clusters and datastores start at 100. */
const FIRST_USER_ID = 100;

export interface BootstrapResult {
  /** True on the first start (the objects were created now). */
  readonly created: boolean;
  /** Where the oneadmin credentials were written, on first start. */
  readonly authFile: string | null;
}

/**
 * First start, as OpenNebula (reference §11.1): users oneadmin (0) and serveradmin (1), groups
 * oneadmin (0) and users (1), the bootstrap ACL rules, cluster 0 `default`, security group 0
 * `default`, datastores 0 system, 1 default, 2 files, and the local machine as host 0 unless
 * `localHost` is none — all in one transaction. The admin password is NIMBUS_ADMIN_PASSWORD or
 * generated, and is written only to HOME/one_auth (mode 600), never logged.
 */
export async function bootstrap(
  store: Store,
  config: DaemonConfig,
  adminPassword: string | undefined,
): Promise<BootstrapResult> {
  if ((await store.users.find(0)) !== undefined) return { created: false, authFile: null };
  const password =
    adminPassword !== undefined && adminPassword !== ''
      ? adminPassword
      : randomBytes(18).toString('base64url');
  if (/\s/.test(password))
    throw new NimbusError('CONFIG_INVALID', 'NIMBUS_ADMIN_PASSWORD cannot contain blanks');
  const identities = bootstrapIdentities({
    oneadminPassword: await hashPassword(password),
    serveradminPassword: await hashPassword(randomBytes(24).toString('base64url')),
  });
  if (!identities.ok) throw new NimbusError(identities.error.code, identities.error.message);

  const datastores = bootstrapDatastores({ location: config.datastoreLocation });
  const now = Math.floor(Date.now() / 1000);
  await store.transaction(async (tx) => {
    for (const user of identities.value.users) await tx.users.insert(user);
    for (const group of identities.value.groups) await tx.groups.insert(group);
    for (const rule of bootstrapAclRules(0)) await tx.acl.insert(rule);
    await tx.clusters.insert(bootstrapCluster());
    await tx.securityGroups.insert({
      uid: 0,
      gid: 0,
      name: 'default',
      permissions: 0o600,
      lock: null,
      template: {
        DESCRIPTION: [
          'The default security group is added to every network. Use it to add default filter rules for your networks.',
        ],
        RULE: [
          { PROTOCOL: 'ALL', RULE_TYPE: 'OUTBOUND' },
          { PROTOCOL: 'ALL', RULE_TYPE: 'INBOUND' },
        ],
      },
    });
    for (const ds of datastores) await tx.datastores.insert(ds);
    if (config.localHost !== 'none') {
      // The QEMU driver arrives with the real-VM issue; until then host 0 is simulated.
      const driver = config.localHost === 'qemu' ? 'dummy' : config.localHost;
      const spec = validateHostCreate({ name: localHostName(), imMad: driver, vmMad: driver, clusterId: 0 });
      if (!spec.ok) throw new NimbusError(spec.error.code, spec.error.message);
      await tx.hosts.insert(newHostRecord(spec.value, 0));
    }
    for (const pool of ['group', 'cluster', 'datastore'] as const)
      await tx.sequences.advanceTo(pool, FIRST_USER_ID);
    void now;
  });
  for (const ds of datastores) await mkdir(ds.basePath, { recursive: true, mode: 0o750 });
  const authFile = join(config.home, 'one_auth');
  await writeFile(authFile, `oneadmin:${password}\n`, { mode: 0o600 });
  await chmod(authFile, 0o600);
  return { created: true, authFile };
}

function localHostName(): string {
  const name = hostname().trim();
  return /^[A-Za-z0-9._-]{1,128}$/.test(name) ? name : 'localhost';
}
