import { wrapWebSocket, AGENT_PATH } from '../../../agent/link/websocket.js';
import { MAX_FRAME_BYTES } from '../../../protocol/agent.js';
import type { RestApp, RestDeps } from '../app.js';

/**
 * The agents' WebSocket (`nimbus-agent --controller URL`). Public at the HTTP level: the agent
 * authenticates in its first message (hello) with the host's one-time join token or its host key,
 * and the hub refuses anything else.
 */
export async function registerAgentRoutes(app: RestApp, { lifecycle }: RestDeps): Promise<void> {
  const { default: websocket } = await import('@fastify/websocket');
  await app.register(websocket, { options: { maxPayload: MAX_FRAME_BYTES } });
  app.get(
    AGENT_PATH,
    {
      websocket: true,
      config: { public: true },
      schema: { tags: ['agents'], summary: 'Host agent link (WebSocket; hello authenticates)' },
    },
    (socket, request) => {
      if (lifecycle === undefined) {
        socket.close(1013, 'the lifecycle engine is not running');
        return;
      }
      const peer = `ws://${request.socket.remoteAddress ?? '?'}:${request.socket.remotePort ?? 0}`;
      lifecycle.hub.accept(wrapWebSocket(socket, 'agent', peer));
    },
  );
}
