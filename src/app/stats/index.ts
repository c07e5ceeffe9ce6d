/** Per-task statistics of known scores with one fallback policy (see {@link taskStats}). */
export * from './task-stats.js';
