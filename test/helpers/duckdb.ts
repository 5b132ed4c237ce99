import { DuckDBInstance } from '@duckdb/node-api';

/** Runs one query on an in-memory DuckDB and returns plain JS rows (lists as arrays, structs as objects). */
export async function duckQuery(sql: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const reader = await conn.runAndReadAll(sql);
    return reader.getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}
