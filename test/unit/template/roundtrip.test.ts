/**
 * Property-based round trips over generated templates: names, repeated singles, vectors, values
 * with quotes, newlines, "#", "[", "]", ",", "=", backslashes, markup, unicode and empty strings.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  parseTemplate,
  parseTemplateXml,
  serializeTemplate,
  serializeTemplateXml,
  templateFromEntries,
  templateFromJson,
  templateToJson,
  validateTemplate,
} from '../../../src/domain/template/index.js';
import type { Template, TemplateValue } from '../../../src/domain/template/index.js';
import { expectNimbusError } from './support.js';

const RUNS = { numRuns: 400 };

/** A few common names, so repeated attributes (several DISK, NIC) come up often. */
const nameArb = fc.oneof(
  fc.constantFrom('DISK', 'NIC', 'CPU', 'CONTEXT', '_'),
  fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,7}$/).filter((n) => !n.startsWith('XML')),
);
const subNameArb = fc.stringMatching(/^[A-Z0-9_]{1,6}$/);
const xmlSubNameArb = fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,5}$/);

const CHARS = [
  ...'aZ09 _-.:/\t\n\r"\\#[],=$&<>\'!%*',
  'é',
  '中',
  '😀',
  '\u00a0',
  '\u2028',
  ']]',
  '>',
  '\\"',
  '"\\',
];
const anyValueArb = fc.string({ unit: fc.constantFrom(...CHARS), maxLength: 24 });
/** What every form can hold: no "]]>", no trailing backslash. */
const valueArb = anyValueArb.filter((v) => !v.includes(']]>') && !v.endsWith('\\'));

function templateArb(sub: fc.Arbitrary<string>): fc.Arbitrary<Template> {
  const vectorArb = fc.dictionary(sub, valueArb, { maxKeys: 5 });
  const valueOrVector: fc.Arbitrary<TemplateValue> = fc.oneof(valueArb, vectorArb);
  return fc
    .array(fc.tuple(nameArb, valueOrVector), { maxLength: 12 })
    .map((entries) => templateFromEntries(entries));
}

describe('round trips (property-based)', () => {
  it('text: parseTemplate(serializeTemplate(t)) equals t, and formatting is idempotent', () => {
    fc.assert(
      fc.property(templateArb(subNameArb), (t) => {
        const text = serializeTemplate(t);
        assert.deepStrictEqual(parseTemplate(text), t);
        assert.equal(serializeTemplate(parseTemplate(text)), text);
      }),
      RUNS,
    );
  });

  it('XML: parseTemplateXml(serializeTemplateXml(t)) equals t', () => {
    fc.assert(
      fc.property(templateArb(xmlSubNameArb), (t) => {
        assert.deepStrictEqual(parseTemplateXml(serializeTemplateXml(t)), t);
      }),
      RUNS,
    );
  });

  it('XML: a sub-name starting with a digit is refused, never altered', () => {
    fc.assert(
      fc.property(templateArb(subNameArb), (t) => {
        const digitSub = Object.values(t).some((vs) =>
          vs.some((v) => typeof v !== 'string' && Object.keys(v).some((k) => /^[0-9]/.test(k))),
        );
        if (digitSub)
          assert.equal(expectNimbusError(() => serializeTemplateXml(t)).code, 'TEMPLATE_UNREPRESENTABLE');
        else assert.deepStrictEqual(parseTemplateXml(serializeTemplateXml(t)), t);
      }),
      RUNS,
    );
  });

  it('JSON: templateFromJson(templateToJson(t)) equals t, through JSON text', () => {
    fc.assert(
      fc.property(templateArb(xmlSubNameArb), (t) => {
        const json: unknown = JSON.parse(JSON.stringify(templateToJson(t)));
        assert.deepStrictEqual(templateFromJson(json), t);
        assert.deepStrictEqual(validateTemplate(t), { ok: true, value: t });
      }),
      RUNS,
    );
  });

  it('text: a value ending in a backslash or holding "]]>" is refused, never altered', () => {
    fc.assert(
      fc.property(nameArb, anyValueArb, (name, value) => {
        const t = templateFromEntries([[name, value]]);
        if (value.endsWith('\\') || value.includes(']]>')) {
          const error = expectNimbusError(() => serializeTemplate(t));
          assert.equal(error.code, 'TEMPLATE_UNREPRESENTABLE');
          assert.equal(error.field, name);
        } else {
          assert.deepStrictEqual(parseTemplate(serializeTemplate(t)), t);
        }
      }),
      RUNS,
    );
  });
});

/** Renders a template the way people write them: any case, blanks, comments, bare words. */
function messyText(t: Template, pick: (n: number) => number): string {
  const blanks = (): string => ['', ' ', '\t', '  '][pick(4)]!;
  const trivia = (): string => [' ', '\n', '\r\n', ' # note\n', '\n\n  ', '\t#\n'][pick(6)]!;
  const anyCase = (s: string): string => [...s].map((c) => (pick(2) === 0 ? c.toLowerCase() : c)).join('');
  const bareSafe = (v: string): boolean =>
    v !== '' && !/[\s=#,[\]"\u2028\u00a0]/.test(v) && !v.includes('\\');
  const value = (v: string): string => (bareSafe(v) && pick(2) === 0 ? v : `"${v.replaceAll('"', '\\"')}"`);
  let out = pick(2) === 0 ? '' : '# header\n';
  for (const name of Object.keys(t)) {
    for (const v of t[name]!) {
      out += `${anyCase(name)}${blanks()}=${blanks()}`;
      if (typeof v === 'string') {
        out += v === '' && pick(2) === 0 ? '\n' : `${value(v)}${trivia()}`;
      } else {
        const keys = Object.keys(v);
        for (let i = keys.length - 1; i > 0; i--) {
          const j = pick(i + 1);
          [keys[i], keys[j]] = [keys[j]!, keys[i]!];
        }
        const items = keys.map((k) => `${anyCase(k)}${blanks()}=${blanks()}${value(v[k]!)}`);
        out += `[${trivia()}${items.join(`${trivia()},${trivia()}`)}${trivia()}]${trivia()}`;
      }
    }
  }
  return out;
}

describe('the parser reads hand-written layouts (property-based)', () => {
  it('parses any valid layout of a template to the same template', () => {
    fc.assert(
      fc.property(templateArb(subNameArb), fc.infiniteStream(fc.nat()), (t, numbers) => {
        const iterator = numbers[Symbol.iterator]();
        const text = messyText(t, (n) => (iterator.next().value as number) % n);
        assert.deepStrictEqual(parseTemplate(text), t, text);
      }),
      RUNS,
    );
  });
});
