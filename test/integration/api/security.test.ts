/**
 * Cross-cutting security sweeps over every route registered at run time (the app's route
 * catalog), so routes added later are covered without touching this file:
 *
 * - every non-public route refuses anonymous, wrong and malformed credentials with 401;
 * - the public routes are exactly PUBLIC_ROUTES;
 * - a plain user (fresh, group `users`) gets 403 or 404 on every route aimed at an object of
 *   oneadmin's with permissions 600, except the routes in PLAIN_USER_ALLOWED, and the lists it
 *   may call never show oneadmin's private objects;
 * - no GET answer carries a password, a password hash or a login token (docs/decisions/secrets.md);
 * - nothing in these sweeps answers 5xx.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ADMIN_PASSWORD, startTestNimbus, type TestNimbus } from './harness.js';
import {
  actionTemplates,
  collectionOf,
  createTemplates,
  fillUrl,
  paramNames,
  routeHints,
  schemaSampler,
  type CatalogRoute,
  type Hint,
} from './route-probes.js';

interface Answer {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
  readonly text: string;
  readonly headers: Record<string, unknown>;
}

/** Routes served without credentials, each with why. A new public route fails the test until listed. */
const PUBLIC_ROUTES: Readonly<Record<string, string>> = {
  'POST /api/v1/login': 'exchanges a user name and password for a token; checks them itself',
  'GET /api/v1/openapi.json': 'the API description; holds no cloud data',
  'GET /api/v1/agent':
    'the host agents’ WebSocket: the first message (hello) carries the one-time join token or the host key, checked by the hub',
};

/**
 * Routes a plain user of group `users` may legitimately get a 2xx from, even when the path names
 * one of oneadmin's objects (which are 600). Everything else must answer 403 or 404.
 */
const PLAIN_USER_ALLOWED: Readonly<Record<string, string>> = {
  'GET /api/v1/users': 'lists users, filtered to the caller itself',
  'GET /api/v1/groups': "lists groups, filtered to the caller's own groups",
  'GET /api/v1/hosts':
    'lists hosts the caller may USE (the bootstrap rule `@1 HOST/* MANAGE` does not grant USE)',
  'GET /api/v1/clusters': 'lists clusters the caller may USE',
  'GET /api/v1/datastores': 'lists datastores: bootstrap rule `@1 DATASTORE/* USE` grants all of them',
  'GET /api/v1/templates': "lists templates, filtered to the caller's (and shared) ones",
  'GET /api/v1/images': "lists images, filtered to the caller's (and shared) ones",
  'GET /api/v1/vnets': 'lists vnets: bootstrap rule `@1 NET/* USE` grants all of them',
  'GET /api/v1/vms': "lists VMs, filtered to the caller's (and shared) ones",
  'POST /api/v1/templates': 'bootstrap rule `@1 TEMPLATE/* CREATE` (the new template is the caller’s)',
  'POST /api/v1/images': 'bootstrap rule `@1 IMAGE/* CREATE`, into datastores it may USE',
  'POST /api/v1/vms': 'bootstrap rule `@1 VM/* CREATE` (the new VM is the caller’s)',
  'POST /api/v1/images/upload': 'bootstrap rules `@1 IMAGE/* CREATE` and `@1 DATASTORE/* USE`',
  'GET /api/v1/vmgroups': "lists VM groups, filtered to the caller's (and shared) ones",
  'POST /api/v1/vmgroups': 'bootstrap rule `@1 VMGROUP/* CREATE` (the new VM group is the caller’s)',
  'GET /api/v1/vnets/:id': 'bootstrap rule `@1 NET/* USE`: every vnet is visible to group users',
  'GET /api/v1/vnets/:id/leases': 'bootstrap rule `@1 NET/* USE` (the leases are part of `one.vn.info`)',
  'GET /api/v1/datastores/:id':
    'bootstrap rule `@1 DATASTORE/* USE`: every datastore is visible to group users',
};

/**
 * Lists in which oneadmin's 600 objects may legitimately appear to a plain user, because a
 * bootstrap ACL rule grants group `users` USE on every object of the kind.
 */
