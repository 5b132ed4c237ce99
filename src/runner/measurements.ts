import { writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { readLines } from '../io/jsonl.js';

/**
 * Per-record measurements a stage keeps across runs (token counts, keyed by record id): what does not
 * depend on the config's thresholds, so a rerun with another threshold re-decides without measuring
 * again. One file per kind in the stage's own folder, `measurements-<kind>.jsonl` (not an output: it is
 * not hashed into the output fingerprint), read from the complete folder of the previous run and written
 * into the new one, holding the entries this run used, sorted by key (the same inputs give the same file).
 * A cache only: a missing, stale or corrupt file costs time, never a different output, since a stage uses a
 * value only for the record and rule version it was measured for.
 */
export class MeasurementStore {
  // Values are held as their JSON text: a run keeps one entry per record until it saves, and a record's
  // counts (a number per message) take several times less memory as text than as arrays of numbers.
  private previous: Map<string, string> | null = null;
  private readonly used = new Map<string, string>();

  constructor(
    /** The previous run's file (the stage's complete folder), read once. */
    readonly previousFile: string,
    /** This run's file (in the stage's temporary folder). */
    readonly file: string,
  ) {}

  /** The file name for a kind and its version (e.g. `length-1-<tokenizer hash>`): another kind or version starts empty. */
  static fileName(kind: string): string {
    return `measurements-${kind}.jsonl`;
  }

  async load(): Promise<void> {
    if (this.previous) return;
    this.previous = new Map();
    if (!existsSync(this.previousFile)) return;
    try {
      for await (const line of readLines(this.previousFile)) {
        const e = JSON.parse(line.text) as { k?: unknown; v?: unknown };
        if (typeof e.k === 'string' && e.v !== undefined) this.previous.set(e.k, JSON.stringify(e.v));
      }
    } catch {
      this.previous.clear(); // a damaged cache is dropped whole
    }
  }

  get(key: string): unknown {
    const v = this.used.get(key) ?? this.previous?.get(key);
    if (v === undefined) return undefined;
    this.used.set(key, v);
    return JSON.parse(v) as unknown;
  }

  set(key: string, value: unknown): void {
    if (value !== undefined) this.used.set(key, JSON.stringify(value));
  }

  get hits(): number {
    return [...this.used.keys()].filter((k) => this.previous?.has(k)).length;
  }

  /** Writes what this run used into the new folder (which is renamed into place with the stage). */
  async save(): Promise<void> {
    const keys = [...this.used.keys()].sort();
    if (keys.length === 0) return;
    await writeFile(this.file, keys.map((k) => `{"k":${JSON.stringify(k)},"v":${this.used.get(k)!}}\n`).join(''));
  }
}
