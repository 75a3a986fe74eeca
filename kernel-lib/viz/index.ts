/**
 * kernel-lib/viz: display helpers for notebooks and files.
 *
 * In a tslab notebook import this file by its full name (tslab does not resolve a directory to
 * its index.ts at run time):  import { showLossPlot } from './kernel-lib/viz/index';
 */
export * from './display';
export * from './image-grid';
export * from './loss-plot';
export * from './vega';
export * from './ablation-chart';
export * from './table';
export * from './progress';
export * from './training-monitor';
export * from './heatmap';
export * from './neural-field/index';
export * from './svg-chart';
export * from './chart';
export * from './plotly';
