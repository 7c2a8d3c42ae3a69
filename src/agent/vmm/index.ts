/**
 * The VMM side of the agent: the driver interface, the one place a driver is chosen, and the
 * mapping from a protocol `operation` (driver: 'vmm') to a driver call.
 */
import {
  deployIdOf,
  type OperationFailure,
  type OperationValue,
  type VmmOperation,
} from '../../protocol/agent.js';
import type { Result } from '../../domain/errors.js';
import type { DriverResult, HypervisorDriver, OperationContext } from './driver.js';

export * from './driver.js';
export { DummyDriver, openDummyDriver, dummyKnobs, DUMMY_DEFAULTS, type DummyKnobs } from './dummy.js';

/** Ops of the protocol's VMM list that the driver interface runs today. */
export const VMM_OPS_RUN_BY_DRIVERS = [
  'deploy',
  'restore',
  'shutdown',
  'cancel',
  'save',
  'migrate',
  'reboot',
  'reset',
  'attach-disk',
  'detach-disk',
  'attach-nic',
  'detach-nic',
  'resize',
  'disk-resize',
  'cleanup',
] as const;

export type VmmOutcome = Result<OperationValue, OperationFailure>;

const done = (r: DriverResult<unknown>, value: OperationValue = {}): VmmOutcome =>
  r.ok
    ? { ok: true, value }
    : { ok: false, error: { code: r.error.code, message: r.error.message, step: r.error.step } };

/** Runs one VMM operation on `driver`; the answer is what the `result` message carries. */
export async function performVmmOperation(
  driver: HypervisorDriver,
  operation: VmmOperation,
  ctx: OperationContext,
): Promise<VmmOutcome> {
  const deployId = operation.deployId ?? deployIdOf(operation.vmId);
  switch (operation.op) {
    case 'deploy': {
      const r = await driver.deploy(operation.args.spec, ctx);
      return r.ok ? { ok: true, value: { deployId: r.value.deployId } } : done(r);
    }
    case 'restore': {
      const r = await driver.restore(operation.args.spec, operation.args.checkpoint, ctx);
      return r.ok ? { ok: true, value: { deployId: r.value.deployId } } : done(r);
    }
    case 'shutdown':
      return done(await driver.shutdown(deployId, ctx));
    // A VMM cleanup of a failed VM destroys whatever is left of it (cancel of a gone VM succeeds).
    case 'cancel':
    case 'cleanup':
      return done(await driver.cancel(deployId, ctx));
    case 'save':
      return done(await driver.save(deployId, operation.args.checkpoint, ctx));
    case 'migrate': {
      const args = operation.args;
      if (args.role === 'receive') {
        const r = await driver.migrateReceive(args.spec, ctx);
        return r.ok ? { ok: true, value: { deployId: r.value.deployId, target: r.value.target } } : done(r);
      }
      return done(await driver.migrateSend(deployId, args.target, ctx));
    }
    case 'reboot':
      return done(await driver.reboot(deployId, ctx));
    case 'reset':
      return done(await driver.reset(deployId, ctx));
    case 'attach-disk':
      return done(await driver.attachDisk(deployId, operation.args.disk, ctx));
    case 'detach-disk':
      return done(await driver.detachDisk(deployId, operation.args.diskId, ctx));
    case 'attach-nic':
      return done(await driver.attachNic(deployId, operation.args.nic, ctx));
    case 'detach-nic':
      return done(await driver.detachNic(deployId, operation.args.nicId, ctx));
    case 'resize':
      return done(await driver.resize(deployId, operation.args.resize, ctx));
    case 'disk-resize':
      return done(await driver.resizeDisk(deployId, operation.args.diskId, operation.args.size, ctx));
    default:
      return {
        ok: false,
        error: {
          code: 'NOT_SUPPORTED',
          message: `the ${driver.name} driver does not run "${operation.op}" yet`,
          step: operation.op,
        },
      };
  }
}
