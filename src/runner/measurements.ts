import { mkdir, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { readLines } from '../io/jsonl.js';

/**
 * Per-record measurements a stage keeps across runs (token counts, keyed by record id): what does not
 * depend on the config's thresholds, so a rerun with another threshold re-decides without measuring
 * again. One file per stage and kind, `<out>/cache/measurements/<stage>-<kind>.jsonl`, replaced
 * atomically when the stage completes, holding the entries this run used, sorted by key (the same
 * inputs give the same file). A cache only: a missing, stale or corrupt file costs time, never a
 * different output, since a stage uses a value only for the record and rule version it was measured for.
 */
export class MeasurementStore {
  private previous: Map<string, unknown> | null = null;
  private readonly used = new Map<string, unknown>();

  constructor(
    readonly dir: string,
    readonly stage: string,
    /** Names the kind and its version (e.g. `length-1-<tokenizer hash>`): another kind or version starts empty. */
    readonly kind: string,
  ) {}

  get file(): string {
    return join(this.dir, `${this.stage}-${this.kind}.jsonl`);
  }

  async load(): Promise<void> {
    if (this.previous) return;
    this.previous = new Map();
    if (!existsSync(this.file)) return;
    try {
      for await (const line of readLines(this.file)) {
        const e = JSON.parse(line.text) as { k?: unknown; v?: unknown };
        if (typeof e.k === 'string') this.previous.set(e.k, e.v);
      }
    } catch {
      this.previous.clear(); // a damaged cache is dropped whole
    }
  }

  get(key: string): unknown {
    const v = this.used.get(key) ?? this.previous?.get(key);
    if (v !== undefined) this.used.set(key, v);
    return v;
  }

  set(key: string, value: unknown): void {
    this.used.set(key, value);
  }

  get hits(): number {
    return [...this.used.keys()].filter((k) => this.previous?.has(k)).length;
  }

  /** Writes what this run used and removes the stage's files of other kinds or versions. */
  async save(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const keys = [...this.used.keys()].sort();
    const text = keys.map((k) => JSON.stringify({ k, v: this.used.get(k) })).join('\n');
    await writeFileAtomic(this.file, keys.length ? text + '\n' : '');
    for (const f of await readdir(this.dir)) {
      if (f.startsWith(`${this.stage}-`) && f.endsWith('.jsonl') && join(this.dir, f) !== this.file) await rm(join(this.dir, f), { force: true });
    }
  }
}
