import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { JsonStateFile, OperationRecord, writeJsonAtomic } from '../../../src/agent/operations.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'nimbus-ops-'));
  dirs.push(d);
  return d;
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('OperationRecord.runOnce', () => {
  it('a re-sent operation that is running joins the run', async () => {
    const record = await OperationRecord.open<string>();
    const gate = deferred<string>();
    let runs = 0;
    const run = (): Promise<string> => {
      runs++;
      return gate.promise;
    };
    const first = record.runOnce('op-1', 'vmm deploy vm 1', run);
    const second = record.runOnce('op-1', 'vmm deploy vm 1', run);
    assert.equal(record.get('op-1')?.state, 'running');
    gate.resolve('deployed');
    const [a, b] = await Promise.all([first, second]);
    assert.deepEqual(a, { ok: true, value: { result: 'deployed', replayed: false } });
    assert.deepEqual(b, { ok: true, value: { result: 'deployed', replayed: true } });
    assert.equal(runs, 1);
  });

  it('a finished operation is answered from the record', async () => {
    const record = await OperationRecord.open<{ ok: boolean }>();
    let runs = 0;
    const run = async (): Promise<{ ok: boolean }> => ({ ok: ++runs === 1 });
    await record.runOnce('op-1', 'd', run);
    const again = await record.runOnce('op-1', 'd', run);
    assert.deepEqual(again, { ok: true, value: { result: { ok: true }, replayed: true } });
    assert.equal(runs, 1);
    assert.deepEqual(record.get('op-1'), { state: 'done', description: 'd', result: { ok: true } });
  });

  it('refuses an id re-used for another operation', async () => {
    const record = await OperationRecord.open<number>();
    await record.runOnce('op-1', 'vmm deploy vm 1', async () => 1);
    const reused = await record.runOnce('op-1', 'vmm cancel vm 2', async () => 2);
    assert.ok(!reused.ok);
    assert.equal(reused.error.code, 'OPERATION_ID_REUSED');
    assert.equal(reused.error.field, 'opId');
  });

  it('a thrown run records nothing, so the re-sent operation runs again', async () => {
    const record = await OperationRecord.open<number>();
    await assert.rejects(record.runOnce('op-1', 'd', async () => Promise.reject(new Error('agent bug'))));
    assert.equal(record.get('op-1'), undefined);
    const retried = await record.runOnce('op-1', 'd', async () => 7);
    assert.ok(retried.ok && retried.value.result === 7 && !retried.value.replayed);
  });

  it('keeps at most `capacity` finished operations, forgetting the oldest, never a running one', async () => {
    const record = await OperationRecord.open<number>({ capacity: 3 });
    const gate = deferred<number>();
    const running = record.runOnce('long', 'd', () => gate.promise);
    for (let i = 0; i < 10; i++) await record.runOnce(`op-${i}`, 'd', async () => i);
    assert.deepEqual(record.size, { running: 1, done: 3 });
    assert.equal(record.get('op-6'), undefined);
    assert.equal(record.get('op-7')?.state, 'done');
    assert.equal(record.get('long')?.state, 'running');
    gate.resolve(99);
    await running;
    assert.deepEqual(record.size, { running: 0, done: 3 });
    assert.equal(record.get('op-7'), undefined, 'the oldest went when long finished');
  });

  it('persists finished operations so a restarted agent answers from its record', async () => {
    const file = join(await tempDir(), 'operations.json');
    const a = await OperationRecord.open<{ deployId: string }>({ file, capacity: 100 });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        a.runOnce(`op-${i}`, `deploy ${i}`, async () => ({ deployId: `one-${i}` })),
      ),
    );
    await a.flush();
    const b = await OperationRecord.open<{ deployId: string }>({ file, capacity: 100 });
    let runs = 0;
    const answer = await b.runOnce('op-4', 'deploy 4', async () => {
      runs++;
      return { deployId: 'other' };
    });
    assert.deepEqual(answer, { ok: true, value: { result: { deployId: 'one-4' }, replayed: true } });
    assert.equal(runs, 0);
    assert.equal(b.size.done, 20);
  });

  it('a restarted agent keeps the bound when loading a larger record', async () => {
    const file = join(await tempDir(), 'operations.json');
    const a = await OperationRecord.open<number>({ file, capacity: 50 });
    for (let i = 0; i < 10; i++) await a.runOnce(`op-${i}`, 'd', async () => i);
    const b = await OperationRecord.open<number>({ file, capacity: 4 });
    assert.equal(b.size.done, 4);
    assert.equal(b.get('op-9')?.result, 9);
    assert.equal(b.get('op-5'), undefined);
  });
});

describe('JSON state file', () => {
  it('writes atomically and leaves no temp files', async () => {
    const dir = await tempDir();
    const path = join(dir, 'sub', 'state.json');
    await writeJsonAtomic(path, { a: 1 });
    await writeJsonAtomic(path, { a: 2 });
    assert.deepEqual(JSON.parse(await readFile(path, 'utf8')), { a: 2 });
    assert.deepEqual(await readdir(join(dir, 'sub')), ['state.json']);
    assert.equal(await JsonStateFile.read(join(dir, 'missing.json')), undefined);
  });

  it('batches saves made together into one write of the latest snapshot', async () => {
    const dir = await tempDir();
    let snapshots = 0;
    const state = { n: 0 };
    const file = new JsonStateFile(join(dir, 's.json'), () => {
      snapshots++;
      return state;
    });
    const saves: Promise<void>[] = [];
    for (let i = 1; i <= 100; i++) {
      state.n = i;
      saves.push(file.save());
    }
    await Promise.all(saves);
    assert.equal(snapshots, 1);
    assert.deepEqual(await JsonStateFile.read(join(dir, 's.json')), { n: 100 });
    state.n = 101;
    await file.save();
    await file.flush();
    assert.equal(snapshots, 2);
    assert.deepEqual(await JsonStateFile.read(join(dir, 's.json')), { n: 101 });
  });
});
