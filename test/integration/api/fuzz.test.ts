/**
 * Seeded fuzzing of every route registered at run time, as oneadmin (so authorization does not
 * hide validation bugs): malformed JSON, wrong types, huge and deeply nested values, prototype
 * keys, odd ids and query strings, wrong content types, malformed OpenNebula templates. Every
 * answer must be a 4xx with a JSON `{code}` (or a 2xx when the input happened to be valid), never
 * a 5xx; afterwards the daemon still answers and the store is consistent.
 *
 *   NIMBUS_FUZZ_SEED=<n> NIMBUS_FUZZ_RUNS=<n> node --import tsx --test test/integration/api/fuzz.test.ts
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { getVectors } from '../../../src/domain/template/index.js';
import { ADMIN_PASSWORD, startTestNimbus, type TestNimbus } from './harness.js';
import {
  actionTemplates,
  collectionOf,
  createTemplates,
  fillUrl,
  PARAM,
  paramNames,
  routeHints,
  schemaSampler,
  type CatalogRoute,
} from './route-probes.js';

const SEED = Number(process.env.NIMBUS_FUZZ_SEED ?? 20_261_125);
const RUNS = Number(process.env.NIMBUS_FUZZ_RUNS ?? 5_000);
/** Above the 4 MiB body limit: must be a 413, not a crash. */
const OVERSIZED = 5 * 1024 * 1024;
const DONE = 6;

interface FuzzRequest {
  readonly kind: string;
  readonly method: string;
  readonly url: string;
  readonly contentType: string | undefined;
  readonly payload: string | undefined;
}

// ---------------------------------------------------------------- seeded randomness

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Dice {
  constructor(readonly next: () => number) {}
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }
  weighted<T>(entries: readonly (readonly [number, T])[]): T {
    const total = entries.reduce((s, [w]) => s + w, 0);
    let r = this.next() * total;
    for (const [w, v] of entries) {
      r -= w;
      if (r < 0) return v;
    }
    return entries[entries.length - 1]![1];
  }
}

// ---------------------------------------------------------------- corpora

const WEIRD_SCALARS: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  -2,
  -5,
  1.5,
  0.1,
  2147483647,
  2147483648,
  -2147483649,
  4294967296,
  Number.MAX_SAFE_INTEGER + 2,
  1e308,
  -1e308,
  '',
  ' ',
  '0',
  '-1',
  '1e3',
  '0x10',
  '1_000',
  'NaN',
  'Infinity',
  '-Infinity',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '../../../../etc/passwd',
  'a\u0000b',
  '\u202egnp.exe',
  '😀'.repeat(64),
  '\ud800',
  'x'.repeat(129),
  'x'.repeat(1025),
  ']]>',
  '<![CDATA[x]]>',
  '<TEMPLATE><CPU>1</CPU></TEMPLATE>',
  "'; DROP TABLE vms; --",
  '%s%s%n',
  '${7*7}',
  '$(reboot)',
  '`id`',
  '\r\n',
  'um-um-um-',
  '777',
  '8',
  '@1 VM/* USE *',
  '#0 ALL/* USE+MANAGE+ADMIN+CREATE *',
  'ffffffffffffffffffffff',
  'oneadmin',
];

const WEIRD_PATH_SEGMENTS: readonly string[] = [
  '-1',
  '2147483648',
  '99999999999999999999999',
  'abc',
  '1.5',
  '0x10',
  '1e3',
  '%201',
  '%00',
  '..',
  '%2e%2e',
  '%2F',
  'NaN',
  'Infinity',
  '%D9%A1',
  '0'.repeat(400) + '1',
  '%F0%9F%98%80',
  '%ZZ',
  '__proto__',
  'constructor',
  'x'.repeat(3000),
];

const QUERY_KEYS = [
  'filter',
  'name',
  'state',
  'limit',
  'after',
  'extended',
  'force',
  'x',
  '__proto__',
  'constructor[prototype][x]',
  'a[]',
  'filter[]',
];

const QUERY_VALUES = [
  '',
  '-5',
  '-4',
  '-2',
  '0',
  '1',
  '1e9',
  '99999999999999999999',
  'abc',
  'NaN',
  '%ZZ',
  '%00',
  '1.5',
  'true',
  'x'.repeat(200),
  '%F0%9F%98%80',
  '-2147483649',
];

