import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../../src/cli/program.js';
import type { CliIo } from '../../../src/cli/program.js';
import { templateNoun } from '../../../src/cli/template.js';
import { repoRoot } from './support.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with files from a map and a given stdin. */
async function run(
  args: string[],
  files: Record<string, string | Uint8Array> = {},
  stdin = '',
): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    readFile: async (path) => {
      const content = files[path];
      if (content === undefined)
        throw Object.assign(new Error(`ENOENT: no such file, open '${path}'`), { code: 'ENOENT' });
      return typeof content === 'string' ? new TextEncoder().encode(content) : content;
    },
    readStdin: async () => new TextEncoder().encode(stdin),
  };
  const code = await runCli(args, [templateNoun], io);
  return { code, stdout, stderr };
}

/** Runs the real entry point in a child process (no shell). */
function runProcess(args: string[], input?: string): Run {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: repoRoot,
    input,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const VM =
  'NAME = web\nDISK = [ IMAGE = debian, SIZE = 10 ]\nDISK = [ IMAGE = data ]\nLABEL = a\nLABEL = b\n';
const VM_JSON = `{
  "DISK": [
    {
      "IMAGE": "debian",
      "SIZE": "10"
    },
    {
      "IMAGE": "data"
    }
  ],
  "LABEL": [
    "a",
    "b"
  ],
  "NAME": "web"
}
`;
const VM_TEXT =
  'DISK = [\n  IMAGE = "debian",\n  SIZE = "10" ]\nDISK = [\n  IMAGE = "data" ]\nLABEL = "a"\nLABEL = "b"\nNAME = "web"\n';

describe('nimbus template parse|format (in-process)', () => {
  it('parse prints the JSON form with a trailing newline', async () => {
    assert.deepStrictEqual(await run(['template', 'parse', 'vm.tmpl'], { 'vm.tmpl': VM }), {
      code: 0,
      stdout: VM_JSON,
      stderr: '',
    });
  });

  it('format prints the canonical text form', async () => {
    assert.deepStrictEqual(await run(['template', 'format', 'vm.tmpl'], { 'vm.tmpl': VM }), {
      code: 0,
      stdout: VM_TEXT,
      stderr: '',
    });
  });

  it('reads the XML form too', async () => {
    const xml = '<TEMPLATE><NAME>web</NAME><DISK><IMAGE>x</IMAGE></DISK></TEMPLATE>';
    const result = await run(['template', 'format', 'vm.xml'], { 'vm.xml': xml });
    assert.deepStrictEqual(result, {
      code: 0,
      stdout: 'DISK = [\n  IMAGE = "x" ]\nNAME = "web"\n',
      stderr: '',
    });
  });

  it('reads stdin for "-"', async () => {
    assert.deepStrictEqual(await run(['template', 'parse', '-'], {}, VM), {
      code: 0,
      stdout: VM_JSON,
      stderr: '',
    });
  });

  it('prints FILE:LINE:COL: message for a syntax error and exits 2', async () => {
    const result = await run(['template', 'parse', 'bad.tmpl'], { 'bad.tmpl': 'A = 1\nCPU 1\n' });
    assert.deepStrictEqual(result, {
      code: 2,
      stdout: '',
      stderr: 'bad.tmpl:2:5: expected "=" after attribute name "CPU", found "1"\n',
    });
  });

  it('names stdin "-" in syntax errors', async () => {
    const result = await run(['template', 'format', '-'], {}, '<TEMPLATE><A x="1"/></TEMPLATE>');
    assert.deepStrictEqual(result, {
      code: 2,
      stdout: '',
      stderr: '-:1:11: XML attributes are not allowed in a template (<A> has "x")\n',
    });
  });

  it('reports a missing file in one line and exits 2', async () => {
    assert.deepStrictEqual(await run(['template', 'parse', 'nope.tmpl']), {
      code: 2,
      stdout: '',
      stderr: 'nope.tmpl: cannot read: no such file or directory\n',
    });
  });

  it('refuses text that is not UTF-8', async () => {
    const result = await run(['template', 'parse', 'bin.tmpl'], {
      'bin.tmpl': new Uint8Array([0x41, 0x3d, 0xff]),
    });
    assert.deepStrictEqual(result, { code: 2, stdout: '', stderr: 'bin.tmpl: not valid UTF-8 text\n' });
  });

  it('format refuses a template the text form cannot write, parse still works', async () => {
    const files = { 'path.tmpl': 'PATH = C:\\images\\\n' };
    const format = await run(['template', 'format', 'path.tmpl'], files);
    assert.equal(format.code, 2);
    assert.equal(format.stdout, '');
    assert.match(
      format.stderr,
      /^path\.tmpl: TEMPLATE_UNREPRESENTABLE: value of "PATH" ends with a backslash.*\n$/,
    );
    assert.deepStrictEqual(await run(['template', 'parse', 'path.tmpl'], files), {
      code: 0,
      stdout: '{\n  "PATH": "C:\\\\images\\\\"\n}\n',
      stderr: '',
    });
  });

  it('exits 2 on usage errors and 0 on --help', async () => {
    const missing = await run(['template', 'parse']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing required argument 'file'/);
    assert.equal((await run(['bogus'])).code, 2);
    assert.equal((await run(['template'])).code, 2);
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /template/);
    assert.match(help.stdout, /Exit codes: 0 success, 2 failure/);
  });

  it('reports an unexpected failure in one line, exit 1, no stack trace', async () => {
    const io: CliIo = {
      stdout: () => {
        throw new TypeError('stdout is gone');
      },
      stderr: (text) => void (captured += text),
      readFile: async () => new TextEncoder().encode('A = 1'),
      readStdin: async () => new Uint8Array(),
    };
    let captured = '';
    assert.equal(await runCli(['template', 'parse', 'x'], [templateNoun], io), 1);
    assert.equal(captured, 'nimbus: internal error: stdout is gone\n');
  });
});

describe('nimbus template (the real entry point, child processes)', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nimbus-cli-'));
    writeFileSync(join(dir, 'vm.tmpl'), VM);
    writeFileSync(join(dir, 'bad.tmpl'), 'DISK = [ IMAGE = a,\n  SIZE = 1,\n]\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('parse FILE: exit 0, JSON on stdout', () => {
    assert.deepStrictEqual(runProcess(['template', 'parse', join(dir, 'vm.tmpl')]), {
      code: 0,
      stdout: VM_JSON,
      stderr: '',
    });
  });

  it('format -: reads stdin', () => {
    assert.deepStrictEqual(runProcess(['template', 'format', '-'], VM), {
      code: 0,
      stdout: VM_TEXT,
      stderr: '',
    });
  });

  it('syntax error: FILE:LINE:COL: message on stderr, exit 2', () => {
    const file = join(dir, 'bad.tmpl');
    assert.deepStrictEqual(runProcess(['template', 'parse', file]), {
      code: 2,
      stdout: '',
      stderr: `${file}:2:11: trailing "," before "]" in vector "DISK": OpenNebula expects another element after ","\n`,
    });
  });

  it('missing file: one line, exit 2, no stack trace', () => {
    const result = runProcess(['template', 'format', join(dir, 'missing.tmpl')]);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, `${join(dir, 'missing.tmpl')}: cannot read: no such file or directory\n`);
  });
});
