import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memoryLinkPair } from '../../../src/agent/link/memory.js';
import type { AgentMessage } from '../../../src/protocol/agent.js';

/** Lets every queued microtask and one macrotask run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('memoryLinkPair', () => {
  it('delivers asynchronously and in order, both ways', async () => {
    const { controller, agent } = memoryLinkPair('host-1');
    assert.equal(controller.peer, 'memory:host-1');
    const atController: AgentMessage[] = [];
    const atAgent: AgentMessage[] = [];
    controller.onMessage((m) => atController.push(m));
    agent.onMessage((m) => atAgent.push(m));
    for (let seq = 0; seq < 5; seq++) agent.send({ type: 'ping', seq });
    controller.send({ type: 'pong', seq: 9 });
    assert.equal(atController.length, 0, 'nothing is delivered during send');
    await settle();
    assert.deepEqual(
      atController.map((m) => (m.type === 'ping' ? m.seq : -1)),
      [0, 1, 2, 3, 4],
    );
    assert.deepEqual(atAgent, [{ type: 'pong', seq: 9 }]);
  });

  it('keeps what arrives before a handler is registered, in order', async () => {
    const { controller, agent } = memoryLinkPair('late');
    agent.send({ type: 'ping', seq: 1 });
    await settle();
    agent.send({ type: 'ping', seq: 2 });
    const seen: number[] = [];
    controller.onMessage((m) => seen.push(m.type === 'ping' ? m.seq : -1));
    await settle();
    assert.deepEqual(seen, [1, 2]);
  });

  it('validates: a bad message or one from the wrong side goes to onInvalid with the field named', async () => {
    const { controller, agent } = memoryLinkPair('v');
    const messages: AgentMessage[] = [];
    const invalid: string[] = [];
    controller.onMessage((m) => messages.push(m));
    controller.onInvalid((e) => invalid.push(`${e.code} ${e.message}`));
    agent.send({ type: 'ping', seq: -1 });
    // A welcome is the controller's to send, never the agent's.
    agent.send({
      type: 'welcome',
      protocol: 1,
      hostId: 1,
      hostAttributes: {},
      intervals: { monitorHostS: 1, monitorVmsS: 1, pingS: 1 },
    });
    await settle();
    assert.deepEqual(messages, []);
    assert.equal(invalid.length, 2);
    assert.match(invalid[0]!, /^BAD_AGENT_MESSAGE ping message: seq /);
    assert.match(invalid[1]!, /does not send "welcome"/);
    assert.equal(controller.closed, false, 'an invalid frame does not close the link');
  });

  it('validate:false hands the object over as is', async () => {
    const { controller, agent } = memoryLinkPair('fast', { validate: false });
    const got: AgentMessage[] = [];
    controller.onMessage((m) => got.push(m));
    const message = { type: 'ping', seq: 3 } as const;
    agent.send(message);
    await settle();
    assert.equal(got[0], message);
  });

  it('close closes both ends once; every onClose handler gets the reason; sends after close are dropped', async () => {
    const { controller, agent } = memoryLinkPair('c');
    const reasons: string[] = [];
    const received: AgentMessage[] = [];
    controller.onClose((r) => reasons.push(`controller: ${r}`));
    agent.onClose((r) => reasons.push(`agent: ${r}`));
    controller.onMessage((m) => received.push(m));
    agent.onMessage((m) => received.push(m));
    agent.send({ type: 'ping', seq: 1 }); // in flight when the agent closes: still delivered
    agent.close('agent stopping');
    agent.close('again');
    controller.close('too late');
    assert.equal(agent.closed, true);
    assert.equal(controller.closed, true);
    agent.send({ type: 'ping', seq: 2 });
    controller.send({ type: 'pong', seq: 1 });
    await settle();
    assert.deepEqual(reasons.sort(), ['agent: agent stopping', 'controller: agent stopping']);
    assert.deepEqual(received, [{ type: 'ping', seq: 1 }]);
    // A handler registered after the close still hears the reason.
    const late = await new Promise<string>((resolve) => agent.onClose(resolve));
    assert.equal(late, 'agent stopping');
  });
});
