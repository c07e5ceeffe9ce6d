/**
 * The data layer: datasets in memory, the versioned dataset format, built-in datasets, and readers
 * for user tables (wide and long CSV/TSV, long JSON, factor tables). Start with {@link loadData}.
 */
export * from './dataset.js';
export * from './format.js';
export * from './builtin.js';
export * from './csv.js';
export * from './cells.js';
export * from './observed-cells.js';
export * from './json-lines.js';
export * from './wide-table.js';
export * from './long-table.js';
export * from './factor-table.js';
export * from './load.js';
export * from './read-text.js';
