/**
 * Peak RSS while the main thread is busy: a worker thread samples the process's RSS every 2 ms
 * into shared memory, so a synchronous `schedule()` call that blocks the event loop is still
 * measured. The sampler's own thread counts in the figure (a few MB).
 */
import { Worker } from 'node:worker_threads';

const SAMPLER = `
const { workerData } = require('node:worker_threads');
const peak = new Float64Array(workerData);
setInterval(() => { const rss = process.memoryUsage.rss(); if (rss > peak[0]) peak[0] = rss; }, 2);
`;

export class PeakRss {
  readonly #peak = new Float64Array(new SharedArrayBuffer(8));
  readonly #worker: Worker;

  private constructor() {
    this.#worker = new Worker(SAMPLER, { eval: true, workerData: this.#peak.buffer });
  }

  static async start(): Promise<PeakRss> {
    const sampler = new PeakRss();
    await new Promise<void>((resolve, reject) => {
      sampler.#worker.once('online', resolve);
      sampler.#worker.once('error', reject);
    });
    return sampler;
  }

  /** Starts a new measurement from the current RSS. */
  reset(): void {
    this.#peak[0] = process.memoryUsage.rss();
  }

  /** The highest RSS seen since `reset`, in bytes. */
  read(): number {
    return Math.max(this.#peak[0]!, process.memoryUsage.rss());
  }

  async stop(): Promise<void> {
    await this.#worker.terminate();
  }
}
