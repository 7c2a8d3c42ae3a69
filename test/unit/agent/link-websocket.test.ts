import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  controllerEndpoint,
  dialController,
  dialTarget,
  isLoopbackHost,
  normalizeFingerprint,
  wrapWebSocket,
} from '../../../src/agent/link/websocket.js';
import type { AgentMessage } from '../../../src/protocol/agent.js';
import type { AgentLinkEnd } from '../../../src/protocol/link.js';

const run = promisify(execFile);

/** A controller stand-in: accepts agent sockets and wraps them as the controller would. */
class TestController {
  readonly links: AgentLinkEnd[] = [];
  readonly sockets: WebSocket[] = [];
  readonly paths: string[] = [];
  private readonly waiting: ((link: AgentLinkEnd) => void)[] = [];

  constructor(readonly server: WebSocketServer) {
    server.on('connection', (socket, request) => {
      this.paths.push(request.url ?? '');
      this.sockets.push(socket);
      const link = wrapWebSocket(socket, 'agent', 'test-agent');
      this.links.push(link);
      this.waiting.shift()?.(link);
    });
  }

  nextLink(): Promise<AgentLinkEnd> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}

function nextMessage(link: AgentLinkEnd): Promise<AgentMessage> {
  return new Promise((resolve) => link.onMessage(resolve));
}
function nextInvalid(link: AgentLinkEnd): Promise<{ code: string; message: string }> {
  return new Promise((resolve) => link.onInvalid(resolve));
}

let dir: string;
let plain: TestController;
let plainPort: number;
let tls: TestController;
let tlsServer: Server;
let tlsPort: number;
let fingerprint: string;
const dialled: AgentLinkEnd[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nimbus-ws-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=localhost',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  const [key, cert] = await Promise.all([readFile(keyFile), readFile(certFile)]);
  fingerprint = new X509Certificate(cert).fingerprint256;

  const plainServer = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => plainServer.once('listening', resolve));
  plainPort = (plainServer.address() as AddressInfo).port;
  plain = new TestController(plainServer);

  tlsServer = createServer({ key, cert });
  tls = new TestController(new WebSocketServer({ server: tlsServer }));
  await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
  tlsPort = (tlsServer.address() as AddressInfo).port;
});