const MALFORMED_JSON: readonly string[] = [
  '{',
  '}',
  '{"a":',
  '{"a":1,}',
  "{'a':1}",
  'NaN',
  '[1,2',
  '\ufeff{}',
  '{"a":1}{"b":2}',
  '{"a":1e999999}',
  '"',
  'nul',
  '\u0000',
  '',
  ' ',
  '{"a":"\\ud800"}',
  '{"a":"\\u0000"}',
  '{"a" 1}',
  '{,}',
  '[,]',
  '{"a":01}',
  '{"a":.5}',
  '{"a":+1}',
  '{"a":0x10}',
  '{"a":undefined}',
  '{"a":Infinity}',
  '/* c */ {}',
  '{"a":"\n"}',
  'true',
  '123',
  '"just a string"',
  'null',
  '[]',
];

const PROTO_BODIES: readonly string[] = [
  '{"__proto__":{"isOneadmin":true,"polluted":1}}',
  '{"constructor":{"prototype":{"polluted":1}}}',
  '{"template":{"__proto__":"1"}}',
  '{"template":{"CONTEXT":[{"__proto__":"x"}]}}',
  '{"template":{"constructor":{"prototype":{"x":"1"}}}}',
  '{"name":"x","__proto__":{"name":"y"}}',
  '{"template":"A = 1","merge":true,"__proto__":{"merge":false}}',
  '{"toString":"x","valueOf":1,"hasOwnProperty":null}',
];

const TEMPLATE_TOKENS = [
  '=',
  '[',
  ']',
  '"',
  ',',
  'A',
  '1',
  '\n',
  '$',
  '\\',
  '#',
  '<',
  '>',
  ' ',
  'DISK',
  'NIC',
  'CONTEXT',
  '{',
  '}',
  '&',
  ';',
  '\t',
  '\u0000',
  '😀',
  ']]>',
];

function malformedTemplates(ids: { image: number; vnet: number }): string[] {
  return [
    'CPU = ',
    'CPU = "1',
    'CPU "1"',
    '= "1"',
    'DISK = [ IMAGE_ID = "1"',
    'DISK = [ IMAGE_ID = ]',
    'DISK = [ [ ] ]',
    'A = [ B = [ C = "1" ] ]',
    '1CPU = 1',
    'CPU = 1 MEMORY',
    ']]>',
    'CONTEXT = [ X = "]]>" ]',
    'A = "]]><evil/>"',
    '<TEMPLATE><CPU>1</CPU>',
    '<TEMPLATE><![CDATA[x]]></TEMPLATE>',
    '<TEMPLATE><A><![CDATA[]]>]]></A></TEMPLATE>',
    '<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><TEMPLATE><A>&c;&c;&c;</A></TEMPLATE>',
    '<!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]><TEMPLATE><A>&x;</A></TEMPLATE>',
    `<TEMPLATE>${'<A>'.repeat(3000)}1${'</A>'.repeat(3000)}</TEMPLATE>`,
    `<TEMPLATE>${'<A>'.repeat(2000)}</TEMPLATE>`,
    `CPU = "${'9'.repeat(400)}"`,
    'MEMORY = "-1"',
    'CPU = "-0.5"\nMEMORY = "abc"\nVCPU = "0"',
    'DISK = [ SIZE = "1e999" ]',
    'NIC = [ NETWORK_ID = "-1" ]',
    'DISK = [ IMAGE_ID = "99999999999999999999" ]',
    'A = "\\',
    'A = "x\u0000y"',
    'A = $UNKNOWN',
    'A = "$(rm -rf /)"',
    '\ufeffCPU = 1',
    'CPU = 1\r\nMEMORY = 2',
    'CONTEXT = [ PASSWORD = "secret", SSH_PUBLIC_KEY = "$USER[SSH_PUBLIC_KEY]", X = "$NIC[IP, NETWORK=\\"nope\\"]" ]',
    'SCHED_REQUIREMENTS = "ID = ((((("',
    'GRAPHICS = [ TYPE = "VNC", PORT = "-5", PASSWD = "]]>" ]',
    'OS = [ BOOT = "disk99" ]',
    '# only a comment',
    '',
    '   ',
    `NAME = "${'n'.repeat(200_000)}"`,
    Array.from({ length: 20_000 }, (_, i) => `A${i} = "${i}"`).join('\n'),
    `DISK = [ ${Array.from({ length: 5_000 }, (_, i) => `S${i} = "${i}"`).join(', ')} ]`,
    `${'DISK = [ IMAGE_ID = "0" ]\n'.repeat(2_000)}`,
    `VMS = "1"\nVM = [ VMS = "-3", MEMORY = "x" ]\nDATASTORE = [ ID = "-1" ]`,
    `NAME = "fz"\nCPU = "0.1"\nMEMORY = "64"\nDISK = [ IMAGE_ID = "${ids.image}" ]\nNIC = [ NETWORK_ID = "${ids.vnet}" ]`,
    `NAME = "fz"\nCPU = "0.1"\nMEMORY = "64"\nDISK = [ IMAGE_ID = "${ids.image}" ]\nDISK = [ IMAGE_ID = "${ids.image}" ]`,
    `NAME = "fz"\nCPU = "0.1"\nMEMORY = "64"\nNIC = [ NETWORK_ID = "${ids.vnet}", IP = "10.77.0.300" ]`,
    `NAME = "fz"\nCPU = "0.1"\nMEMORY = "64"\nNIC = [ NETWORK_ID = "${ids.vnet}", MAC = "zz:zz" ]`,
    `NAME = "fz"\nVN_MAD = "dummy"\nBRIDGE = "br0"\nAR = [ TYPE = "IP4", IP = "10.0.0.1", SIZE = "-1" ]`,
    `NAME = "fz"\nVN_MAD = "dummy"\nBRIDGE = "br0"\nAR = [ TYPE = "IP4", IP = "300.0.0.1", SIZE = "99999999999" ]`,
    `NAME = "fz"\nTYPE = "DATABLOCK"\nSIZE = "-1"`,
    `NAME = "fz"\nPATH = "/etc/shadow"`,
    `NAME = "fz"\nPATH = "file:///etc/passwd"`,
    `NAME = "fz"\nPATH = "http://169.254.169.254/latest/meta-data"`,
  ];
}

