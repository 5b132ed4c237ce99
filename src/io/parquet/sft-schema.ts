import type { SchemaElement } from 'hyparquet';

// The Parquet layout of an SftRow, declared by hand and never inferred: every shard gets exactly
// this schema, so pyarrow and `datasets` can concatenate shards, and nullability is what we say.

type Repetition = 'REQUIRED' | 'OPTIONAL' | 'REPEATED';

const str = (name: string, repetition_type: Repetition = 'REQUIRED'): SchemaElement => ({
  name,
  type: 'BYTE_ARRAY',
  converted_type: 'UTF8',
  logical_type: { type: 'STRING' },
  repetition_type,
});
const int32 = (name: string, repetition_type: Repetition): SchemaElement => ({ name, type: 'INT32', repetition_type });
const double = (name: string, repetition_type: Repetition): SchemaElement => ({ name, type: 'DOUBLE', repetition_type });
const bool = (name: string, repetition_type: Repetition): SchemaElement => ({ name, type: 'BOOLEAN', repetition_type });
const struct = (name: string, repetition_type: Repetition, num_children: number): SchemaElement => ({ name, repetition_type, num_children });
/** The standard three-level LIST: <name> (LIST) -> repeated group list -> element. */
const list = (name: string, repetition_type: Repetition): SchemaElement[] => [
  { name, repetition_type, converted_type: 'LIST', logical_type: { type: 'LIST' }, num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
];

export const SFT_COLUMNS = [
  'id',
  'task_id',
  'source',
  'teacher_model',
  'outcome',
  'messages',
  'tools',
  'train_start',
  'train_end',
  'step_values',
  'curve_shape',
  'labeler',
  'prompt_version',
  'metadata',
] as const;

export const SFT_PARQUET_SCHEMA: SchemaElement[] = [
  { name: 'root', num_children: SFT_COLUMNS.length },
  str('id'),
  str('task_id'),
  str('source'),
  str('teacher_model', 'OPTIONAL'),
  str('outcome'),
  ...list('messages', 'REQUIRED'),
  struct('element', 'REQUIRED', 9),
  str('role'),
  str('content'),
  str('reasoning_content', 'OPTIONAL'),
  ...list('tool_calls', 'OPTIONAL'),
  struct('element', 'REQUIRED', 3),
  str('id'),
  str('type'),
  struct('function', 'REQUIRED', 2),
  str('name'),
  str('arguments'),
  str('tool_call_id', 'OPTIONAL'),
  str('name', 'OPTIONAL'),
  bool('loss', 'OPTIONAL'),
  double('step_value', 'OPTIONAL'),
  double('weight', 'OPTIONAL'),
  str('tools', 'OPTIONAL'),
  int32('train_start', 'OPTIONAL'),
  int32('train_end', 'OPTIONAL'),
  ...list('step_values', 'OPTIONAL'),
  double('element', 'REQUIRED'),
  str('curve_shape', 'OPTIONAL'),
  str('labeler', 'OPTIONAL'),
  str('prompt_version', 'OPTIONAL'),
  str('metadata'),
];

/** What DuckDB's DESCRIBE must show for a shard written with SFT_PARQUET_SCHEMA (checked by validate and tests). */
export const EXPECTED_DUCKDB_TYPES: Record<(typeof SFT_COLUMNS)[number], string> = {
  id: 'VARCHAR',
  task_id: 'VARCHAR',
  source: 'VARCHAR',
  teacher_model: 'VARCHAR',
  outcome: 'VARCHAR',
  messages:
    'STRUCT("role" VARCHAR, "content" VARCHAR, reasoning_content VARCHAR, tool_calls STRUCT(id VARCHAR, "type" VARCHAR, "function" STRUCT("name" VARCHAR, arguments VARCHAR))[], tool_call_id VARCHAR, "name" VARCHAR, loss BOOLEAN, step_value DOUBLE, weight DOUBLE)[]',
  tools: 'VARCHAR',
  train_start: 'INTEGER',
  train_end: 'INTEGER',
  step_values: 'DOUBLE[]',
  curve_shape: 'VARCHAR',
  labeler: 'VARCHAR',
  prompt_version: 'VARCHAR',
  metadata: 'VARCHAR',
};
