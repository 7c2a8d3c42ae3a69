/**
 * `nimbus template parse FILE` prints a template (text or XML form) as JSON;
 * `nimbus template format FILE` prints it in canonical text form. FILE "-" reads stdin.
 * A syntax error prints `FILE:LINE:COLUMN: message` (FILE as given, "-" for stdin) and exits 2.
 */
import type { Command } from 'commander';
import { NimbusError } from '../domain/errors.js';
import {
  parseAnyTemplate,
  serializeTemplate,
  TemplateSyntaxError,
  templateToJson,
} from '../domain/template/index.js';
import type { Template } from '../domain/template/index.js';
import { CliFailure, readInputText } from './program.js';
import type { CliIo } from './program.js';

async function loadTemplate(file: string, io: CliIo): Promise<Template> {
  const text = await readInputText(file, io);
  try {
    return parseAnyTemplate(text);
  } catch (error) {
    if (error instanceof TemplateSyntaxError)
      throw new CliFailure(`${file}:${error.line}:${error.column}: ${error.message}`);
    throw withFile(file, error);
  }
}

function withFile(file: string, error: unknown): unknown {
  return error instanceof NimbusError ? new CliFailure(`${file}: ${error.code}: ${error.message}`) : error;
}

export function templateNoun(program: Command, io: CliIo): void {
  const template = program
    .command('template')
    .description('OpenNebula templates: parse and format the KEY = VALUE and <TEMPLATE> XML forms');
  template
    .command('parse')
    .description(
      'print a template as JSON (single attribute: string; repeated: array; vector: array of objects)',
    )
    .argument('<file>', 'template file in text or XML form, "-" for stdin')
    .action(async (file: string) => {
      const parsed = await loadTemplate(file, io);
      io.stdout(`${JSON.stringify(templateToJson(parsed), null, 2)}\n`);
    });
  template
    .command('format')
    .description('print a template in canonical text form (names alphabetical, values quoted)')
    .argument('<file>', 'template file in text or XML form, "-" for stdin')
    .action(async (file: string) => {
      const parsed = await loadTemplate(file, io);
      let text: string;
      try {
        text = serializeTemplate(parsed);
      } catch (error) {
        throw withFile(file, error);
      }
      io.stdout(text);
    });
}
