/** What the benchmarks share: run the parts asked for, then the closing lines. */
import { availableParallelism, loadavg } from 'node:os';

export type Figures = Record<string, number | string | boolean | null>;

/**
 * Runs the chosen parts in order and prints how long the bench took, then, as the last line, one
 * JSON object with every part's figures.
 */
export async function runParts(
  bench: string,
  parts: readonly (readonly [chosen: boolean, run: () => Promise<Figures>])[],
): Promise<void> {
  if (globalThis.gc === undefined) throw new Error('run with node --expose-gc');
  const started = performance.now();
  const figures: Figures = {};
  for (const [chosen, run] of parts) if (chosen) Object.assign(figures, await run());
  const benchS = (performance.now() - started) / 1000;
  console.log(
    `bench took ${benchS.toFixed(0)} s (load average at the end ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} CPUs)`,
  );
  console.log(JSON.stringify({ bench, ...figures, bench_s: Math.round(benchS) }));
}
