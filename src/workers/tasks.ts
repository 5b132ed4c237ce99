import Tinypool from 'tinypool';
import { encodeGroup } from '../io/parquet/encode-group.js';
import { convertRecord } from '../stages/ingest/convert.js';
import { statementSignatures } from './minhash.js';
import { recordTask } from './record-task.js';
import { transfersOf } from './transfer.js';

/**
 * Every task a worker thread can run, by name. Inputs and outputs are strings, numbers and byte arrays
 * (cheap to copy or transfer), and whole records only where the other side needs the object anyway
 * (ingest's converted record, handed to filter: its structured clone costs less than parsing its line
 * again). The inline pool calls the same functions, so outputs cannot differ.
 */
const TASKS = {
  'parquet.encode-group': encodeGroup,
  'dedup.signatures': statementSignatures,
  'ingest.record': convertRecord,
  'record.map': recordTask,
} satisfies Record<string, (input: never) => unknown>;

export type Tasks = typeof TASKS;
export type TaskName = keyof Tasks;
export type TaskInput<N extends TaskName> = Parameters<Tasks[N]>[0];
export type TaskOutput<N extends TaskName> = Awaited<ReturnType<Tasks[N]>>;

export function runTask<N extends TaskName>(task: { name: N; input: TaskInput<N> }): Promise<TaskOutput<N>> | TaskOutput<N> {
  const fn = TASKS[task.name] as ((input: TaskInput<N>) => TaskOutput<N> | Promise<TaskOutput<N>>) | undefined;
  if (!fn) throw new Error(`unknown worker task "${String(task.name)}"`);
  return fn(task.input);
}

/** The worker threads' entry (src/workers/entry.mjs, the bundle's worker.mjs): runTask, with transfers. */
export async function runWorkerTask<N extends TaskName>(task: { name: N; input: TaskInput<N> }): Promise<unknown> {
  const out = await runTask(task);
  const buffers = out && typeof out === 'object' ? transfersOf(out) : undefined;
  if (!buffers?.length) return out;
  // tinypool's protocol for a result moved, not copied: the value and its transfer list under its symbols.
  return Tinypool.move({ [Symbol.for('Tinypool.transferable')]: buffers, [Symbol.for('Tinypool.valueOf')]: out } as never);
}
