import type { OwnedObject } from '../object.js';
import type { Template } from '../template/types.js';

/** A virtual machine (reference §2.2). STATE / LCM_STATE numbers are OpenNebula's (§3.1–3.2). */
export interface VmRecord extends OwnedObject {
  /** VM STATE (§3.1) */
  readonly state: number;
  /** LCM_STATE (§3.2); 0 unless state is ACTIVE (3). */
  readonly lcmState: number;
  readonly prevState: number;
  readonly prevLcmState: number;
  readonly resched: boolean;
  /** Submit time, epoch seconds. */
  readonly stime: number;
  /** End time, epoch seconds; 0 while alive. */
  readonly etime: number;
  /** Hypervisor id, e.g. `one-42`; '' until deployed. */
  readonly deployId: string;
  /** Epoch of the last monitoring record; 0 if none. */
  readonly lastPoll: number;
  /** Latest monitoring figures (MONITORING block, §2.2). */
  readonly monitoring: Readonly<Record<string, string>>;
  /** Everything the user supplied that is not a system attribute (USER_TEMPLATE). */
  readonly userTemplate: Template;
  /** Host of the current history record, or null when not placed. */
  readonly hostId: number | null;
}

/** One HISTORY record (reference §2.2, 6.x order). Times are epoch seconds, 0 when not reached. */
export interface HistoryRecord {
  readonly oid: number;
  readonly seq: number;
  readonly hostname: string;
  readonly hid: number;
  readonly cid: number;
  readonly stime: number;
  readonly etime: number;
  readonly vmMad: string;
  readonly tmMad: string;
  readonly dsId: number;
  readonly pstime: number;
  readonly petime: number;
  readonly rstime: number;
  readonly retime: number;
  readonly estime: number;
  readonly eetime: number;
  /** History ACTION code (§3.6) */
  readonly action: number;
  readonly uid: number;
  readonly gid: number;
  readonly requestId: number;
}
