export * from './pareto.js';
export * from './mutation.js';
export * from './search.js';
export * from './predictor.js';
export * from './compare.js';
export * from './arms.js';
