import type { StageContext } from '../runner/stage.js';

/** Passes every upstream record on unchanged: the behaviour of a stage that is disabled. */
export async function passThrough(ctx: StageContext): Promise<void> {
  for await (const record of ctx.records()) await ctx.emit(record);
}
