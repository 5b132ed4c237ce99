import type { FormatTarget } from '../../../schemas/index.js';

// <out>/formats/README.md: which folder is for which trainer, and how exact each one is.

const EXACTNESS: Record<FormatTarget, string> = {
  verl: 'rows whose assistant turns are all trained (veRL trains every assistant message)',
  slime: 'every row: `step_loss_mask` per message is exact',
  'nemo-rl': 'rows whose assistant turns are all trained (NeMo-RL trains every assistant message)',
  llamafactory: 'rows whose assistant turns are all trained and that alternate as ShareGPT requires',
  trl: 'rows with one trained turn, the last (prompt/completion); otherwise the tokenized shards',
  axolotl: 'the export shards as they are (`message_field_training: loss`)',
  'ms-swift': 'the export shards as they are (native `loss`); reasoning_content is dropped by ms-swift',
};

export function renderFormatsIndex(
  name: string,
  targets: readonly { target: FormatTarget; rows: number; files: string[] }[],
  exportRows: number,
): string {
  const rows = targets.map((t) => `| [${t.target}](${t.target}/README.md) | ${t.files.length ? t.rows : '(export shards)'} | ${EXACTNESS[t.target]} |`).join('\n');
  return `# ${name}: trainer formats

The export (${exportRows} rows, \`../export/\`) in each trainer's native form. Each folder's README has the config lines and says
exactly what that trainer does with the per-message loss masks; rows a format cannot express exactly are not written and are
listed in \`rejects.jsonl\` with the reason. Nothing here trains a masked turn.

| trainer | rows written | what is exact |
|---|---:|---|
${rows}

See docs/trainer-formats.md in the trajpipe repository for the sources each format was checked against.
`;
}
