import type { Command } from 'commander';
import type { CliIo } from './program.js';

export function vmNoun(_program: Command, _io: CliIo): void {
  // filled by the vms work
}