const LIST_VISIBLE_BY_ACL: Readonly<Record<string, string>> = {
  vnets: 'bootstrap rule `@1 NET/* USE`',
  datastores: 'bootstrap rule `@1 DATASTORE/* USE`',
};

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

const keyOf = (r: { method: string; url: string }): string => `${r.method} ${r.url}`;

/** A route URL as a regular expression matching the concrete paths it serves. */
function routePattern(url: string): RegExp {
  const escaped = url.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '[^/]+').replace(/\*/g, '.*')}$`);
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** The sweeps' schema samples: eleven candidate strings, 'probe' padded when none fits, `allOf` merged. */
const { sampleOf, queryOf } = schemaSampler({
  strings: ['probe', '600', 'um-------', '0', '1', 'x', 'a', 'A', 'probe-1', 'YES', '10.0.0.1'],
  fallback: (minLength) => 'probe'.padEnd(minLength, 'e'),
  mergeAllOf: true,
});

/** The sweeps' hints: vnets on br-probe with 8 addresses from 10.66.0.1, holds of 10.66.0.2, new ARs at 10.67.0.1. */
const hintsFor = routeHints({
  create: createTemplates({ templateCpu: '1', bridge: 'br-probe', arIp: '10.66.0.1', arSize: '8' }),
  actions: actionTemplates({ leaseIp: '10.66.0.2', newArIp: '10.67.0.1' }),
  quota: 'VM = [ VMS = "1" ]',
  description: 'DESCRIPTION = "probe"',
});

/** A body for a probe: a schema sample, or a few bytes for upload routes (octet-stream). */
function bodyFor(route: CatalogRoute, hint: Hint): unknown {
  if (route.schema.body !== undefined) return sampleOf(route.schema.body, 'body', hint);
  return route.url.endsWith('/upload') ? Buffer.from('probe bytes\n') : undefined;
}

/** The items of a list answer `{ X_POOL: { X: [...] } }`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function poolItems(body: any): Record<string, unknown>[] {
  if (body === null || typeof body !== 'object') return [];
  const poolKey = Object.keys(body).find((k) => k.endsWith('_POOL'));
  if (poolKey === undefined) return [];
  const pool = body[poolKey] as Record<string, unknown> | null;
  if (pool === null || typeof pool !== 'object') return [];
  return Object.values(pool).flatMap((v) => (Array.isArray(v) ? (v as Record<string, unknown>[]) : []));
}

function permissionOctal(p: unknown): number | null {
  if (p === null || typeof p !== 'object') return null;
  const f = p as Record<string, number>;
  const digit = (who: string): number =>
    (f[`${who}_U`] ?? 0) * 4 + (f[`${who}_M`] ?? 0) * 2 + (f[`${who}_A`] ?? 0);
  return digit('OWNER') * 64 + digit('GROUP') * 8 + digit('OTHER');
}

/** The one object of a show answer `{ VM: {...} }`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function shownObject(body: any): Record<string, unknown> | null {
  if (body === null || typeof body !== 'object') return null;
  const values = Object.values(body as Record<string, unknown>);
  const first = values[0];
  return values.length === 1 && first !== null && typeof first === 'object'
    ? (first as Record<string, unknown>)
    : null;
}

describe('security sweeps over every registered route', () => {
  let t: TestNimbus;
  let routes: CatalogRoute[];

  async function send(
    method: string,
    url: string,
    headers: Record<string, string>,
    body?: unknown,
  ): Promise<Answer> {
    const h = { ...headers };
    let payload: string | Buffer | undefined;
    if (Buffer.isBuffer(body)) {
      h['content-type'] = 'application/octet-stream';
      payload = body;
    } else if (body !== undefined) {
      h['content-type'] = typeof body === 'string' ? 'text/plain' : 'application/json';
      payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const res = await t.nimbus.app.inject({
      method: method as 'GET',
      url,
      headers: h,
      ...(payload !== undefined ? { payload } : {}),
    });
    let parsed: unknown = res.body;
    try {
      parsed = JSON.parse(res.body);
    } catch {
      // not JSON
    }
    return { status: res.statusCode, body: parsed, text: res.body, headers: res.headers };
  }

  /** Runs `work` over `items`, `width` at a time (argon2 runs on the libuv pool). */
  async function inParallel<T>(
    items: readonly T[],
    width: number,
    work: (item: T) => Promise<void>,
  ): Promise<void> {
    let next = 0;
    await Promise.all(
      Array.from({ length: width }, async () => {
        while (next < items.length) await work(items[next++] as T);
      }),
    );
  }

  before(async () => {
    t = await startTestNimbus();
    routes = [...t.nimbus.app.routeCatalog.routes];
  });
  after(async () => t.close());

  it('every non-public route answers 401 AUTHENTICATION to anonymous, wrong and malformed credentials', async () => {
    const wrongPassword = 'wrong-pw-7f3a9c';
    const credentials: [string, string | undefined][] = [
      ['anonymous', undefined],
      ['empty header', ''],
      ['wrong password', basic('oneadmin', wrongPassword)],
      ['unknown user', basic('no-such-user', 'x')],
      ['empty user name', basic('', 'x')],
      ['well-formed unknown bearer token', `Bearer 0.${'0'.repeat(64)}`],
      ['bearer garbage', 'Bearer not-a-token'],
      ['bearer without token', 'Bearer'],
      ['basic not base64', 'Basic %%%###'],
      ['basic without colon', `Basic ${Buffer.from('oneadmin').toString('base64')}`],
      ['basic without value', 'Basic'],
      ['unsupported scheme', 'Negotiate abcdef'],
    ];
    const guarded = routes.filter((r) => !r.public);
    assert.ok(guarded.length > 0, 'no guarded routes registered');
    const failures: string[] = [];
    const probes = guarded.flatMap((route) => credentials.map((c) => ({ route, c })));
    await inParallel(probes, 8, async ({ route, c: [label, header] }) => {
      const url = fillUrl(route.url, () => 0);
      const res = await send(
        route.method,
        url,
        header === undefined ? {} : { authorization: header },
        BODY_METHODS.has(route.method) ? {} : undefined,
      );
      const problem =
        res.status !== 401
          ? `status ${res.status}`
          : res.body?.code !== 'AUTHENTICATION'
            ? `code ${JSON.stringify(res.body?.code)}`
            : res.text.includes(wrongPassword)
              ? 'the answer echoes the password'
              : label === 'anonymous' && !String(res.headers['www-authenticate'] ?? '').startsWith('Basic')
                ? 'no WWW-Authenticate: Basic challenge'
                : null;
      if (problem !== null)
        failures.push(`${route.method} ${url} (${label}): ${problem} ${res.text.slice(0, 200)}`);
    });
    assert.deepEqual(failures, [], `${failures.length} of ${probes.length} probes failed`);
  });

  it('the public routes are exactly the allowlist, and answer without credentials', async () => {
    const actual = routes
      .filter((r) => r.public)
      .map(keyOf)
      .sort();
    assert.deepEqual(
      actual,
      Object.keys(PUBLIC_ROUTES).sort(),
      'public routes changed: add a new one to PUBLIC_ROUTES with its reason, or make it authenticate',
    );
    assert.equal((await send('GET', '/api/v1/openapi.json', {})).status, 200);
    const badLogin = await send('POST', '/api/v1/login', {}, { username: 'oneadmin', password: 'nope' });
    assert.equal(badLogin.status, 401);
    assert.equal(badLogin.body.code, 'AUTHENTICATION');
  });

  describe('a plain user against oneadmin’s objects', () => {
    let plain: { id: number; name: string; auth: string };
    /** Object ids to aim each collection's `:id` at; all owned by oneadmin (600) or system objects. */
    const targets: Record<string, number[]> = {
      users: [0],
      groups: [0],
      acl: [0],
      hosts: [0],
      clusters: [0],
      datastores: [0, 1, 2],
    };
    const created: string[] = [];

    /** Creates an object as oneadmin through its POST route (if it exists); returns its id. */
    async function createAsAdmin(
      collection: string,
      name: string,
      url = `/api/v1/${collection}`,
    ): Promise<number | null> {
      const route = routes.find((r) => r.method === 'POST' && r.url === url);
      if (route === undefined) return null;
      const hint = hintsFor(collection, url, name);
      const body = sampleOf(route.schema.body, 'body', hint);
      const concrete = fillUrl(url, (p) => (p === 'id' ? (targets.templates?.[0] ?? 0) : 0));
      const res = await t.admin('POST', concrete + queryOf(route.schema.querystring, hint), body);
      if (res.status !== 201 && res.status !== 200) {
        created.push(`${collection}: POST ${url} answered ${res.status} ${JSON.stringify(res.body)}`);
        return null;
      }
      return res.body.ID as number;
    }

    before(async () => {
      const name = 'plain-prober';
      const user = await t.createUser(name);
      plain = { id: user.id, name, auth: basic(name, `${name}-pw`) };

      // Private objects of oneadmin (default umask 177 → 600), made through the API where it allows.
      const group = await createAsAdmin('groups', 'sec-group');
      if (group !== null) targets.groups!.push(group);
      for (const collection of ['templates', 'images', 'vnets', 'vmgroups'] as const) {
        const id = await createAsAdmin(collection, `sec-${collection}`);
        if (id !== null) targets[collection] = [id];
      }
      const vm =
        (await createAsAdmin('vms', 'sec-vm')) ??
        (targets.templates !== undefined
          ? await createAsAdmin('templates', 'sec-vm', '/api/v1/templates/:id/instantiate')
          : null);
      if (vm !== null) targets.vms = [vm];

      // Every object aimed at must really be oneadmin's and 600.
      const store = t.nimbus.store;
      const owned = {
        templates: store.vmTemplates,
        images: store.images,
        vnets: store.vnets,
        vms: store.vms,
        vmgroups: store.vmGroups,
      } as const;
      for (const [collection, repo] of Object.entries(owned)) {
        for (const id of targets[collection] ?? []) {
          const record = await repo.get(id);
          assert.equal(record.uid, 0, `${collection} ${id} must be oneadmin's`);
          assert.equal(record.permissions, 0o600, `${collection} ${id} must be 600`);
        }
      }
    });

    it('gets 403 or 404 everywhere but the allowlist, and never a 5xx', async (ctx) => {
      const failures: string[] = [];
      const allowedAnswers: string[] = [];
      let probes = 0;
      for (const route of routes.filter((r) => !r.public)) {
        const collection = collectionOf(route.url);
        const params = paramNames(route.url);
        const ids = params.includes('id') ? (targets[collection] ?? [0]) : [0];
        for (const id of ids) {
          const hint = hintsFor(collection, route.url, 'plain-probe');
          const url =
            fillUrl(route.url, (p) => (p === 'id' ? id : 0)) + queryOf(route.schema.querystring, hint);
          const body = bodyFor(route, hint);
          const res = await send(route.method, url, { authorization: plain.auth }, body);
          probes++;
          const shown = Buffer.isBuffer(body) ? `<${body.length} bytes>` : JSON.stringify(body);
          const where = `${route.method} ${url} ${body === undefined ? '' : shown}`;
          if (res.status >= 500) {
            failures.push(`${where} → ${res.status} ${res.text.slice(0, 300)}`);
            continue;
          }
          const reason = PLAIN_USER_ALLOWED[keyOf(route)];
          if (reason !== undefined) {
            allowedAnswers.push(`${where} → ${res.status}`);
            continue;
          }
          if (res.status !== 403 && res.status !== 404) {
            failures.push(`${where} → ${res.status} ${res.text.slice(0, 300)} (expected 403/404)`);
          } else if (typeof res.body?.code !== 'string') {
            failures.push(`${where} → ${res.status} without an error code: ${res.text.slice(0, 200)}`);
          }
        }
      }
      ctx.diagnostic(`${probes} probes; allowlisted answers: ${allowedAnswers.join('; ')}`);
      if (created.length > 0) ctx.diagnostic(`not created through the API: ${created.join('; ')}`);
      assert.deepEqual(failures, [], `${failures.length} of ${probes} probes failed`);
    });

    it('sees why a VM waits exactly where it may show the VM (GET /vms/:id/placement)', async () => {
      const vm = targets.vms?.[0];
      assert.notEqual(vm, undefined, 'no VM of oneadmin to aim at');
      const shown = await send('GET', `/api/v1/vms/${vm}`, { authorization: plain.auth });
      const placement = await send('GET', `/api/v1/vms/${vm}/placement`, { authorization: plain.auth });
      assert.ok([403, 404].includes(shown.status), `GET /vms/${vm}: ${shown.status}`);
      assert.equal(placement.status, shown.status, placement.text);
      assert.equal(placement.body.code, shown.body.code);
      assert.equal((await t.admin('GET', `/api/v1/vms/${vm}/placement`)).status, 200);
      // Its own VM: shown, so explained.
      const own = await send('POST', '/api/v1/vms', { authorization: plain.auth }, 'CPU = 0.1\nMEMORY = 64');
      assert.equal(own.status, 201, own.text);
      const mine = await send('GET', `/api/v1/vms/${own.body.ID}/placement`, { authorization: plain.auth });
      assert.equal(mine.status, 200, mine.text);
      assert.equal(mine.body.VM_ID, own.body.ID);
    });

    it('lists never show oneadmin’s private objects', async () => {
      const failures: string[] = [];
      const lists = routes.filter((r) => !r.public && r.method === 'GET' && paramNames(r.url).length === 0);
      for (const route of lists) {
        const collection = collectionOf(route.url);
        for (const query of ['', '?filter=-2', '?filter=-1', '?filter=0']) {
          const res = await send('GET', `${route.url}${query}`, { authorization: plain.auth });
          if (res.status >= 500)
            failures.push(`GET ${route.url}${query} → ${res.status} ${res.text.slice(0, 300)}`);
          if (res.status !== 200) continue;
          for (const item of poolItems(res.body)) {
            const privateOfAdmin = item.UID === 0 && permissionOctal(item.PERMISSIONS) === 0o600;
            const adminIdentity = (collection === 'users' || collection === 'groups') && item.ID === 0;
            if ((privateOfAdmin && LIST_VISIBLE_BY_ACL[collection] === undefined) || adminIdentity) {
              failures.push(`GET ${route.url}${query} shows ${collection} ${String(item.ID)} of oneadmin`);
            }
          }
        }
        if (collection === 'users') {
          const res = await send('GET', route.url, { authorization: plain.auth });
          assert.deepEqual(
            poolItems(res.body).map((u) => u.ID),
            [plain.id],
          );
        }
      }
      assert.deepEqual(failures, []);
    });

    it('creates what the allowlist lets it create, in its own name', async () => {
      for (const key of Object.keys(PLAIN_USER_ALLOWED).filter((k) => k.startsWith('POST '))) {
        const url = key.slice('POST '.length);
        const route = routes.find((r) => r.method === 'POST' && r.url === url);
        if (route === undefined) continue;
        const collection = collectionOf(url);
        const hint = hintsFor(collection, url, `own-${collection}`);
        const body = bodyFor(route, hint);
        const res = await send(
          'POST',
          url + queryOf(route.schema.querystring, hint),
          { authorization: plain.auth },
          body,
        );
        assert.ok(res.status < 500, `${key}: ${res.status} ${res.text}`);
        if (res.status !== 201) continue;
        const shown = await send('GET', `${url}/${res.body.ID}`, { authorization: plain.auth });
        assert.equal(shown.status, 200, `${key}: cannot show its own new object: ${shown.text}`);
        assert.equal(shownObject(shown.body)?.UID, plain.id, `${key}: new object not owned by the caller`);
      }
    });

    /** Every GET route as oneadmin, `:id` aimed at each target (and the plain user); the answers' texts. */
    async function everyGetAnswer(): Promise<{ where: string; text: string }[]> {
      const out: { where: string; text: string }[] = [];
      for (const route of routes.filter((r) => !r.public && r.method === 'GET')) {
        const collection = collectionOf(route.url);
        const ids = paramNames(route.url).includes('id')
          ? [...(targets[collection] ?? [0]), ...(collection === 'users' ? [plain.id] : [])]
          : [0];
        for (const id of ids) {
          const url = fillUrl(route.url, (p) => (p === 'id' ? id : 0));
          const res = await t.admin('GET', url);
          assert.ok(res.status < 500, `GET ${url}: ${res.status}`);
          out.push({ where: `GET ${url}`, text: JSON.stringify(res.body) });
        }
      }
      return out;
    }

    it('no answer carries a password, a password hash or a login token', async () => {
      const login = await send(
        'POST',
        '/api/v1/login',
        {},
        { username: plain.name, password: `${plain.name}-pw` },
      );
      assert.equal(login.status, 200);
      const secret = String(login.body.token).split('.')[1]!;
      const needles = [
        ADMIN_PASSWORD,
        `${plain.name}-pw`,
        '$argon2',
        secret,
        createHash('sha256').update(secret).digest('hex'),
      ];
      const leaks: string[] = [];
      for (const { where, text } of await everyGetAnswer()) {
        for (const needle of needles)
          if (text.includes(needle)) leaks.push(`${where} shows ${needle.slice(0, 12)}…`);
      }
      assert.deepEqual(leaks, []);
    });

    it('no answer carries a context or VNC password', async () => {
      const template =
        'NAME = "secret-bearer"\nCPU = "0.1"\nMEMORY = "64"\n' +
        'CONTEXT = [ PASSWORD = "ctx-pw-51", PASSWORD_BASE64 = "Y3R4LXB3LTUy", CRYPTED_PASSWORD = "$6$salt$ctxhash53" ]\n' +
        'GRAPHICS = [ TYPE = "VNC", PASSWD = "vnc-pw-54" ]';
      for (const collection of ['templates', 'vms']) {
        const res = await t.admin('POST', `/api/v1/${collection}`, { template });
        if (res.status === 201) targets[collection] = [...(targets[collection] ?? []), res.body.ID as number];
      }
      const leaks: string[] = [];
      for (const { where, text } of await everyGetAnswer()) {
        for (const needle of ['ctx-pw-51', 'Y3R4LXB3LTUy', 'ctxhash53', 'vnc-pw-54'])
          if (text.includes(needle)) leaks.push(`${where} shows ${needle}`);
      }
      assert.deepEqual(leaks, []);
    });

    it('may read itself and change its own password, but not escalate', async () => {
      const me = await send('GET', `/api/v1/users/${plain.id}`, { authorization: plain.auth });
      assert.equal(me.status, 200);
      assert.equal(me.body.USER.PASSWORD, '********');
      const own = await send(
        'PUT',
        `/api/v1/users/${plain.id}/password`,
        { authorization: plain.auth },
        {
          password: 'changed-pw',
        },
      );
      assert.equal(own.status, 200);
      const auth = basic(plain.name, 'changed-pw');
      assert.equal((await send('GET', `/api/v1/users/${plain.id}`, { authorization: auth })).status, 200);
      for (const [method, url, body] of [
        ['POST', `/api/v1/users/${plain.id}/chgrp`, { group: 0 }],
        ['POST', `/api/v1/users/${plain.id}/enable`, undefined],
        ['PUT', '/api/v1/users/0/password', { password: 'pwned' }],
        ['POST', '/api/v1/acl', { rule: `#${plain.id} VM+HOST/* USE+MANAGE+ADMIN *` }],
        ['POST', '/api/v1/users', { name: 'sidekick', password: 'x', group: 0 }],
      ] as const) {
        if (!routes.some((r) => r.method === method && routePattern(r.url).test(url))) continue;
        const res = await send(method, url, { authorization: auth }, body);
        assert.equal(res.status, 403, `${method} ${url}: ${res.status} ${res.text}`);
      }
      plain = { ...plain, auth };
    });
  });
});
