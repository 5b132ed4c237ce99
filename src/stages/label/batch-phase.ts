import { join } from 'node:path';
import type { PipelineRecord } from '../../../schemas/index.js';
import type { StageContext } from '../../runner/stage.js';
import { Deferred } from '../../teacher/batcher.js';
import type { AnswerSource } from '../../teacher/requester.js';
import type { TeacherSetup } from './teacher.js';

/**
 * label.mode: batch, before the live pass. Each round runs the stage's own labelling of every record against
 * a source that answers from the cache and queues every miss (so batch requests are exactly the live ones,
 * built by the same code, whatever kind they are); the queued requests go out as batches, which are polled
 * and joined into the cache. A later round asks the re-asks that invalid answers call for. The live pass then
 * finds the answers cached and sends live only what no batch answered.
 */
export async function runBatchPhase(
  ctx: StageContext,
  teacher: TeacherSetup,
  labelOne: (record: PipelineRecord, source: AnswerSource) => Promise<unknown>,
): Promise<void> {
  const batcher = teacher.batcher!(join(ctx.dir, '.batch-input'), ctx.log);
  const rounds = ctx.config.label.batch.max_rounds;
  await batcher.recover();
  for (let round = 1; round <= rounds; round++) {
    const collector = batcher.collector();
    for await (const record of ctx.records({ count: false })) {
      try {
        await labelOne(record, collector);
      } catch (err) {
        if (!(err instanceof Deferred)) throw err;
      }
      await collector.idle();
    }
    const submitted = await batcher.submitQueued();
    if (submitted === 0 && batcher.openIds.length === 0) break;
    ctx.log.info(`label: batch round ${round}: ${submitted} request(s) submitted, waiting for ${batcher.openIds.length} batch(es)`);
    await batcher.waitAndCollect();
  }
}
