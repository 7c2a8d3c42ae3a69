/**
 * Fails when line coverage of the files under a folder is below a threshold. Node 20's test
 * runner writes lcov but has no threshold flags, so `make test` runs this over its report.
 *   node --import tsx scripts/check-coverage.ts coverage/lcov.info src/domain 90
 */
import { readdirSync, readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';

const [lcovPath = 'coverage/lcov.info', folder = 'src/domain', thresholdText = '90'] = process.argv.slice(2);
const threshold = Number(thresholdText);
const root = resolve(folder);

interface FileCoverage {
  found: number;
  hit: number;
}
const files = new Map<string, FileCoverage>();
let current: string | null = null;
for (const line of readFileSync(lcovPath, 'utf8').split('\n')) {
  if (line.startsWith('SF:')) {
    const path = resolve(line.slice(3));
    current = path.startsWith(root + '/') && !path.endsWith('.test.ts') ? path : null;
    if (current !== null && !files.has(current)) files.set(current, { found: 0, hit: 0 });
  } else if (current !== null && line.startsWith('LF:')) {
    files.get(current)!.found += Number(line.slice(3));
  } else if (current !== null && line.startsWith('LH:')) {
    files.get(current)!.hit += Number(line.slice(3));
  }
}

// A source file no test loaded does not appear in the report; unless it only declares types,
// count all its lines as uncovered.
const codePattern = /^\s*(export\s+)?(async\s+)?(function|class|const|let|var|enum)\b/m;
for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue;
  const path = resolve(entry.parentPath, entry.name);
  if (files.has(path)) continue;
  const text = readFileSync(path, 'utf8');
  if (!codePattern.test(text)) continue;
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !/^\s*(\/\/|\*|\/\*)/.test(l)).length;
  files.set(path, { found: lines, hit: 0 });
}

let found = 0;
let hit = 0;
const weak: string[] = [];
for (const [path, c] of [...files].sort()) {
  found += c.found;
  hit += c.hit;
  const pct = c.found === 0 ? 100 : (100 * c.hit) / c.found;
  if (pct < threshold) weak.push(`  ${relative(process.cwd(), path)}: ${pct.toFixed(1)}%`);
}
const total = found === 0 ? 0 : (100 * hit) / found;
console.log(
  `coverage: ${folder} lines ${total.toFixed(2)}% (${hit}/${found} in ${files.size} files), threshold ${threshold}%`,
);
if (weak.length > 0) console.log(`files below ${threshold}%:\n${weak.join('\n')}`);
if (files.size === 0 || total < threshold) {
  console.error(`coverage: FAIL: ${folder} line coverage ${total.toFixed(2)}% is below ${threshold}%`);
  process.exit(1);
}
