import type { SchemaElement } from 'hyparquet';

// The Parquet layout of tasks.parquet and pool.parquet (one explicit schema, as for the SFT shards).

const str = (name: string, repetition_type: 'REQUIRED' | 'OPTIONAL' = 'REQUIRED'): SchemaElement => ({
  name,
  type: 'BYTE_ARRAY',
  converted_type: 'UTF8',
  logical_type: { type: 'STRING' },
  repetition_type,
});
const int32 = (name: string): SchemaElement => ({ name, type: 'INT32', repetition_type: 'REQUIRED' });
const strList = (name: string): SchemaElement[] => [
  { name, repetition_type: 'REQUIRED', converted_type: 'LIST', logical_type: { type: 'LIST' }, num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  str('element'),
];

export const TASK_COLUMNS = [
  'task_id',
  'attempts',
  'resolved_attempts',
  'failed_attempts',
  'unknown_attempts',
  'pass_rate',
  'band',
  'in_pool',
  'harnesses',
  'teacher_models',
  'statement',
  'instance_id',
  'repo',
  'base_commit',
  'environment_image',
] as const;

export const TASK_PARQUET_SCHEMA: SchemaElement[] = [
  { name: 'root', num_children: TASK_COLUMNS.length },
  str('task_id'),
  int32('attempts'),
  int32('resolved_attempts'),
  int32('failed_attempts'),
  int32('unknown_attempts'),
  { name: 'pass_rate', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
  str('band'),
  { name: 'in_pool', type: 'BOOLEAN', repetition_type: 'REQUIRED' },
  ...strList('harnesses'),
  ...strList('teacher_models'),
  str('statement'),
  str('instance_id', 'OPTIONAL'),
  str('repo', 'OPTIONAL'),
  str('base_commit', 'OPTIONAL'),
  str('environment_image', 'OPTIONAL'),
];
