import type { Command } from 'commander';
import type { CliIo } from './program.js';

export function imageNoun(_program: Command, _io: CliIo): void {
  // filled by the images work
}
