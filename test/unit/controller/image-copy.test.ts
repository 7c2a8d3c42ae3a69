import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  bytesToMb,
  CopyCancelled,
  CopyJobs,
  MIB,
  removeImageFile,
  writeImageFile,
} from '../../../src/controller/image-copy.js';
import { NimbusError } from '../../../src/domain/errors.js';

async function* chunks(...parts: Buffer[]): AsyncIterable<Buffer> {
  for (const part of parts) yield part;
}

describe('image copy engine', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-image-copy-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('rounds sizes up to whole MB', () => {
    assert.equal(bytesToMb(0), 0);
    assert.equal(bytesToMb(1), 1);
    assert.equal(bytesToMb(MIB), 1);
    assert.equal(bytesToMb(MIB + 1), 2);
  });

  it('writes, hashes, and keeps zero blocks as holes', async () => {
    const head = randomBytes(4096);
    const zeros = Buffer.alloc(8 * MIB);
    const tail = randomBytes(100);
    const target = join(dir, 'sparse');
    const progress: number[] = [];
    const written = await writeImageFile(chunks(head, zeros, tail, Buffer.alloc(MIB)), target, {
      signal: new AbortController().signal,
      sha1: true,
      onProgress: (bytes) => progress.push(bytes),
    });
    const all = Buffer.concat([head, zeros, tail, Buffer.alloc(MIB)]);
    assert.equal(written.bytes, all.length);
    assert.equal(written.md5, createHash('md5').update(all).digest('hex'));
    assert.equal(written.sha256, createHash('sha256').update(all).digest('hex'));
    assert.equal(written.sha1, createHash('sha1').update(all).digest('hex'));
    assert.deepEqual(await readFile(target), all);
    const info = await stat(target);
    assert.equal(info.size, all.length, 'trailing zeros extend the file');
    assert.ok(info.blocks * 512 < 2 * MIB, `sparse on disk (${info.blocks * 512} bytes allocated)`);
    assert.deepEqual(progress, [4096, 4096 + 8 * MIB, 4196 + 8 * MIB, 4196 + 9 * MIB]);
  });

  it('removes the partial file when the limit is passed or the copy is cancelled', async () => {
    const target = join(dir, 'limited');
    await assert.rejects(
      writeImageFile(chunks(randomBytes(1000), randomBytes(1000)), target, {
        signal: new AbortController().signal,
        maxBytes: 1500,
      }),
      (e: unknown) => e instanceof NimbusError && e.code === 'PAYLOAD_TOO_LARGE',
    );
    await assert.rejects(stat(target), { code: 'ENOENT' });

    const controller = new AbortController();
    async function* endless(): AsyncIterable<Buffer> {
      for (;;) {
        yield randomBytes(1024);
        controller.abort();
      }
    }
    await assert.rejects(writeImageFile(endless(), target, { signal: controller.signal }), CopyCancelled);
    await assert.rejects(stat(target), { code: 'ENOENT' });
  });

  it('never overwrites an existing file', async () => {
    const target = join(dir, 'existing');
    await writeFile(target, 'keep');
    await assert.rejects(
      writeImageFile(chunks(Buffer.from('x')), target, { signal: new AbortController().signal }),
      { code: 'EEXIST' },
    );
    assert.equal(await readFile(target, 'utf8'), 'keep');
  });

  it('removes image files only inside their datastore', async () => {
    const base = join(dir, 'ds');
    const outside = join(dir, 'outside');
    await writeFile(outside, 'x');
    assert.equal(await removeImageFile(base, outside), false);
    assert.equal(await removeImageFile(base, `${base}/../outside`), false);
    assert.equal(await removeImageFile(base, base), false);
    assert.equal(await readFile(outside, 'utf8'), 'x');
    assert.equal(await removeImageFile(base, `${base}/gone`), true);
  });

  it('tracks progress per image and cancels a running job', async () => {
    const jobs = new CopyJobs();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const running = jobs.run(7, 100, async (job) => {
      job.report(40);
      await gate;
      if (job.signal.aborted) throw new CopyCancelled();
      return 'done';
    });
    assert.deepEqual(jobs.progress(7), { bytes: 40, total: 100 });
    await assert.rejects(
      jobs.run(7, 1, async () => 'twice'),
      (e: unknown) => e instanceof NimbusError && e.code === 'IMAGE_STATE',
    );
    const cancelled = jobs.cancel(7);
    release();
    assert.equal(await cancelled, true);
    await assert.rejects(running, CopyCancelled);
    assert.equal(jobs.progress(7), undefined);
    assert.equal(await jobs.cancel(7), false);
  });
});
