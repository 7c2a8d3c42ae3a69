/**
 * Template language throughput: parse and serialize of a ~10 MB corpus of realistic VM templates
 * (hand-written style: comments, bare and quoted values, multi-line CONTEXT scripts), generated
 * deterministically from a seed. The yardstick, measured in the same run, is JSON.parse of the
 * same templates in their JSON form. MB = 10^6 bytes of UTF-8.
 *   node --import tsx bench/template.ts
 */
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { parseTemplate, serializeTemplate, templateToJson } from '../src/domain/template/index.js';
import type { Template } from '../src/domain/template/index.js';

const TARGET_BYTES = 10_000_000;
const ITERATIONS = 7;

/** mulberry32: small, fast, deterministic. */
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

const random = prng(0x5eed);
const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)]!;

const DISTROS = [
  'debian-12',
  'ubuntu-24.04',
  'alma-9',
  'alpine-3.20',
  'rocky-9',
  'opensuse-15.6',
  '中文-镜像',
];
const NETWORKS = ['public', 'private', 'storage-net', 'mgmt', 'dmz'];
const WORDS = ['web', 'db', 'cache', 'worker', 'proxy', 'build', 'test', 'edge'];

function sshKey(): string {
  let body = '';
  for (let i = 0; i < 68; i++)
    body += 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'[int(0, 63)];
  return `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5${body} ops@example.org`;
}

function startScript(): string {
  const lines = [
    '#!/bin/sh -e',
    'mount -t iso9660 /dev/sr0 /mnt',
    'if [ -f /mnt/context.sh ]; then',
    '  . /mnt/init.sh',
    'fi',
  ];
  for (let i = int(0, 6); i > 0; i--) lines.push(`echo \\"step ${i}: ${pick(WORDS)}\\" >> /var/log/boot.log`);
  lines.push('umount /mnt', 'exit 0');
  return lines.join('\n');
}

