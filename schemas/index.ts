export * from './trajectory.js';
export * from './labels.js';
export * from './record.js';
export * from './sft.js';
export * from './manifest.js';
export * from './config/index.js';
export * from './shard.js';
