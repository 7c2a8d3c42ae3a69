/**
 * GRAPHICS/PORT when a VM is placed (reference §8.1): at deploy the requested port if free in the
 * target cluster, else OpenNebula's hint or the lowest free port; at a migration to another
 * cluster a port there too (the same number when live), the old one kept in
 * GRAPHICS/PREVIOUS_PORT until the migration ends (`vnc-port` effects in apply.ts).
 */
import { NimbusError, type Result } from '../../domain/errors.js';
import { getVectors } from '../../domain/template/attributes.js';
import type { TemplateValue, VectorValue } from '../../domain/template/types.js';
import type { HistoryRecord, VmRecord } from '../../domain/vm/record.js';
import { checkRequestedVncPort, chooseVncPort, type VncPortPolicy } from '../../domain/vm/vnc.js';
import type { Repositories } from '../../store/index.js';

function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw new NimbusError(r.error.code, r.error.message, r.error.field);
  return r.value;
}

export function withGraphics(vm: VmRecord, graphics: VectorValue): VmRecord {
  const template: Record<string, readonly TemplateValue[]> = { ...vm.template, GRAPHICS: [graphics] };
  return { ...vm, template };
}

/** Reserves the VM's VNC port in the target cluster; the VM with GRAPHICS/PORT set. */
export async function placeVncPort(
  tx: Repositories,
  policy: VncPortPolicy,
  vm: VmRecord,
  history: readonly HistoryRecord[],
  targetClusterId: number,
  action: string,
): Promise<VmRecord> {
  const graphics = getVectors(vm.template, 'GRAPHICS')[0];
  if (graphics === undefined) return vm;
  const requested = (graphics.PORT ?? '').trim();
  if (action === 'deploy') {
    // A port kept from before (STOP keeps it in its cluster) is given up for the new one.
    await tx.vncPorts.release(vm.id);
    const port =
      requested !== ''
        ? unwrap(
            checkRequestedVncPort(
              policy,
              Number(requested),
              await tx.vncPorts.holder(targetClusterId, Number(requested)),
              vm.id,
            ),
          )
        : unwrap(chooseVncPort(policy, await tx.vncPorts.taken(targetClusterId), vm.id));
    await tx.vncPorts.take(targetClusterId, port, vm.id);
    return withGraphics(vm, { ...graphics, PORT: String(port) });
  }
  const current = history[history.length - 1];
  if (current === undefined || current.cid === targetClusterId || requested === '') return vm;
  const old = Number(requested);
  const port =
    action === 'live-migrate'
      ? unwrap(checkRequestedVncPort(policy, old, await tx.vncPorts.holder(targetClusterId, old), vm.id))
      : unwrap(chooseVncPort(policy, await tx.vncPorts.taken(targetClusterId), vm.id));
  await tx.vncPorts.take(targetClusterId, port, vm.id);
  return withGraphics(vm, { ...graphics, PORT: String(port), PREVIOUS_PORT: requested });
}
