import type { SchemaElement } from 'hyparquet';

// The Parquet layout of the tokenized shards, declared by hand like the SFT schema: every shard gets
// exactly this schema. Token lists are INT32 (pyarrow/datasets: list<int32>, which torch collators take).

const str = (name: string): SchemaElement => ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type: 'REQUIRED' });
const int32 = (name: string): SchemaElement => ({ name, type: 'INT32', repetition_type: 'REQUIRED' });
const bool = (name: string): SchemaElement => ({ name, type: 'BOOLEAN', repetition_type: 'REQUIRED' });
const list = (name: string, element: SchemaElement): SchemaElement[] => [
  { name, repetition_type: 'REQUIRED', converted_type: 'LIST', logical_type: { type: 'LIST' }, num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  { ...element, name: 'element' },
];
const ints = (name: string) => list(name, int32('element'));

export const TOKENIZED_COLUMNS = ['id', 'task_id', 'outcome', 'input_ids', 'labels', 'attention_mask', 'num_tokens', 'trained_tokens', 'truncated'] as const;

export const TOKENIZED_SCHEMA: SchemaElement[] = [
  { name: 'root', num_children: TOKENIZED_COLUMNS.length },
  str('id'),
  str('task_id'),
  str('outcome'),
  ...ints('input_ids'),
  ...ints('labels'),
  ...ints('attention_mask'),
  int32('num_tokens'),
  int32('trained_tokens'),
  bool('truncated'),
];

export type TokenizedRow = {
  id: string;
  task_id: string;
  outcome: string;
  input_ids: number[];
  labels: number[];
  attention_mask: number[];
  num_tokens: number;
  trained_tokens: number;
  truncated: boolean;
};

/** Packed rows: no attention_mask on purpose (a 2-D mask makes SDPA attend across the packed rows); position_ids mark them. */
export const PACKED_COLUMNS = ['input_ids', 'labels', 'position_ids', 'seq_lengths', 'ids', 'num_tokens', 'trained_tokens'] as const;

export const PACKED_SCHEMA: SchemaElement[] = [
  { name: 'root', num_children: PACKED_COLUMNS.length },
  ...ints('input_ids'),
  ...ints('labels'),
  ...ints('position_ids'),
  ...ints('seq_lengths'),
  ...list('ids', str('element')),
  int32('num_tokens'),
  int32('trained_tokens'),
];

export type PackedRow = {
  input_ids: number[];
  labels: number[];
  position_ids: number[];
  seq_lengths: number[];
  ids: string[];
  num_tokens: number;
  trained_tokens: number;
};
