/** Entry point of the `nimbus` command (bin/nimbus.js imports the built copy). One line per noun. */
import { processIo, runCli } from './program.js';
import { templateNoun } from './template.js';

process.exitCode = await runCli(process.argv.slice(2), [templateNoun], processIo());
