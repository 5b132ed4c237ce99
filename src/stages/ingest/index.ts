import type { Stage } from '../../runner/stage.js';
import { readLines } from '../../io/jsonl.js';
import { Trajectory } from '../../../schemas/index.js';

/** First version: canonical JSON lines only. Harness adapters live in src/formats/. */
export const ingestStage: Stage = {
  name: 'ingest',
  summary: 'Reads harness trajectories (SWE-agent, mini-swe-agent, OpenHands, HF chat datasets) into canonical records with outcomes.',
  version: '0',
  configSlice: (config) => config.ingest,
  async run(ctx) {
    for (const file of ctx.inputFiles) {
      if (!file.endsWith('.jsonl')) continue;
      for await (const line of readLines(file)) {
        ctx.countIn();
        let value: unknown;
        try {
          value = JSON.parse(line.text);
        } catch (err) {
          await ctx.reject({ reason: 'bad-json', message: `Record ${line.index} of ${file} is not valid JSON: ${(err as Error).message}.`, file, record: line.index });
          continue;
        }
        const parsed = Trajectory.safeParse(value);
        if (!parsed.success) {
          const i = parsed.error.issues[0];
          await ctx.reject({ reason: 'unknown-shape', message: `Record ${line.index} of ${file} is not a canonical trajectory: ${i?.path.join('.')}: ${i?.message}.`, file, record: line.index });
          continue;
        }
        await ctx.emit(parsed.data);
      }
    }
  },
};
