/**
 * `nimbus vm wait VM --state STATE`: polls the VM until it reaches STATE, gives up as soon as it
 * lands in a failure state (or DONE) it was not asked to wait for, or times out. STATE is a state
 * name as OpenNebula spells it (RUNNING, POWEROFF, BOOT_FAILURE) or a `STAT` short name (runn,
 * poff, fail), case-insensitive.
 */
import type { Command } from 'commander';
import {
  LcmState,
  STATE_KEYS_IN_USE,
  VmState,
  isFailureState,
  stateKey,
  stateLabel,
  statePair,
  vmShortState,
  type StateKey,
} from '../domain/vm/index.js';
import { clientFor, resolveId } from './client.js';
import { integerArgument, numberArgument } from './vm-arguments.js';
import { CliFailure, type CliIo } from './program.js';

/** What `--state` asked for: a label for messages and the (STATE, LCM_STATE) pairs that satisfy it. */
export interface WantedState {
  readonly label: string;
  readonly keys: ReadonlySet<StateKey>;
}

/** The part of a VM body the wait looks at. */
export interface VmStateView {
  readonly STATE: number;
  readonly LCM_STATE: number;
  readonly USER_TEMPLATE?: Record<string, unknown>;
}

const ACTIVE_KEYS: readonly StateKey[] = STATE_KEYS_IN_USE.filter(
  (k) => statePair(k).state === VmState.ACTIVE,
);

/** Every name `--state` accepts: full names first (ACTIVE is any LCM state), then short ones. */
export const WAIT_STATE_NAMES: readonly string[] = [
  ...STATE_KEYS_IN_USE.filter((k) => !Object.hasOwn(LcmState, k)),
  'ACTIVE',
  ...ACTIVE_KEYS,
  ...new Set(STATE_KEYS_IN_USE.map((k) => shortOf(k))),
];

function shortOf(key: StateKey): string {
  const pair = statePair(key);
  return vmShortState(pair.state, pair.lcmState);
}

/**
 * `--state` as the pairs it means. A full name is exact (`RUNNING` is ACTIVE/RUNNING, `ACTIVE`
 * any LCM state); a short name is every pair `onevm list` prints that way (`boot` would be all the
 * BOOT_* states, but the full name BOOT wins, as do HOLD, DONE and INIT). Undefined when unknown.
 */
export function parseWantedState(word: string): WantedState | undefined {
  const upper = word.trim().toUpperCase();
  if (upper === 'ACTIVE') return { label: 'ACTIVE', keys: new Set(ACTIVE_KEYS) };
  const exact = STATE_KEYS_IN_USE.find((k) => k === upper);
  if (exact !== undefined) return { label: exact, keys: new Set([exact]) };
  const lower = word.trim().toLowerCase();
  const keys = STATE_KEYS_IN_USE.filter((k) => shortOf(k) === lower);
  return keys.length === 0 ? undefined : { label: lower, keys: new Set(keys) };
}

/** The one-line answer to an unknown `--state`. */
export function unknownStateMessage(word: string): string {
  return `nimbus: --state: unknown VM state "${word}"; use one of ${WAIT_STATE_NAMES.join(', ')} (any case)`;
}

export type WaitVerdict = 'reached' | 'failed' | 'waiting';

/**
 * Where the VM stands: `reached` when it is in a wanted pair; `failed` when it is DONE, in
 * CLONING_FAILURE or in a `*_FAILURE` LCM state that was not wanted (it will not move on by itself);
 * `waiting` otherwise.
 */
export function waitVerdict(vm: VmStateView, wanted: WantedState): WaitVerdict {
  const key = stateKey({ state: vm.STATE, lcmState: vm.LCM_STATE });
  if (key !== undefined && wanted.keys.has(key)) return 'reached';
  if (vm.STATE === VmState.DONE || vm.STATE === VmState.CLONING_FAILURE) return 'failed';
  if (vm.STATE === VmState.ACTIVE && isFailureState(vm.LCM_STATE)) return 'failed';
  return 'waiting';
}

/** The VM's state as `onevm show` names it: the LCM name while ACTIVE, the state name otherwise. */
export function vmStateLabel(vm: VmStateView): string {
  return stateLabel(vm.STATE, vm.LCM_STATE);
}

