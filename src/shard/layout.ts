import { join } from 'node:path';
import { shardFolderName } from './partition.js';

/** Where a sharded run keeps what (docs/cluster.md): RUN/shards/I-of-N/<stage>/, RUN/dedup-reduce/, RUN/export/. */
export const shardDir = (runDir: string, index: number, count: number) => join(runDir, 'shards', shardFolderName(index, count));
export const MAP_DIR = 'dedup-map';
export const mapDir = (runDir: string, index: number, count: number) => join(shardDir(runDir, index, count), MAP_DIR);
