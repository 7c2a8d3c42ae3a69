/** VM groups as the scheduler sees them: roles, policies, host lists, role rules and members. */
import { vmGroupRules } from '../../domain/vmgroup/index.js';
import type { SchedGroup } from '../../scheduler/model.js';
import type { Store } from '../../store/index.js';

export async function vmGroupsForScheduler(store: Store): Promise<SchedGroup[]> {
  return (await store.vmGroups.list()).items.map((g) => vmGroupRules(g));
}