export type WaitOutcome =
  | { readonly kind: 'reached'; readonly vm: VmStateView }
  | { readonly kind: 'failed'; readonly vm: VmStateView }
  | { readonly kind: 'timeout'; readonly vm: VmStateView };

/** Time as the wait sees it, so tests run it without real delays. */
export interface WaitClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: WaitClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly intervalMs: number;
  readonly clock?: WaitClock;
  /** Called with each state label the VM is seen in, the first one included. */
  readonly onState?: (label: string) => void;
}

/** Polls `readVm` until the verdict is not `waiting` or `timeoutMs` has passed. */
export async function waitForVmState(
  readVm: () => Promise<VmStateView>,
  wanted: WantedState,
  options: WaitOptions,
): Promise<WaitOutcome> {
  const clock = options.clock ?? realClock;
  const deadline = clock.now() + options.timeoutMs;
  let last: string | undefined;
  for (;;) {
    const vm = await readVm();
    const label = vmStateLabel(vm);
    if (label !== last) options.onState?.(label);
    last = label;
    const verdict = waitVerdict(vm, wanted);
    if (verdict !== 'waiting') return { kind: verdict, vm };
    const left = deadline - clock.now();
    if (left <= 0) return { kind: 'timeout', vm };
    await clock.sleep(Math.min(options.intervalMs, left));
  }
}

/** The USER_TEMPLATE/ERROR a driver left ("<ctime>: <message>"), if any. */
export function vmError(vm: VmStateView): string | undefined {
  const error = vm.USER_TEMPLATE?.ERROR;
  return typeof error === 'string' && error !== '' ? error : undefined;
}

/** The one-line message of a wait that did not reach its state; undefined when it did. */
export function waitFailureMessage(
  id: number,
  outcome: WaitOutcome,
  wanted: WantedState,
  timeoutSeconds: number,
): string | undefined {
  const now = vmStateLabel(outcome.vm);
  switch (outcome.kind) {
    case 'reached':
      return undefined;
    case 'failed': {
      const error = vmError(outcome.vm);
      return `nimbus: VM ${id} is in ${now} (wanted ${wanted.label})${error === undefined ? '' : `: ${error}`}`;
    }
    case 'timeout':
      return `nimbus: timed out after ${timeoutSeconds} s waiting for VM ${id} to be ${wanted.label}; it is ${now}`;
  }
}

/** Exit code of a wait that ended in a failure state or timed out (2 stays for bad input). */
export const EXIT_WAIT_FAILED = 1;

export function addWaitVerb(vm: Command, io: CliIo): void {
  vm.command('wait')
    .argument('<vm>', 'id or name')
    .requiredOption(
      '--state <state>',
      'state to wait for: RUNNING, POWEROFF, DONE, … or a short one (runn, poff)',
    )
    .option('--timeout <seconds>', 'give up after this many seconds', '60')
    .option('--interval <ms>', 'poll every this many milliseconds', '250')
    .option('--no-progress', 'do not print state changes on a terminal')
    .description('wait until a VM reaches a state; fail at once if it lands in a failure state or DONE')
    .action(
      async (
        ref: string,
        opts: { state: string; timeout: string; interval: string; progress: boolean },
        cmd: Command,
      ) => {
        const wanted = parseWantedState(opts.state);
        if (wanted === undefined) throw new CliFailure(unknownStateMessage(opts.state));
        const timeoutSeconds = numberArgument(opts.timeout, '--timeout', 0);
        const intervalMs = integerArgument(opts.interval, '--interval', 1);
        const client = await clientFor(cmd);
        const id = await resolveId(client, 'vms', 'VM_POOL', 'VM', ref);
        const showProgress = opts.progress && process.stderr.isTTY === true;
        const outcome = await waitForVmState(
          async () => (await client.request<{ VM: VmStateView }>('GET', `/api/v1/vms/${id}`)).VM,
          wanted,
          {
            timeoutMs: timeoutSeconds * 1000,
            intervalMs,
            ...(showProgress ? { onState: (label: string) => io.stderr(`VM ${id}: ${label}\n`) } : {}),
          },
        );
        const failure = waitFailureMessage(id, outcome, wanted, timeoutSeconds);
        if (failure !== undefined) throw new CliFailure(failure, EXIT_WAIT_FAILED);
      },
    );
}
