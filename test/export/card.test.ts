import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { emptyTally, renderCard, sizeCategory, type CardInput } from '../../src/stages/export/card.js';

function input(over: Partial<CardInput> = {}): CardInput {
  const tally = emptyTally();
  tally.rows = 3;
  tally.byOutcome = { resolved: { rows: 2, assistantTurns: 10, trainedTurns: 10 }, failed: { rows: 1, assistantTurns: 4, trainedTurns: 4 } };
  tally.failed = { rows: 1, agentTurns: 12, trainedTurns: 4, messagesCut: 16 };
  return {
    name: 't',
    description: null,
    packageVersion: '0.0.0',
    schemaVersion: '1',
    features: [],
    shards: [{ path: 'data/train-00000-of-00001.parquet', records: 3, bytes: 100, sha256: 'x' }],
    tally,
    lineage: [],
    exportConfig: {},
    exportDropped: {},
    license: 'unknown',
    language: ['en', 'code'],
    ...over,
  };
}

const frontMatter = (card: string) => parseYaml(/^---\n([\s\S]*?)\n---\n/.exec(card)![1]!) as Record<string, unknown>;

describe('dataset card', () => {
  it('front matter declares license, language, size and task categories', () => {
    const meta = frontMatter(renderCard(input()));
    expect(meta).toMatchObject({ license: 'unknown', language: ['en', 'code'], size_categories: ['n<1K'], task_categories: ['text-generation'] });
    expect(frontMatter(renderCard(input({ license: 'apache-2.0', language: ['en'] })))).toMatchObject({ license: 'apache-2.0', language: ['en'] });
  });

  it('says the license is unknown until it is set', () => {
    expect(renderCard(input())).toMatch(/\*\*License: unknown\.\*\* .* set `export\.card\.license` before publishing/);
    expect(renderCard(input({ license: 'mit' }))).not.toMatch(/License: unknown/);
  });

  it('size categories follow the Hugging Face buckets', () => {
    expect([0, 999, 1000, 12_345, 150_000, 2e6, 5e9].map(sizeCategory)).toEqual(['n<1K', 'n<1K', '1K<n<10K', '10K<n<100K', '100K<n<1M', '1M<n<10M', 'n>1B']);
  });

  it("explains that failed runs' exported turns are nearly all trained, and gives the share of turns taken", () => {
    const card = renderCard(input());
    expect(card).toMatch(/\| failed \| 1 \| 4 \| 4 \| 100\.0% \|/);
    expect(card).toMatch(/trained \/ exported/);
    expect(card).toMatch(/nearly every assistant turn \*exported\* for it is trained/);
    expect(card).toMatch(/They took 12 agent turns; 4 of them \(33\.3% of the turns taken\) are trained/);
  });

  it('the TRL snippet passes the tools, reads input_ids from the BatchEncoding, and is valid Python', () => {
    const card = renderCard(input());
    const trl = card.slice(card.indexOf('**TRL**'));
    const code = /```python\n([\s\S]*?)```/.exec(trl)![1]!;
    expect(code).toMatch(/tools = json\.loads\(row\["tools"\]\) if row\["tools"\] else None/);
    expect(code).toMatch(/apply_chat_template\(msgs\[: i \+ 1\], tools=tools, tokenize=True, return_dict=True\)\["input_ids"\]/);
    expect(code).toMatch(/"assistant_masks": mask/);
    const py = spawnSync('python3', ['-c', 'import ast, sys; ast.parse(sys.stdin.read())'], { input: code });
    if (py.error) console.warn('SKIPPED the Python syntax check of the TRL snippet: no python3 here');
    else expect(py.status, py.stderr?.toString()).toBe(0);
  });
});
