import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  parseAnyTemplate,
  parseTemplate,
  parseTemplateXml,
  serializeTemplate,
  serializeTemplateXml,
  templateFromJson,
  templateToJson,
  TemplateSyntaxError,
} from '../../../src/domain/template/index.js';
import type { Template } from '../../../src/domain/template/index.js';
import { expectNimbusError, fixturesDir } from './support.js';

const files = readdirSync(fixturesDir).sort();
const templates = files.filter((f) => /\.(tmpl|xml|json)$/.test(f) && !f.endsWith('.expected.json'));

function load(file: string): Template {
  const text = readFileSync(join(fixturesDir, file), 'utf8');
  return file.endsWith('.json') ? templateFromJson(JSON.parse(text)) : parseAnyTemplate(text);
}

describe('fixtures: every template example of the reference and the seed', () => {
  it('has the fixtures and a golden file for each', () => {
    assert.ok(templates.length >= 30, `only ${templates.length} fixtures`);
    for (const file of templates)
      assert.ok(files.includes(`${file}.expected.json`), `${file}.expected.json is missing`);
    const sources = readFileSync(join(fixturesDir, 'SOURCES.md'), 'utf8');
    for (const file of files.filter((f) => !f.endsWith('.expected.json') && f !== 'SOURCES.md')) {
      assert.ok(sources.includes(`\`${file}\``), `SOURCES.md does not list ${file}`);
    }
  });

  for (const file of templates) {
    describe(file, () => {
      it('parses to its golden JSON', () => {
        const expected: unknown = JSON.parse(
          readFileSync(join(fixturesDir, `${file}.expected.json`), 'utf8'),
        );
        assert.deepStrictEqual(templateToJson(load(file)), expected);
      });

      it('survives canonical text, XML and JSON round trips', () => {
        const t = load(file);
        const text = serializeTemplate(t);
        assert.deepStrictEqual(parseTemplate(text), t);
        assert.equal(serializeTemplate(parseTemplate(text)), text);
        assert.deepStrictEqual(parseTemplateXml(serializeTemplateXml(t)), t);
        assert.deepStrictEqual(templateFromJson(JSON.parse(JSON.stringify(templateToJson(t)))), t);
      });
    });
  }

  it('refuses the seed Xen deployment file, which is not an OpenNebula template', () => {
    const text = readFileSync(join(fixturesDir, 'seed-xen-deployment.txt'), 'utf8');
    const error = expectNimbusError(() => parseTemplate(text));
    assert.ok(error instanceof TemplateSyntaxError);
    assert.deepStrictEqual([error.line, error.column], [10, 5]);
    assert.match(error.message, /expected a sub-attribute name in vector "DISK", found "'"/);
  });
});

describe('fixtures: canonical text of a full VM template', () => {
  it('formats nimbus-vm-full.tmpl exactly', () => {
    const t = load('nimbus-vm-full.tmpl');
    assert.equal(
      serializeTemplate(t),
      [
        'CONTEXT = [',
        '  HOSTNAME = "$NAME-$VMID",',
        '  NETWORK = "YES",',
        '  SSH_PUBLIC_KEY = "$USER[SSH_PUBLIC_KEY]",',
        '  START_SCRIPT = "#!/bin/sh',
        'echo \\"hello from $NAME\\" > /etc/motd',
        'exit 0" ]',
        'CPU = "0.5"',
        'DESCRIPTION = ""',
        'DISK = [',
        '  DEV_PREFIX = "vd",',
        '  IMAGE = "debian-12",',
        '  IMAGE_UNAME = "oneadmin" ]',
        'DISK = [',
        '  FORMAT = "qcow2",',
        '  SIZE = "10240",',
        '  TYPE = "fs" ]',
        'GRAPHICS = [',
        '  KEYMAP = "en-us",',
        '  LISTEN = "0.0.0.0",',
        '  TYPE = "vnc" ]',
        'LABELS = "prod,web"',
        'LABELS = "team/ops"',
        'MEMORY = "1024"',
        'NAME = "web-1"',
        'NIC = [',
        '  IP = "10.0.0.10",',
        '  NETWORK = "public" ]',
        'NIC_DEFAULT = [ ]',
        'PATH = "C:\\images\\disk.qcow2"',
        'SCHED_REQUIREMENTS = "HYPERVISOR=\\"kvm\\" & FREE_CPU > 50"',
        'VCPU = "2"',
        '',
      ].join('\n'),
    );
  });
});
