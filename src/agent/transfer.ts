/**
 * The transfer manager side of the agent (TM ops: prolog, epilog, prolog-migrate ...): what puts
 * a VM's disks and context in place on the host before deploy and takes them away after, as
 * OpenNebula's TM_MAD. `dummy` hosts simulate it; real transfers arrive with the qemu driver.
 */
import type { Result } from '../domain/errors.js';
import type { TmOp } from '../domain/vm/plan.js';
import {
  TM_OPS,
  deployIdOf,
  type OperationFailure,
  type OperationValue,
  type TmOperation,
} from '../protocol/agent.js';
import {
  SYSTEM_CLOCK,
  dummyKnobs,
  type DriverClock,
  type DriverOptions,
  type DummyKnobs,
  type OperationContext,
} from './vmm/index.js';

export type TransferOutcome = Result<OperationValue, OperationFailure>;

export interface TransferDriver {
  /** TM_MAD-like name: `dummy`. */
  readonly name: string;
  /** Runs one TM op; the answer is what the `result` message carries. Aborts on `ctx.signal`. */
  perform(operation: TmOperation, ctx: OperationContext): Promise<TransferOutcome>;
}

/** TM ops the dummy transfer simulates (driver-cancel is the runtime's: it aborts another op). */
export const DUMMY_TRANSFER_OPS: readonly TmOp[] = TM_OPS.filter((op) => op !== 'driver-cancel');

/**
 * Simulated transfers: each op waits DUMMY_DELAY_MS (abortable) and fails when its name is in
 * the host's DUMMY_FAIL, like the dummy hypervisor driver. Nothing is copied.
 */
export class DummyTransfer implements TransferDriver {
  readonly name = 'dummy';

  constructor(
    readonly hostId: number,
    readonly knobs: DummyKnobs,
    private readonly clock: DriverClock = SYSTEM_CLOCK,
  ) {}

  async perform(operation: TmOperation, ctx: OperationContext): Promise<TransferOutcome> {
    const op = operation.op;
    const deployId = operation.deployId ?? deployIdOf(operation.vmId);
    const failure = (code: string, message: string): TransferOutcome => ({
      ok: false,
      error: { code, message, step: op },
    });
    if (!DUMMY_TRANSFER_OPS.includes(op)) {
      return failure('NOT_SUPPORTED', `the dummy transfer does not run "${op}"`);
    }
    ctx.progress(0, `${op} ${deployId} on dummy host ${this.hostId}`);
    const aborted = (): TransferOutcome =>
      failure('ABORTED', `${op} of ${deployId} aborted: ${String(ctx.signal.reason ?? 'cancelled')}`);
    if (this.knobs.delayMs > 0) {
      try {
        await this.clock.sleep(this.knobs.delayMs, ctx.signal);
      } catch {
        return aborted();
      }
    }
    if (ctx.signal.aborted) return aborted();
    if (this.knobs.failing.has(op)) {
      return failure(
        'DRIVER_FAILED',
        `${op} of ${deployId} failed: host ${this.hostId} has DUMMY_FAIL = "${[...this.knobs.failing].join(',')}"`,
      );
    }
    ctx.progress(100, `${op} ${deployId} done`);
    return { ok: true, value: {} };
  }
}

/** TM ops the transfer of `driverName` hosts runs, known before the driver loads (for hello). */
export function transferOperations(driverName: string): readonly TmOp[] {
  return driverName === 'dummy' ? DUMMY_TRANSFER_OPS : [];
}

/**
 * The transfer driver that goes with hypervisor driver `driverName`, or undefined when there is
 * none yet (TM ops then answer NOT_SUPPORTED). Throws BAD_HOST_ATTRIBUTE like the driver does.
 */
export function openTransfer(driverName: string, options: DriverOptions): TransferDriver | undefined {
  if (driverName !== 'dummy') return undefined;
  return new DummyTransfer(options.hostId, dummyKnobs(options.hostId, options.attributes), options.clock);
}
