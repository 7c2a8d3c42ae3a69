import type { Command } from 'commander';
import type { CliIo } from './program.js';

export function hostNoun(_program: Command, _io: CliIo): void {
  // filled by the hosts work
}
