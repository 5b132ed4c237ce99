// Writes schemas/json/*.schema.json from the zod schemas, which stay the single source of truth.
// test/schemas.test.ts fails when the committed files differ from what this would write.
import { writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderJsonSchemas } from '../schemas/json-schema.js';

const outDir = fileURLToPath(new URL('../schemas/json/', import.meta.url));
mkdirSync(outDir, { recursive: true });
for (const [file, text] of Object.entries(renderJsonSchemas())) {
  writeFileSync(outDir + file, text);
  console.log(`wrote schemas/json/${file}`);
}