// ---------------------------------------------------------------- schema samples

/** The fuzzer's schema samples: six candidate strings, a bare 'probe' when none fits, `allOf` not merged. */
const { sampleOf, queryOf } = schemaSampler({
  strings: ['probe', '600', 'um-------', '0', '1', 'x'],
  fallback: () => 'probe',
  mergeAllOf: false,
});

/** The fuzzer's hints: vnets on br-fuzz with 64 addresses from 10.77.0.1, holds of 10.77.0.9, new ARs at 10.78.0.1. */
const hintsFor = routeHints({
  create: createTemplates({ templateCpu: '0.1', bridge: 'br-fuzz', arIp: '10.77.0.1', arSize: '64' }),
  actions: actionTemplates({ leaseIp: '10.77.0.9', newArIp: '10.78.0.1' }),
  quota: 'VM = [ VMS = "100" ]',
  description: 'DESCRIPTION = "fuzz"',
});

// ---------------------------------------------------------------- the request generator

/** Whether a path segment would be read as id 0 (Ajv coerces "00", "0x0", " 0" …). */
function readsAsZero(segment: string): boolean {
  try {
    const decoded = decodeURIComponent(segment);
    return decoded.trim() !== '' && Number(decoded) === 0;
  } catch {
    return false;
  }
}

