import type { Trajectory } from '../../../schemas/index.js';
import { Redactor } from '../../redact/record.js';
import type { StageContext } from '../../runner/stage.js';

/**
 * Ingest's use of the redactor: every run passes through it before it is emitted. Counts go to the
 * manifest per type; in reject mode a run holding a secret is dropped with a reason that names the
 * types, never the values.
 */
export class IngestRedaction {
  private readonly redactor: Redactor | null;
  private runsRedacted = 0;

  constructor(private readonly ctx: StageContext) {
    const r = ctx.config.ingest.redact;
    this.redactor = r.enabled ? new Redactor({ emails: r.emails, allow: r.allow }) : null;
  }

  /** The run with its secrets replaced, or null when it was rejected (reject mode). */
  async apply(t: Trajectory): Promise<Trajectory | null> {
    if (!this.redactor) return t;
    const { value, counts } = await this.redactor.redactTrajectory(t);
    const types = Object.keys(counts);
    if (types.length === 0) return t;
    if (this.ctx.config.ingest.redact.mode === 'reject') {
      const n = Object.values(counts).reduce((a, b) => a + b, 0);
      await this.ctx.reject({
        reason: 'contains-secret',
        message: `Record ${t.source.record} of ${t.source.file} holds ${n} secret(s) (${types.join(', ')}); ingest.redact.mode is reject, so the run is dropped.`,
        file: t.source.file,
        record: t.source.record,
        task_id: t.task_id,
        details: { secrets: counts },
      });
      for (const [k, v] of Object.entries(counts)) this.ctx.count('secrets_found', k, v);
      return null;
    }
    this.runsRedacted++;
    for (const [k, v] of Object.entries(counts)) this.ctx.count('redactions', k, v);
    return value;
  }

  finish(): void {
    if (this.redactor) this.ctx.setStat('runs_redacted', this.runsRedacted);
  }
}
