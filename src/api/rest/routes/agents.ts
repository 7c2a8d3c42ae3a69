import { AGENT_PATH, wrapWebSocket } from '../../../agent/link/websocket.js';
import { NimbusError } from '../../../domain/errors.js';
import type { RestApp, RestDeps } from '../app.js';

/**
 * The agents' WebSocket (`nimbus-agent --controller URL`). Public at the HTTP level: the agent
 * authenticates in its first message (hello) with the host's one-time join token or its host key,
 * and the hub refuses anything else. A plain HTTP request gets 426.
 */
export function registerAgentRoutes(app: RestApp, { lifecycle }: RestDeps): void {
  app.route({
    method: 'GET',
    url: AGENT_PATH,
    config: { public: true },
    schema: { tags: ['agents'], summary: 'Host agent link (WebSocket; the hello message authenticates)' },
    handler: () => {
      throw new NimbusError(
        'UPGRADE_REQUIRED',
        `${AGENT_PATH} is the agents' WebSocket: connect with nimbus-agent`,
      );
    },
    wsHandler: (socket, request) => {
      if (lifecycle === undefined) {
        socket.close(1013, 'the lifecycle engine is not running');
        return;
      }
      const peer = `ws://${request.socket.remoteAddress ?? '?'}:${request.socket.remotePort ?? 0}`;
      lifecycle.hub.accept(wrapWebSocket(socket, 'agent', peer));
    },
  });
}