function deepJson(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array'
    ? `${'['.repeat(depth)}1${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

class RequestGenerator {
  readonly #dice: Dice;
  readonly #jsonValues: unknown[];
  readonly #unicode: string[];
  readonly #templates: string[];

  constructor(
    seed: number,
    private readonly routes: readonly CatalogRoute[],
    private readonly ids: Readonly<Record<string, readonly number[]>>,
    refs: { image: number; vnet: number },
  ) {
    this.#dice = new Dice(prng(seed));
    // fast-check's generators, sampled once with the same seed: arbitrary JSON and unicode text.
    this.#jsonValues = fc.sample(fc.jsonValue({ maxDepth: 4 }), { seed, numRuns: 500 });
    this.#unicode = fc.sample(fc.string({ unit: 'binary', maxLength: 80 }), { seed: seed + 1, numRuns: 300 });
    this.#templates = malformedTemplates(refs);
  }

  /** The `i`-th request: routes in turn (every route gets its share), everything else at random. */
  next(i: number): FuzzRequest {
    const d = this.#dice;
    const route = this.routes[i % this.routes.length]!;
    const method = d.chance(0.03) ? d.pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']) : route.method;
    const collection = collectionOf(route.url);
    const hint = hintsFor(collection, route.url, `fz-${d.int(0, 1e6)}`);
    const query = d.chance(0.3)
      ? this.#query()
      : d.chance(0.8)
        ? queryOf(route.schema.querystring, hint)
        : '';
    const url = this.#path(route) + query;
    const wantsBody = route.schema.body !== undefined || ['POST', 'PUT', 'PATCH'].includes(method);
    if (!wantsBody && !d.chance(0.1))
      return { kind: 'no body', method, url, contentType: undefined, payload: undefined };
    const kind = d.weighted<string>([
      [30, 'mutated'],
      [8, 'valid'],
      [15, 'template'],
      [8, 'random json'],
      [10, 'malformed json'],
      [6, 'huge'],
      [5, 'deep'],
      [5, 'prototype keys'],
      [10, 'content type'],
      [3, 'empty'],
    ]);
    const sample = (template?: string): unknown =>
      sampleOf(route.schema.body, 'body', hintsFor(collection, route.url, `fz-${d.int(0, 1e6)}`, template));
    const json = (body: unknown, contentType = 'application/json'): FuzzRequest => ({
      kind,
      method,
      url,
      contentType,
      payload: JSON.stringify(body),
    });
    switch (kind) {
      case 'valid':
        return json(sample());
      case 'mutated':
        return json(this.#mutate(sample(), route.schema.body));
      case 'template': {
        const text = d.chance(0.3) ? this.#tokenSoup() : d.pick(this.#templates);
        return d.chance(0.3)
          ? { kind, method, url, contentType: 'text/plain', payload: text }
          : json(sample(text));
      }
      case 'random json':
        return json(d.pick(this.#jsonValues));
      case 'malformed json':
        return { kind, method, url, contentType: 'application/json', payload: d.pick(MALFORMED_JSON) };
      case 'huge': {
        const size = d.chance(0.04) ? OVERSIZED : d.int(10_000, 400_000);
        const base = sample();
        const filler = d.pick(['x', '😀', '\u0000', '"', '\\', 'é', ']]>']).repeat(Math.ceil(size / 3));
        const target = base !== null && typeof base === 'object' && !Array.isArray(base) ? { ...base } : {};
        const keys = Object.keys(target);
        (target as Record<string, unknown>)[keys.length > 0 ? d.pick(keys) : 'template'] = filler;
        return json(target);
      }
      case 'deep': {
        const depth = d.pick([64, 512, 4_096, 20_000]);
        const inner = deepJson(depth, d.chance(0.5) ? 'array' : 'object');
        const key = d.pick(['template', 'name', 'x', 'rule', 'password']);
        return {
          kind,
          method,
          url,
          contentType: 'application/json',
          payload: d.chance(0.5) ? inner : `{"${key}":${inner}}`,
        };
      }
      case 'prototype keys':
        return { kind, method, url, contentType: 'application/json', payload: d.pick(PROTO_BODIES) };
      case 'content type': {
        const contentType = d.pick([
          'application/xml',
          'text/xml',
          'multipart/form-data; boundary=----fuzz',
          'application/x-www-form-urlencoded',
          'application/octet-stream',
          'text/plain',
          'text/plain; charset=utf-16',
          'application/json; charset=latin1',
          'application/JSON',
          'application/json; charset=utf-8',
          'application/vnd.api+json',
          'invalid/type/x',
          ';;;',
          '',
        ]);
        const body = sample();
        const text = d.chance(0.5) ? JSON.stringify(body) : `<TEMPLATE><NAME>x</NAME></TEMPLATE>`;
        return {
          kind,
          method,
          url,
          contentType: contentType === '' ? undefined : contentType,
          payload: text,
        };
      }
      default:
        return {
          kind,
          method,
          url,
          contentType: d.pick(['application/json', 'text/plain', undefined]),
          payload: '',
        };
    }
  }

  #path(route: CatalogRoute): string {
    const d = this.#dice;
    const collection = collectionOf(route.url);
    return route.url
      .replace(PARAM, (_m, name: string) => {
        // Users 0 (oneadmin, the fuzzing identity) is left alone: a valid password change would lock us out.
        const isUser = collection === 'users' && name === 'id';
        let segment: string;
        if (d.chance(0.7)) {
          const pool = name === 'id' ? (this.ids[collection] ?? [0, 1]) : [0, 1, 2];
          segment = String(d.pick(pool));
        } else {
          segment = d.pick(WEIRD_PATH_SEGMENTS);
        }
        if (isUser && readsAsZero(segment)) segment = '1';
        return segment;
      })
      .replace(/\*/g, () => d.pick(['x', '..%2f..%2fetc%2fpasswd', '%00', '']));
  }

  #query(): string {
    const d = this.#dice;
    if (d.chance(0.1))
      return d.pick(['?', '?&&&=', '?%', '?a=%ZZ', '?=1', '?filter', `?${'a=1&'.repeat(500)}`]);
    const n = d.int(1, 4);
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(`${d.pick(QUERY_KEYS)}=${d.pick(QUERY_VALUES)}`);
    return `?${parts.join('&')}`;
  }

  #tokenSoup(): string {
    const d = this.#dice;
    return Array.from({ length: d.int(1, 200) }, () => d.pick(TEMPLATE_TOKENS)).join('');
  }

  #weirdValue(): unknown {
    const d = this.#dice;
    switch (d.int(0, 4)) {
      case 0:
        return d.pick(this.#jsonValues);
      case 1:
        return d.pick(this.#unicode);
      case 2:
        return JSON.parse(deepJson(d.int(2, 200), 'array')) as unknown;
      default:
        return d.pick(WEIRD_SCALARS);
    }
  }

  /** 1–3 changes to a valid body: a wrong value, an unknown or prototype key, a missing field. */
  #mutate(body: unknown, schema: unknown): unknown {
    const d = this.#dice;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      return d.chance(0.5) ? this.#weirdValue() : [body];
    }
    const out: Record<string, unknown> = { ...(body as Record<string, unknown>) };
    const known = Object.keys(((schema ?? {}) as { properties?: object }).properties ?? {});
    for (let i = d.int(1, 3); i > 0; i--) {
      const op = d.int(0, 9);
      const keys = [...new Set([...Object.keys(out), ...known])];
      if (op <= 5 && keys.length > 0) out[d.pick(keys)] = this.#weirdValue();
      else if (op <= 7) {
        const key = d.pick([
          '__proto__',
          'constructor',
          'prototype',
          'extra',
          '',
          ' ',
          'ID',
          'uid',
          'UID',
          'isOneadmin',
        ]);
        Object.defineProperty(out, key, {
          value: this.#weirdValue(),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else if (keys.length > 0) delete out[d.pick(keys)];
    }
    return out;
  }
}

// ---------------------------------------------------------------- the test

describe(`fuzzing every route (${RUNS} requests, seed ${SEED})`, () => {
  let t: TestNimbus;
  let routes: CatalogRoute[];
  const ids: Record<string, number[]> = {
    users: [1],
    groups: [0, 1],
    acl: [0, 1, 2, 3, 4, 5],
    hosts: [0, 1],
    clusters: [0, 1],
    datastores: [0, 1, 2, 3],
    templates: [999],
    images: [999],
    vnets: [999],
    vms: [999],
  };
  const refs = { image: 0, vnet: 0 };
  const seeded: string[] = [];

  /** Creates an object as oneadmin through its POST route, when the route exists and accepts it. */
  async function create(
    collection: string,
    name: string,
    template?: string,
    url = `/api/v1/${collection}`,
  ): Promise<number | null> {
    const route = routes.find((r) => r.method === 'POST' && r.url === url);
    if (route === undefined) return null;
    const hint = hintsFor(collection, url, name, template);
    const body = sampleOf(route.schema.body, 'body', hint);
    const concrete = fillUrl(url, () => ids.templates?.at(-1) ?? 0) + queryOf(route.schema.querystring, hint);
    const res = await t.admin('POST', concrete, body);
    if (res.status !== 201 && res.status !== 200) {
      seeded.push(`POST ${concrete} → ${res.status} ${JSON.stringify(res.body)}`);
      return null;
    }
    const id = res.body.ID as number;
    (ids[collection] ??= []).push(id);
    return id;
  }

  before(async () => {
    t = await startTestNimbus();
    routes = [...t.nimbus.app.routeCatalog.routes];
    // Objects for valid ids, and VMs holding leases and image references for the consistency check.
    const user = await t.createUser('fuzz-victim');
    ids.users!.push(user.id);
    await create('groups', 'fuzz-group');
    await create('clusters', 'fuzz-cluster');
    const vnet = await create('vnets', 'fuzz-net');
    const image = await create('images', 'fuzz-img');
    refs.vnet = vnet ?? 0;
    refs.image = image ?? 0;
    const vmTemplate =
      `NAME = "fuzz-tpl"\nCPU = "0.1"\nMEMORY = "64"` +
      (image !== null ? `\nDISK = [ IMAGE_ID = "${image}" ]` : '') +
      (vnet !== null ? `\nNIC = [ NETWORK_ID = "${vnet}" ]` : '');
    await create('templates', 'fuzz-tpl', vmTemplate);
    // Three VMs the fuzzer aims at, and three bystanders it does not (they must stay consistent too).
    for (let i = 0; i < 6; i++) {
      const vm =
        (await create('vms', `fuzz-vm-${i}`, vmTemplate.replace('fuzz-tpl', `fuzz-vm-${i}`))) ??
        (await create('templates', `fuzz-vm-${i}`, undefined, '/api/v1/templates/:id/instantiate'));
      if (vm !== null && i >= 3) ids.vms = ids.vms!.filter((id) => id !== vm);
    }
  });
  after(async () => t.close());

  it('answers every malformed request with a 4xx and a JSON code, never a 5xx', async (ctx) => {
    if (seeded.length > 0) ctx.diagnostic(`seed objects not created: ${seeded.join('; ')}`);
    const generator = new RequestGenerator(SEED, routes, ids, refs);
    const auth = `Basic ${Buffer.from(`oneadmin:${ADMIN_PASSWORD}`).toString('base64')}`;
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    const kinds = new Map<string, number>();
    const started = performance.now();
    for (let i = 0; i < RUNS; i++) {
      const req = generator.next(i);
      const headers: Record<string, string> = { authorization: auth };
      if (req.contentType !== undefined) headers['content-type'] = req.contentType;
      let status: number;
      let text: string;
      try {
        const res = await t.nimbus.app.inject({
          method: req.method as 'GET',
          url: req.url,
          headers,
          ...(req.payload !== undefined ? { payload: req.payload } : {}),
        });
        status = res.statusCode;
        text = res.body;
      } catch (error) {
        status = 599;
        text = `inject threw: ${(error as Error).message}`;
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      kinds.set(req.kind, (kinds.get(req.kind) ?? 0) + 1);
      let problem: string | null = null;
      if (status >= 500 || status < 200 || (status >= 300 && status < 400)) problem = `status ${status}`;
      else if (status >= 400) {
        try {
          const body = JSON.parse(text) as { code?: unknown };
          if (typeof body.code !== 'string' || body.code === '') problem = 'error body without a code';
        } catch {
          problem = 'error body is not JSON';
        }
      }
      if (problem !== null) {
        const payload =
          req.payload === undefined
            ? ''
            : ` ${req.contentType ?? '(no type)'} ${JSON.stringify(req.payload.slice(0, 300))}${req.payload.length > 300 ? `…(${req.payload.length} chars)` : ''}`;
        failures.push(
          `#${i} [${req.kind}] ${req.method} ${req.url.slice(0, 200)}${payload} → ${problem}: ${text.slice(0, 300)}`,
        );
      }
    }
    const seconds = (performance.now() - started) / 1000;
    ctx.diagnostic(
      `${RUNS} requests in ${seconds.toFixed(1)} s over ${routes.length} routes; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; kinds ${JSON.stringify(Object.fromEntries(kinds))}`,
    );
    assert.deepEqual(
      failures.slice(0, 25),
      [],
      `${failures.length} of ${RUNS} requests failed (first 25 shown)`,
    );
  });

  it('still answers afterwards, and every pool lists and shows', async () => {
    assert.equal((await t.admin('GET', '/api/v1/users/0')).status, 200);
    assert.equal((await t.anonymous('GET', '/api/v1/openapi.json')).status, 200);
    const problems: string[] = [];
    const lists = routes.filter((r) => r.method === 'GET' && !r.public && paramNames(r.url).length === 0);
    for (const route of lists) {
      const res = await t.admin('GET', route.url);
      if (res.status !== 200) problems.push(`GET ${route.url} → ${res.status} ${JSON.stringify(res.body)}`);
    }
    // Every stored record reads back and, where a show route exists, renders.
    const s = t.nimbus.store;
    const pools: [string, () => Promise<{ id: number }[]>][] = [
      ['users', async () => (await s.users.list()).items],
      ['groups', async () => (await s.groups.list()).items],
      ['acl', () => s.acl.list()],
      ['hosts', async () => (await s.hosts.list()).items],
      ['clusters', async () => (await s.clusters.list()).items],
      ['datastores', async () => (await s.datastores.list()).items],
      ['templates', async () => (await s.vmTemplates.list()).items],
      ['images', async () => (await s.images.list()).items],
      ['vnets', async () => (await s.vnets.list()).items],
      ['vms', async () => (await s.vms.list()).items],
      ['secgroups', async () => (await s.securityGroups.list()).items],
      ['vmgroups', async () => (await s.vmGroups.list()).items],
    ];
    for (const [collection, list] of pools) {
      const items = await list();
      const show = routes.find((r) => r.method === 'GET' && r.url === `/api/v1/${collection}/:id`);
      if (show === undefined) continue;
      for (const item of items) {
        const res = await t.admin('GET', `/api/v1/${collection}/${item.id}`);
        if (res.status !== 200)
          problems.push(`GET /api/v1/${collection}/${item.id} → ${res.status} ${JSON.stringify(res.body)}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('leaves leases and image references consistent with the VMs', async (ctx) => {
    const s = t.nimbus.store;
    const problems: string[] = [];
    const vms = (await s.vms.list()).items;
    const byId = new Map(vms.map((vm) => [vm.id, vm]));
    const leased = new Set<string>();
    for (const vnet of (await s.vnets.list()).items) {
      for (const lease of await s.leases.listByVnet(vnet.id)) {
        if (lease.owner.kind !== 'vm') continue;
        const vm = byId.get(lease.owner.id);
        if (vm === undefined)
          problems.push(
            `vnet ${vnet.id} AR ${lease.arId} #${lease.index}: leased to missing VM ${lease.owner.id}`,
          );
        else if (vm.state === DONE)
          problems.push(`vnet ${vnet.id} AR ${lease.arId} #${lease.index}: leased to DONE VM ${vm.id}`);
        leased.add(`${lease.owner.id}/${lease.owner.nicId}/${vnet.id}`);
      }
    }
    const users = new Map<number, Set<number>>();
    for (const vm of vms) {
      if (vm.state === DONE) continue;
      for (const nic of getVectors(vm.template, 'NIC')) {
        if (nic.NETWORK_ID === undefined || nic.NIC_ID === undefined) continue;
        if (!leased.has(`${vm.id}/${nic.NIC_ID}/${nic.NETWORK_ID}`))
          problems.push(`VM ${vm.id} NIC ${nic.NIC_ID} on vnet ${nic.NETWORK_ID} has no lease`);
      }
      for (const disk of getVectors(vm.template, 'DISK')) {
        if (disk.IMAGE_ID === undefined) continue;
        const image = Number(disk.IMAGE_ID);
        if (!users.has(image)) users.set(image, new Set());
        users.get(image)!.add(vm.id);
      }
    }
    const images = (await s.images.list()).items;
    for (const image of images) {
      const using = users.get(image.id) ?? new Set<number>();
      if (image.runningVms !== using.size)
        problems.push(
          `image ${image.id}: RUNNING_VMS ${image.runningVms}, but ${using.size} live VMs use it (${[...using].join(',')})`,
        );
    }
    for (const imageId of users.keys()) {
      if (!images.some((i) => i.id === imageId))
        problems.push(`live VMs ${[...users.get(imageId)!].join(',')} use missing image ${imageId}`);
    }
    const references = [...users.values()].reduce((n, set) => n + set.size, 0);
    ctx.diagnostic(
      `${vms.length} VMs (${vms.filter((vm) => vm.state !== DONE).length} live), ${leased.size} VM leases, ${references} image references checked`,
    );
    assert.deepEqual(problems, []);
  });
});
