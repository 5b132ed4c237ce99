// npx tsx bench/profile-summary.ts FILE.cpuprofile [...]: where a `node --cpu-prof` run spent its time,
// by category (parse, zod, stringify, token counting, MinHash, Parquet/zstd, ...). Each sample goes to the
// first category found walking from the sampled frame up its stack, so a JSON.parse called by zod counts as parse.
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const RULES: [string, (f: Node['callFrame']) => boolean][] = [
  ['gc', (f) => f.functionName === '(garbage collector)'],
  ['idle', (f) => f.functionName === '(idle)' || f.functionName === '(program)'],
  ['JSON.parse', (f) => f.url === '' && f.functionName === 'parse'],
  ['JSON.stringify', (f) => f.url === '' && f.functionName === 'stringify'],
  ['zod validation', (f) => f.url.includes('/zod/')],
  ['token counting', (f) => f.url.includes('tiktoken') || f.url.includes('/core/tokenizer') || f.url.includes('/core/bpe') || f.url.includes('/core/pretokenize')],
  ['minhash/dedup', (f) => f.url.includes('/stages/dedup/')],
  ['zstd', (f) => f.url.includes('zstd')],
  ['parquet encode', (f) => f.url.includes('hyparquet') || f.url.includes('/io/parquet/')],
  ['hashing (sha256)', (f) => f.functionName === 'update' || f.functionName === 'digest' || f.url.includes('/core/hash')],
  ['utf-8 decode/line split', (f) => f.url.includes('/io/jsonl') || f.url.includes('/core/text')],
  ['deepFreeze', (f) => f.functionName === 'deepFreeze'],
  ['redaction', (f) => f.url.includes('/redact') || f.url.includes('secretlint')],
  ['tsx/module loading', (f) => f.url.includes('/tsx/') || f.url.includes('esbuild') || f.url.startsWith('node:internal/modules')],
];

for (const file of process.argv.slice(2)) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const cat = new Map<number, string>();
  const categorize = (id: number): string => {
    const known = cat.get(id);
    if (known) return known;
    const f = byId.get(id)!.callFrame;
    let c = RULES.find(([, test]) => test(f))?.[0];
    if (!c) {
      const up = parent.get(id);
      c = up === undefined ? `other` : categorize(up);
      if (c === 'other' && f.url.includes('/src/')) c = `other: ${f.url.replace(/.*\/src\//, 'src/')}`;
    }
    cat.set(id, c);
    return c;
  };
  const totals = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    total += dt;
    const c = categorize(id).replace(/^other: (src\/[^/]+\/[^/]+).*/, 'other: $1');
    totals.set(c, (totals.get(c) ?? 0) + dt);
  });
  process.stdout.write(`${file}: ${(total / 1e6).toFixed(2)} s sampled\n`);
  for (const [c, t] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    process.stdout.write(`  ${c.padEnd(44)} ${(t / 1e6).toFixed(2).padStart(7)} s ${((100 * t) / total).toFixed(1).padStart(5)} %\n`);
  }
}
