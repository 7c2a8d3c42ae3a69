/**
 * The `nimbus` command: a commander program with one file per noun (template, ...). Exit codes:
 * 0 success; 2 the command could not do its job (bad input, unreadable file, usage error);
 * 1 an unexpected internal error. Messages are one line on stderr; never a stack trace.
 */
import { readFile } from 'node:fs/promises';
import { Command, CommanderError } from 'commander';
import { NimbusError } from '../domain/errors.js';
import { addConnectionOptions } from './client.js';

/** Where the CLI reads and writes, so tests can run it in-process. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readFile(path: string): Promise<Uint8Array>;
  readStdin(): Promise<Uint8Array>;
}

/** A failure already worded for the user: print `message` and exit with `exitCode`. */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'CliFailure';
  }
}

/** A noun adds its subcommands (`nimbus template parse|format`) to the program. */
export type CliNoun = (program: Command, io: CliIo) => void;

export const EXIT_OK = 0;
export const EXIT_INTERNAL = 1;
export const EXIT_FAILURE = 2;

export async function runCli(argv: readonly string[], nouns: readonly CliNoun[], io: CliIo): Promise<number> {
  const program = new Command('nimbus')
    .description('Nimbus private cloud: command-line client')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
    .addHelpText(
      'after',
      '\nExit codes: 0 success, 2 failure (bad input, unreadable file, usage), 1 internal error.',
    );
  addConnectionOptions(program);
  for (const noun of nouns) noun(program, io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    return reportError(error, io);
  }
}

function reportError(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) {
    // commander has printed the message or the help already
    return error.code === 'commander.helpDisplayed' || error.code === 'commander.version'
      ? EXIT_OK
      : EXIT_FAILURE;
  }
  if (error instanceof CliFailure) {
    io.stderr(`${error.message}\n`);
    return error.exitCode;
  }
  if (error instanceof NimbusError) {
    io.stderr(`nimbus: ${error.code}: ${error.message}\n`);
    return EXIT_FAILURE;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr(`nimbus: internal error: ${message}\n`);
  return EXIT_INTERNAL;
}

/** Reads a whole file, or stdin for "-", as UTF-8 text (a BOM is dropped). */
export async function readInputText(path: string, io: CliIo): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = path === '-' ? await io.readStdin() : await io.readFile(path);
  } catch (error) {
    throw new CliFailure(`${path}: cannot read: ${describeIoError(error)}`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CliFailure(`${path}: not valid UTF-8 text`);
  }
}

function describeIoError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

/** The real process: stdout/stderr, files, stdin. */
export function processIo(): CliIo {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') return; // a closed pipe (`| head`) is not a failure
    process.stderr.write(`nimbus: cannot write output: ${error.message}\n`);
    process.exitCode = EXIT_INTERNAL;
  });
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    readFile: (path) => readFile(path),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
  };
}
