import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StageManifest } from '../../schemas/index.js';

/** A stage folder's manifest, or null when it is missing or not a valid manifest (the folder is then not complete). */
export async function readManifest(stageDir: string): Promise<StageManifest | null> {
  const text = await readFile(join(stageDir, 'manifest.json'), 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    const parsed = StageManifest.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
