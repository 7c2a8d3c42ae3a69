import type { Template, TemplateValue, VectorValue } from '../../domain/template/types.js';
import {
  allowedActions,
  lifecycleView,
  lcmStateName,
  stateName,
  vmShortState,
  type HistoryRecord,
  type VmRecord,
} from '../../domain/vm/index.js';
import { idsBody, lockBody, permissionsBody, redactSecrets, templateBody, type Names } from './common.js';

/** HISTORY (reference §2.2, 6.x order). */
export function historyBody(h: HistoryRecord): Record<string, unknown> {
  return {
    OID: h.oid,
    SEQ: h.seq,
    HOSTNAME: h.hostname,
    HID: h.hid,
    CID: h.cid,
    STIME: h.stime,
    ETIME: h.etime,
    VM_MAD: h.vmMad,
    TM_MAD: h.tmMad,
    DS_ID: h.dsId,
    PSTIME: h.pstime,
    PETIME: h.petime,
    RSTIME: h.rstime,
    RETIME: h.retime,
    ESTIME: h.estime,
    EETIME: h.eetime,
    ACTION: h.action,
    UID: h.uid,
    GID: h.gid,
    REQUEST_ID: h.requestId,
  };
}

/** Readable extras after the OpenNebula elements: state names and the CLI's STAT string. */
function stateExtras(vm: VmRecord): Record<string, string> {
  return {
    STATE_NAME: stateName(vm.state),
    LCM_STATE_NAME: lcmStateName(vm.lcmState),
    SHORT_STATE: vmShortState(vm.state, vm.lcmState),
  };
}

/** The actions a UI may offer now and, for the others, why not (`allowedActions` of the lifecycle table). */
export function actionAvailability(
  vm: VmRecord,
  history: readonly HistoryRecord[],
): { allowed: string[]; denied: Record<string, string> } {
  const table = allowedActions(lifecycleView(vm, history));
  const allowed: string[] = [];
  const denied: Record<string, string> = {};
  for (const [name, a] of Object.entries(table)) {
    if (a.allowed) allowed.push(name);
    else denied[name] = a.reason;
  }
  return { allowed, denied };
}

export function allowedActionNames(vm: VmRecord, history: readonly HistoryRecord[]): string[] {
  return actionAvailability(vm, history).allowed;
}

/** MONITORING as OpenNebula's strings (§12.3: CPU, MEMORY, NET*, DISK*; DISK_SIZE as vectors). */
function monitoringBody(data: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    if (key === 'SAMPLES') continue;
    if (typeof value === 'number') out[key] = String(value);
    else if (Array.isArray(value))
      out[key] = value.map((v) =>
        Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, String(x)])),
      );
  }
  return out;
}

/**
 * The full VM body (`one.vm.info`, `one.vmpool.infoextended`; reference §2.2, serializer order),
 * then STATE_NAME, LCM_STATE_NAME, SHORT_STATE and, for `show`, ALLOWED_ACTIONS.
 */
export function vmBody(
  vm: VmRecord,
  history: readonly HistoryRecord[],
  names: Names,
  options: {
    allowedActions: boolean;
    /** The newest monitoring sample (the monitoring service keeps it; VM rows are not rewritten). */
    latest?: { readonly ts: number; readonly data: Readonly<Record<string, unknown>> } | undefined;
  },
): Record<string, unknown> {
  const latest = options.latest;
  const body: Record<string, unknown> = {
    ID: vm.id,
    UID: vm.uid,
    GID: vm.gid,
    UNAME: names.user(vm.uid),
    GNAME: names.group(vm.gid),
    NAME: vm.name,
    PERMISSIONS: permissionsBody(vm.permissions),
    LAST_POLL: latest !== undefined ? Math.max(latest.ts, vm.lastPoll) : vm.lastPoll,
    STATE: vm.state,
    LCM_STATE: vm.lcmState,
    PREV_STATE: vm.prevState,
    PREV_LCM_STATE: vm.prevLcmState,
    RESCHED: vm.resched ? 1 : 0,
    STIME: vm.stime,
    ETIME: vm.etime,
    DEPLOY_ID: vm.deployId,
  };
  const lock = lockBody(vm.lock);
  if (lock !== undefined) body.LOCK = lock;
  body.MONITORING =
    latest === undefined
      ? { ...vm.monitoring }
      : { ...vm.monitoring, ...monitoringBody(latest.data), TIMESTAMP: String(latest.ts) };
  body.SCHED_ACTIONS = idsBody([]);
  body.TEMPLATE = templateBody(vm.template);
  body.USER_TEMPLATE = templateBody(vm.userTemplate);
  body.HISTORY_RECORDS = { HISTORY: history.map(historyBody) };
  Object.assign(body, stateExtras(vm));
  if (options.allowedActions) {
    const availability = actionAvailability(vm, history);
    body.ALLOWED_ACTIONS = availability.allowed;
    body.DENIED_ACTIONS = availability.denied;
  }
  return body;
}

// -------------------------------------------------------------------------------------------------
// Short body: built by picking, without converting whole templates (lists of 100k VMs use it).

