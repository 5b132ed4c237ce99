import type { SchemaElement } from 'hyparquet';

/**
 * One Parquet type for JSON values of varying shape (veRL's `tools` column must be a real nested column,
 * and Parquet has one type per column). Objects merge into a struct of the union of their keys (a value
 * without a key reads back as null: pandas and `datasets` do the same when they infer a type); a key whose
 * values cannot share a type (a string here, an object there) is kept as its JSON text and counted.
 */
export type NestedType =
  | { kind: 'null' }
  | { kind: 'bool' }
  | { kind: 'int' }
  | { kind: 'double' }
  | { kind: 'string' }
  | { kind: 'json' }
  | { kind: 'list'; element: NestedType }
  | { kind: 'struct'; fields: Map<string, NestedType> };

export function typeOf(value: unknown): NestedType {
  if (value === null || value === undefined) return { kind: 'null' };
  if (typeof value === 'boolean') return { kind: 'bool' };
  if (typeof value === 'number') return { kind: Number.isInteger(value) ? 'int' : 'double' };
  if (typeof value === 'string') return { kind: 'string' };
  if (Array.isArray(value)) return { kind: 'list', element: value.reduce<NestedType>((t, v) => merge(t, typeOf(v)), { kind: 'null' }) };
  const fields = new Map<string, NestedType>();
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) fields.set(k, typeOf(v));
  return { kind: 'struct', fields };
}

export function merge(a: NestedType, b: NestedType): NestedType {
  if (a.kind === 'null') return b;
  if (b.kind === 'null') return a;
  if (a.kind === 'json' || b.kind === 'json') return { kind: 'json' };
  if ((a.kind === 'int' && b.kind === 'double') || (a.kind === 'double' && b.kind === 'int')) return { kind: 'double' };
  if (a.kind === 'list' && b.kind === 'list') return { kind: 'list', element: merge(a.element, b.element) };
  if (a.kind === 'struct' && b.kind === 'struct') {
    const fields = new Map(a.fields);
    for (const [k, t] of b.fields) fields.set(k, merge(fields.get(k) ?? { kind: 'null' }, t));
    return { kind: 'struct', fields };
  }
  return a.kind === b.kind ? a : { kind: 'json' };
}

/** A type every value can be written in: nulls (never seen a value) and empty structs become JSON text. */
export function finalize(t: NestedType): NestedType {
  if (t.kind === 'null') return { kind: 'json' };
  if (t.kind === 'list') return { kind: 'list', element: finalize(t.element) };
  if (t.kind === 'struct') {
    if (t.fields.size === 0) return { kind: 'json' };
    return { kind: 'struct', fields: new Map([...t.fields].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([k, v]) => [k, finalize(v)])) };
  }
  return t;
}

/** Parquet schema elements (depth-first) for a column of this type; every node is OPTIONAL. */
export function schemaElements(name: string, t: NestedType, repetition: 'OPTIONAL' | 'REQUIRED' = 'OPTIONAL'): SchemaElement[] {
  const s = (type: SchemaElement['type'], extra: Partial<SchemaElement> = {}): SchemaElement[] => [{ name, type, repetition_type: repetition, ...extra }];
  switch (t.kind) {
    case 'bool':
      return s('BOOLEAN');
    case 'int':
      return s('INT64');
    case 'double':
      return s('DOUBLE');
    case 'string':
    case 'json':
    case 'null':
      return s('BYTE_ARRAY', { converted_type: 'UTF8', logical_type: { type: 'STRING' } });
    case 'list':
      return [
        { name, repetition_type: repetition, converted_type: 'LIST', logical_type: { type: 'LIST' }, num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        ...schemaElements('element', t.element),
      ];
    case 'struct':
      return [{ name, repetition_type: repetition, num_children: t.fields.size }, ...[...t.fields].flatMap(([k, v]) => schemaElements(k, v))];
  }
}

/** A value shaped for the Parquet writer: missing keys null, JSON-kept values as text, ints as BigInt. */
export function conform(value: unknown, t: NestedType, counter: { padded: number; asJson: number }): unknown {
  if (value === null || value === undefined) return null;
  switch (t.kind) {
    case 'json':
    case 'null':
      counter.asJson++;
      return JSON.stringify(value);
    case 'string':
      return value;
    case 'bool':
      return value;
    case 'int':
      return BigInt(value as number);
    case 'double':
      return value;
    case 'list':
      return (value as unknown[]).map((v) => conform(v, t.element, counter));
    case 'struct': {
      const obj = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [k, ft] of t.fields) {
        if (!(k in obj)) counter.padded++;
        out[k] = conform(obj[k], ft, counter);
      }
      return out;
    }
  }
}
