// The floor every stage is compared with: read the same bytes and JSON.parse each line, nothing else.
import { stat } from 'node:fs/promises';
import { readLines } from '../src/io/jsonl.js';

const files = process.argv.slice(2);
const started = performance.now();
let records = 0;
let bytes = 0;
for (const f of files) {
  bytes += (await stat(f)).size;
  for await (const line of readLines(f)) {
    JSON.parse(line.text);
    records++;
  }
}
process.stdout.write(JSON.stringify({ records, bytes, seconds: (performance.now() - started) / 1000 }) + '\n');