after(async () => {
  for (const link of dialled) link.close('test over');
  for (const s of [...plain.sockets, ...tls.sockets]) s.terminate();
  await new Promise((resolve) => plain.server.close(resolve));
  await new Promise((resolve) => tls.server.close(resolve));
  await new Promise((resolve) => tlsServer.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

async function dial(options: Parameters<typeof dialController>[0]): Promise<AgentLinkEnd> {
  const link = await dialController(options);
  dialled.push(link);
  return link;
}

describe('controller URL rules', () => {
  it('maps http(s) to ws(s) and adds the agent path when there is none', () => {
    assert.equal(controllerEndpoint('https://ctl.example:8443').href, 'wss://ctl.example:8443/api/v1/agent');
    assert.equal(controllerEndpoint('http://127.0.0.1:2633/').href, 'ws://127.0.0.1:2633/api/v1/agent');
    assert.equal(controllerEndpoint('wss://ctl.example/custom/path').pathname, '/custom/path');
    assert.throws(() => controllerEndpoint('ftp://ctl.example'), { code: 'BAD_CONTROLLER_URL' });
    assert.throws(() => controllerEndpoint('not a url'), { code: 'BAD_CONTROLLER_URL' });
  });

  it('knows loopback without resolving names', () => {
    for (const host of ['127.0.0.1', '127.8.9.10', '[::1]', 'localhost', '[::ffff:127.0.0.1]']) {
      assert.equal(isLoopbackHost(host), true, host);
    }
    for (const host of ['192.0.2.1', '10.0.0.1', '[2001:db8::1]', 'ctl.example', '128.0.0.1']) {
      assert.equal(isLoopbackHost(host), false, host);
    }
  });

  it('refuses plain ws:// beyond loopback before any connection is made', async () => {
    // dialTarget is synchronous: the refusal cannot have dialled anything.
    assert.throws(() => dialTarget('ws://192.0.2.1:2633'), {
      code: 'INSECURE_CONTROLLER',
      message: /ws:\/\/192\.0\.2\.1:2633\/api\/v1\/agent.*use wss:\/\//,
    });
    assert.throws(() => dialTarget('http://192.0.2.1:2633'), { code: 'INSECURE_CONTROLLER' });
    await assert.rejects(dialController({ url: 'ws://192.0.2.1:2633' }), { code: 'INSECURE_CONTROLLER' });
  });

  it('normalizes fingerprints and refuses a pin on a plain URL', () => {
    const hex = 'ab'.repeat(32);
    assert.equal(normalizeFingerprint(hex), Array(32).fill('AB').join(':'));
    assert.equal(normalizeFingerprint(Array(32).fill('ab').join(':')), Array(32).fill('AB').join(':'));
    assert.throws(() => normalizeFingerprint('abcd'), { code: 'BAD_FINGERPRINT' });
    assert.throws(() => dialTarget('ws://127.0.0.1:1', hex), { code: 'BAD_CONTROLLER_URL' });
  });
});

describe('WebSocket link', () => {
  it('carries valid frames both ways, on the default agent path', async () => {
    const accepted = plain.nextLink();
    const agent = await dial({ url: `http://127.0.0.1:${plainPort}` });
    const controller = await accepted;
    assert.equal(plain.paths.at(-1), '/api/v1/agent');
    assert.equal(agent.peer, `ws://127.0.0.1:${plainPort}/api/v1/agent`);

    const atController = nextMessage(controller);
    agent.send({ type: 'ping', seq: 4 });
    assert.deepEqual(await atController, { type: 'ping', seq: 4 });

    const atAgent = nextMessage(agent);
    controller.send({ type: 'pong', seq: 4 });
    assert.deepEqual(await atAgent, { type: 'pong', seq: 4 });
  });

  it('refuses invalid and binary frames through onInvalid, naming the field; the link stays open', async () => {
    const accepted = plain.nextLink();
    const agent = await dial({ url: `ws://127.0.0.1:${plainPort}` });
    await accepted;
    const socket = plain.sockets.at(-1)!;

    let invalid = nextInvalid(agent);
    socket.send(JSON.stringify({ type: 'ping', seq: 'seven' }));
    const bad = await invalid;
    assert.equal(bad.code, 'BAD_AGENT_MESSAGE');
    assert.match(bad.message, /ping message: seq /);

    invalid = nextInvalid(agent);
    socket.send(JSON.stringify({ type: 'hello' }));
    assert.match((await invalid).message, /does not send "hello"/);

    invalid = nextInvalid(agent);
    socket.send(Buffer.from('{"type":"ping","seq":1}'), { binary: true });
    assert.match((await invalid).message, /binary frame refused/);

    const next = nextMessage(agent);
    socket.send(JSON.stringify({ type: 'ping', seq: 1 }));
    assert.deepEqual(await next, { type: 'ping', seq: 1 });
    assert.equal(agent.closed, false);
  });

  it('close runs both ends’ handlers once with the reason; later sends are dropped', async () => {
    const accepted = plain.nextLink();
    const agent = await dial({ url: `ws://127.0.0.1:${plainPort}` });
    const controller = await accepted;
    const atController = new Promise<string>((resolve) => controller.onClose(resolve));
    const atAgent = new Promise<string>((resolve) => agent.onClose(resolve));
    let agentCloses = 0;
    agent.onClose(() => agentCloses++);
    agent.close('agent stopping');
    agent.close('again');
    agent.send({ type: 'ping', seq: 1 });
    assert.equal(await atAgent, 'agent stopping');
    assert.equal(await atController, 'agent stopping');
    assert.equal(agentCloses, 1);
    assert.equal(controller.closed, true);
  });

  it('with a matching fingerprint connects to a self-signed controller', async () => {
    const accepted = tls.nextLink();
    const agent = await dial({
      url: `wss://127.0.0.1:${tlsPort}`,
      fingerprint: fingerprint.replace(/:/g, '').toLowerCase(),
    });
    const controller = await accepted;
    const got = nextMessage(controller);
    agent.send({ type: 'ping', seq: 1 });
    assert.deepEqual(await got, { type: 'ping', seq: 1 });
  });

  it('with another fingerprint refuses with FINGERPRINT_MISMATCH, expected and got named', async () => {
    const wrong = 'AB:'.repeat(31) + 'AB';
    await assert.rejects(
      dialController({ url: `https://127.0.0.1:${tlsPort}`, fingerprint: wrong }),
      (error) => {
        const e = error as { code: string; message: string };
        assert.equal(e.code, 'FINGERPRINT_MISMATCH');
        assert.ok(e.message.includes(`fingerprint ${fingerprint}, expected ${wrong}`), e.message);
        return true;
      },
    );
  });

  it('without a fingerprint applies CA verification (a self-signed certificate is refused)', async () => {
    await assert.rejects(dialController({ url: `wss://127.0.0.1:${tlsPort}` }), {
      code: 'CONTROLLER_UNREACHABLE',
      message: /self[- ]signed/i,
    });
  });

  it('gives up when the controller is not there', async () => {
    const free = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => free.once('listening', resolve));
    const port = (free.address() as AddressInfo).port;
    await new Promise((resolve) => free.close(resolve));
    await assert.rejects(dialController({ url: `ws://127.0.0.1:${port}`, timeoutMs: 1000 }), {
      code: 'CONTROLLER_UNREACHABLE',
    });
  });

  it('an aborted dial rejects with ABORTED', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(dialController({ url: `ws://127.0.0.1:${plainPort}`, signal: controller.signal }), {
      code: 'ABORTED',
    });
  });
});
