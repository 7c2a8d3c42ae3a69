/** Monitoring samples: which figures, how buckets combine them, how long they are kept. */
export * from './figures.js';
export * from './downsample.js';
export * from './policy.js';
export * from './series.js';
