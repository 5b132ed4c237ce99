import { z } from 'zod';
import { Trajectory } from './trajectory.js';
import { StepValues, Segment } from './labels.js';
import { PipelineRecord } from './record.js';
import { SftRow } from './sft.js';
import { Reject, StageManifest } from './manifest.js';
import { PipelineConfig } from './config/index.js';

const SCHEMAS: Record<string, z.ZodType> = {
  Trajectory,
  PipelineRecord,
  StepValues,
  Segment,
  SftRow,
  Reject,
  StageManifest,
  PipelineConfig,
};

/** file name -> JSON text, for every published schema. Config is rendered as input (defaults optional). */
export function renderJsonSchemas(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    const io = name === 'PipelineConfig' ? 'input' : 'output';
    const json = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
    out[`${name}.schema.json`] = JSON.stringify({ title: name, ...json }, null, 2) + '\n';
  }
  return out;
}