/** One VM template as a person would write it. */
function vmTemplate(n: number): string {
  const name = `${pick(WORDS)}-${n}`;
  const out: string[] = [
    `# VM template ${n}`,
    `NAME   = "${name}"`,
    `CPU    = ${pick(['0.5', '1', '2', '4'])}`,
  ];
  out.push(`VCPU   = ${pick([1, 2, 4, 8])}`, `MEMORY = ${pick([512, 1024, 2048, 4096, 8192])} # MB`);
  out.push(`DESCRIPTION = "${pick(WORDS)} server for team ${pick(WORDS)}, created by the portal"`);
  for (let d = int(1, 3); d > 0; d--) {
    out.push(
      d === 1
        ? `DISK = [ IMAGE = "${pick(DISTROS)}", IMAGE_UNAME = "oneadmin", DEV_PREFIX = "vd", DRIVER = "qcow2", CACHE = none ]`
        : `DISK = [\n  TYPE = fs,\n  SIZE = ${int(1, 200) * 1024},\n  FORMAT = "qcow2",\n  TARGET = "vd${'bcdef'[d]}" ]`,
    );
  }
  for (let i = int(1, 2); i > 0; i--) {
    out.push(
      `NIC = [ NETWORK = "${pick(NETWORKS)}", NETWORK_UNAME = "oneadmin", MODEL = "virtio", SECURITY_GROUPS = "0,${int(100, 199)}" ]`,
    );
  }
  out.push('GRAPHICS = [ TYPE = "vnc", LISTEN = "0.0.0.0", RANDOM_PASSWD = "YES" ]');
  out.push(
    'OS = [ ARCH = "x86_64", BOOT = "disk0,nic0", FIRMWARE = "" ]',
    'FEATURES = [ ACPI = "yes", GUEST_AGENT = "yes" ]',
  );
  out.push(
    'CONTEXT = [',
    '  NETWORK = "YES",',
    '  SSH_PUBLIC_KEY = "$USER[SSH_PUBLIC_KEY]",',
    `  SSH_KEY_EXTRA = "${sshKey()}",`,
    `  HOSTNAME = "$NAME-${int(1, 999)}",`,
    '  IP_PUBLIC = "$NIC[IP, NETWORK=\\"public\\"]",',
    `  START_SCRIPT = "${startScript()}" ]`,
  );
  out.push(
    `SCHED_REQUIREMENTS = "HYPERVISOR=\\"kvm\\" & FREE_CPU > ${int(10, 90)}"`,
    `SCHED_RANK = "FREE_CPU"`,
  );
  out.push(`LABELS = "${pick(WORDS)},${pick(WORDS)}"`, '');
  return out.join('\n');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function bytes(texts: readonly string[]): number {
  let total = 0;
  for (const t of texts) total += Buffer.byteLength(t, 'utf8');
  return total;
}

function time(run: () => void): number {
  const start = performance.now();
  run();
  return (performance.now() - start) / 1000;
}

const sources: string[] = [];
for (let size = 0, n = 0; size < TARGET_BYTES; n++) {
  const text = vmTemplate(n);
  sources.push(text);
  size += Buffer.byteLength(text, 'utf8');
}
const parsed: Template[] = sources.map(parseTemplate);
const canonical = parsed.map(serializeTemplate);
const jsonTexts = parsed.map((t) => JSON.stringify(templateToJson(t)));
const sourceMb = bytes(sources) / 1e6;
const canonicalMb = bytes(canonical) / 1e6;
const jsonMb = bytes(jsonTexts) / 1e6;

const parseTimes: number[] = [];
const serializeTimes: number[] = [];
const bothTimes: number[] = [];
const jsonTimes: number[] = [];
let sink = 0;
for (let i = 0; i <= ITERATIONS; i++) {
  const p = time(() => {
    for (const s of sources) sink += Object.keys(parseTemplate(s)).length;
  });
  const s = time(() => {
    for (const t of parsed) sink += serializeTemplate(t).length;
  });
  const b = time(() => {
    for (const src of sources) sink += serializeTemplate(parseTemplate(src)).length;
  });
  const j = time(() => {
    for (const src of jsonTexts) sink += Object.keys(JSON.parse(src) as object).length;
  });
  if (i === 0) continue; // warm-up
  parseTimes.push(p);
  serializeTimes.push(s);
  bothTimes.push(b);
  jsonTimes.push(j);
}

const round = (x: number): number => Math.round(x * 10) / 10;
const parseRate = sourceMb / median(parseTimes);
const serializeRate = canonicalMb / median(serializeTimes);
const bothRate = sourceMb / median(bothTimes);
const jsonRate = jsonMb / median(jsonTimes);

console.log(
  `corpus: ${sources.length} VM templates, ${sourceMb.toFixed(2)} MB text (canonical ${canonicalMb.toFixed(2)} MB, JSON ${jsonMb.toFixed(2)} MB)`,
);
console.log(`median of ${ITERATIONS} runs after one warm-up (checksum ${sink % 1000})`);
console.log(`parse:             ${round(parseRate)} MB/s`);
console.log(`serialize:         ${round(serializeRate)} MB/s (of canonical output)`);
console.log(`parse + serialize: ${round(bothRate)} MB/s (of input)`);
console.log(`JSON.parse:        ${round(jsonRate)} MB/s (yardstick, same templates as JSON)`);
console.log(`parse vs JSON.parse: ${(parseRate / jsonRate).toFixed(2)}x`);
console.log(
  JSON.stringify({
    bench: 'template',
    mb: round(sourceMb),
    parse_mb_per_s: round(parseRate),
    serialize_mb_per_s: round(serializeRate),
    parse_serialize_mb_per_s: round(bothRate),
    json_parse_mb_per_s: round(jsonRate),
    ratio_vs_json: Math.round((parseRate / jsonRate) * 100) / 100,
  }),
);