const SHORT_DISK = [
  'DISK_ID',
  'DATASTORE',
  'DATASTORE_ID',
  'IMAGE',
  'IMAGE_ID',
  'SIZE',
  'TYPE',
  'CLONE',
  'CLONE_TARGET',
  'LN_TARGET',
  'DISK_SNAPSHOT_TOTAL_SIZE',
];
const SHORT_NIC = [
  'IP',
  'EXTERNAL_IP',
  'IP6',
  'IP6_ULA',
  'IP6_LINK',
  'IP6_GLOBAL',
  'NETWORK_MODE',
  'SCHED_REQUIREMENTS',
  'SCHED_RANK',
  'MAC',
  'NETWORK',
  'NETWORK_ID',
  'NIC_ID',
  'SECURITY_GROUPS',
];
const SHORT_USER = [
  'LABELS',
  'ERROR',
  'SCHED_MESSAGE',
  'SCHED_RANK',
  'SCHED_DS_RANK',
  'SCHED_REQUIREMENTS',
  'SCHED_DS_REQUIREMENTS',
  'USER_PRIORITY',
];
const SHORT_MONITORING = ['CPU', 'MEMORY', 'STATE'];

type JsonValue = string | (string | VectorValue)[];

/** One attribute in the JSON form of templateToJson (single once → string, else an array). */
function jsonOf(values: readonly TemplateValue[]): JsonValue {
  return values.length === 1 && typeof values[0] === 'string' ? values[0] : [...values];
}

function pickVectors(values: readonly TemplateValue[] | undefined, keys: readonly string[]): VectorValue[] {
  const out: VectorValue[] = [];
  for (const v of values ?? []) {
    if (typeof v === 'string') continue;
    const picked: Record<string, string> = {};
    for (const k of keys) {
      const s = v[k];
      if (s !== undefined) picked[k] = s;
    }
    out.push(picked);
  }
  return out;
}

function shortTemplate(t: Template): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const name of ['CPU', 'MEMORY', 'VCPU']) {
    const values = t[name];
    if (values !== undefined) out[name] = jsonOf(values);
  }
  if (t.DISK !== undefined) out.DISK = pickVectors(t.DISK, SHORT_DISK);
  if (t.NIC !== undefined) out.NIC = pickVectors(t.NIC, SHORT_NIC);
  if (t.GRAPHICS !== undefined) out.GRAPHICS = [...(redactSecrets({ GRAPHICS: t.GRAPHICS }).GRAPHICS ?? [])];
  return out;
}

function shortUserTemplate(t: Template): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const name of SHORT_USER) {
    const values = t[name];
    if (values !== undefined) out[name] = jsonOf(values);
  }
  for (const name in t) {
    if (name.startsWith('PUBLIC_CLOUD') || name === 'SCHED_ACTION') out[name] = jsonOf(t[name]!);
  }
  return out;
}

/**
 * Short bodies as JSON text, kept per VM while nothing they show changed: the VM's version, the
 * short fields of its last HISTORY record and the user / group names. Listing 20,000 VMs then
 * joins strings instead of building and serializing 20,000 objects.
 */
export class ShortBodyCache {
  readonly #entries = new Map<number, { key: string; json: string }>();
  constructor(private readonly capacity = 200_000) {}

  json(vm: VmRecord, lastHistory: HistoryRecord | undefined, names: Names & { generation: number }): string {
    const h = lastHistory;
    const key =
      h === undefined
        ? `${vm.version}|${names.generation}`
        : `${vm.version}|${names.generation}|${h.seq}|${h.hid}|${h.cid}|${h.dsId}|${h.action}|${h.hostname}|${h.vmMad}|${h.tmMad}`;
    const hit = this.#entries.get(vm.id);
    if (hit !== undefined && hit.key === key) return hit.json;
    const json = JSON.stringify(vmShortBody(vm, lastHistory, names));
    if (this.#entries.size >= this.capacity) this.#entries.clear();
    this.#entries.set(vm.id, { key, json });
    return json;
  }
}

/** The short VM body of `one.vmpool.info` (reference §2.3), plus the state extras. */
export function vmShortBody(
  vm: VmRecord,
  lastHistory: HistoryRecord | undefined,
  names: Names,
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    ID: vm.id,
    UID: vm.uid,
    GID: vm.gid,
    UNAME: names.user(vm.uid),
    GNAME: names.group(vm.gid),
    NAME: vm.name,
    LAST_POLL: vm.lastPoll,
    STATE: vm.state,
    LCM_STATE: vm.lcmState,
    RESCHED: vm.resched ? 1 : 0,
    STIME: vm.stime,
    ETIME: vm.etime,
    DEPLOY_ID: vm.deployId,
  };
  const lock = lockBody(vm.lock);
  if (lock !== undefined) body.LOCK = lock;
  body.TEMPLATE = shortTemplate(vm.template);
  const monitoring: Record<string, string> = {};
  for (const k of SHORT_MONITORING) {
    const v = vm.monitoring[k];
    if (v !== undefined) monitoring[k] = v;
  }
  body.MONITORING = monitoring;
  body.USER_TEMPLATE = shortUserTemplate(vm.userTemplate);
  body.HISTORY_RECORDS =
    lastHistory === undefined
      ? { HISTORY: [] }
      : {
          HISTORY: [
            {
              OID: lastHistory.oid,
              SEQ: lastHistory.seq,
              HOSTNAME: lastHistory.hostname,
              HID: lastHistory.hid,
              CID: lastHistory.cid,
              DS_ID: lastHistory.dsId,
              VM_MAD: lastHistory.vmMad,
              TM_MAD: lastHistory.tmMad,
              ACTION: lastHistory.action,
            },
          ],
        };
  body.STATE_NAME = stateName(vm.state);
  body.LCM_STATE_NAME = lcmStateName(vm.lcmState);
  body.SHORT_STATE = vmShortState(vm.state, vm.lcmState);
  return body;
}
