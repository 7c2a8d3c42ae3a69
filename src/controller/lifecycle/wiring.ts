/**
 * Puts the lifecycle together: the agent hub, the engine, the embedded agents and the monitoring
 * intake, wired so that agent messages reach the engine and the monitoring store.
 */
import type { MonitorHost, MonitorVms } from '../../protocol/agent.js';
import { EmbeddedAgents } from '../agents/embedded.js';
import { AgentHub, type HubIntervals } from '../agents/hub.js';
import type { ControllerContext } from '../context.js';
import { SchedulerService } from '../scheduler/service.js';
import { vmGroupsForScheduler } from '../scheduler/groups.js';
import { LifecycleEngine } from './engine.js';

export interface MonitoringIntake {
  recordHost(hostId: number, message: MonitorHost): Promise<void>;
  recordVms(hostId: number, message: MonitorVms): Promise<void>;
}

export interface LifecycleOptions {
  readonly intervals: HubIntervals;
  /** Seconds without a link before a host is ERROR and its VMs UNKNOWN (default: the VM interval). */
  readonly hostLostAfterS?: number;
  readonly monitoring?: MonitoringIntake;
  /** Validate in-memory agent messages (default true). */
  readonly validate?: boolean;
  /** Run the scheduler (default true). */
  readonly placement?: boolean;
}

export interface Lifecycle {
  readonly hub: AgentHub;
  readonly engine: LifecycleEngine;
  readonly embedded: EmbeddedAgents;
  readonly scheduler: SchedulerService;
  close(): Promise<void>;
}

export async function startLifecycle(ctx: ControllerContext, options: LifecycleOptions): Promise<Lifecycle> {
  // The hub's handlers reach the engine, which is built with the hub as its sink.
  const wired: { engine?: LifecycleEngine } = {};
  const warn = (what: string) => (e: unknown) => ctx.log.warn({ err: e }, what);
  const hub = new AgentHub(
    ctx,
    {
      connected: (hostId) => wired.engine?.hostConnected(hostId),
      disconnected: (hostId) => wired.engine?.hostDisconnected(hostId),
      result: (hostId, result) => wired.engine?.onResult(hostId, result),
      progress: () => undefined,
      monitorHost: async (hostId, message) => {
        await options.monitoring?.recordHost(hostId, message).catch(warn('host monitoring not stored'));
        await wired.engine?.hostReported(hostId);
      },
      monitorVms: async (hostId, message) => {
        await options.monitoring?.recordVms(hostId, message).catch(warn('VM monitoring not stored'));
        await wired.engine?.onVmsReport(hostId, message);
      },
    },
    options.intervals,
  );
  const engine = new LifecycleEngine(ctx, hub, {
    hostLostAfterS: options.hostLostAfterS ?? options.intervals.monitorVmsS,
  });
  wired.engine = engine;
  ctx.events.imageCopyEnded = (imageId, ok) => void engine.imageCopyEnded(imageId, ok);
  engine.placement = options.placement ?? true;
  const scheduler = new SchedulerService(ctx, engine, ctx.config.scheduler, vmGroupsForScheduler);
  const embedded = new EmbeddedAgents(ctx, hub, { validate: options.validate ?? true });
  if (engine.placement) scheduler.start();
  await engine.start();
  const hosts = await embedded.sync();
  // Hosts whose agent is a separate process: ERROR unless it connects within the interval.
  for (const host of hosts) if (!embedded.isEmbedded(host)) engine.hostDisconnected(host.id);
  return {
    hub,
    engine,
    embedded,
    scheduler,
    async close() {
      // The scheduler's last pass deploys through the engine; then agents: results that arrive
      // while they stop are still applied; then the engine finishes its queued steps and flushes
      // vm.log.
      await scheduler.stop();
      await embedded.close();
      hub.close();
      await engine.stop();
    },
  };
}
