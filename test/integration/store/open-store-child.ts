// Opens (and so migrates) the store given as JSON in argv[2], prints the schema version: the
// migrations test starts several of these at once, like several nimbusd starting together.
import { openStore } from '../../../src/store/index.js';
import type { StoreOptions } from '../../../src/store/index.js';

const store = await openStore(JSON.parse(process.argv[2] ?? '{}') as StoreOptions);
try {
  process.stdout.write(`${await store.schemaVersion()}\n`);
} finally {
  await store.close();
}
