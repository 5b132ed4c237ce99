import type { StageContext } from '../../runner/stage.js';

/**
 * Ingest's accounting of redaction (the scan itself runs with each record's conversion, in
 * src/stages/ingest/convert.ts): replacements per type go to the manifest; in reject mode a run holding
 * a secret is dropped with a reason that names the types, never the values.
 */
export class IngestRedaction {
  private runsRedacted = 0;

  constructor(private readonly ctx: StageContext) {}

  /** An emitted run's replacements (none for most runs). */
  count(counts: Record<string, number>): void {
    const entries = Object.entries(counts);
    if (entries.length === 0) return;
    this.runsRedacted++;
    for (const [k, v] of entries) this.ctx.count('redactions', k, v);
  }

  /** Reject mode: the run held secrets and is dropped. */
  async rejectRun(t: { task_id: string; file: string; record: number }, counts: Record<string, number>): Promise<void> {
    const types = Object.keys(counts);
    const n = Object.values(counts).reduce((a, b) => a + b, 0);
    await this.ctx.reject({
      reason: 'contains-secret',
      message: `Record ${t.record} of ${t.file} holds ${n} secret(s) (${types.join(', ')}); ingest.redact.mode is reject, so the run is dropped.`,
      file: t.file,
      record: t.record,
      task_id: t.task_id,
      details: { secrets: counts },
    });
    for (const [k, v] of Object.entries(counts)) this.ctx.count('secrets_found', k, v);
  }

  finish(): void {
    if (this.ctx.config.ingest.redact.enabled) this.ctx.setStat('runs_redacted', this.runsRedacted);
  }
}
