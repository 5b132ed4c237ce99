import type { IngestConfig } from '../../schemas/index.js';
import { chatDataset } from './chat-dataset.js';
import { miniSweAgent } from './mini-swe-agent.js';
import { openhandsCompletions } from './openhands-completions.js';
import { openhandsEvents } from './openhands-events.js';
import { sweAgent } from './swe-agent.js';
import { isObject, type AdapterContext, type FormatAdapter } from './types.js';

/** Most specific shapes first: a chat row is the loosest shape and is tried last. */
export const ADAPTERS: readonly FormatAdapter[] = [miniSweAgent, openhandsCompletions, sweAgent, openhandsEvents, chatDataset];

/** A record that already is a canonical trajectory (our own JSON lines). */
export function looksCanonical(v: unknown): boolean {
  return isObject(v) && typeof v.id === 'string' && typeof v.task_id === 'string' && isObject(v.source) && Array.isArray(v.steps) && isObject(v.outcome);
}

export type Detected = { kind: 'canonical' } | { kind: 'adapter'; adapter: FormatAdapter } | { kind: 'unknown' };

/** Picks the reader of one parsed record; `format` (from the config) forces one instead of guessing. */
export function detectFormat(value: unknown, ctx: AdapterContext, format: IngestConfig['format'] = 'auto'): Detected {
  if (format === 'canonical') return { kind: 'canonical' };
  if (format !== 'auto') {
    const forced = ADAPTERS.find((a) => a.name === format);
    return forced ? { kind: 'adapter', adapter: forced } : { kind: 'unknown' };
  }
  if (looksCanonical(value)) return { kind: 'canonical' };
  const found = ADAPTERS.find((a) => a.detect(value, ctx));
  return found ? { kind: 'adapter', adapter: found } : { kind: 'unknown' };
}
