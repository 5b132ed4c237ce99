// One label run in its own process, for the shared-cache tests: argv[2] is JSON {input, out, sets}. It says
// 'ready' over IPC once loaded, starts on 'go', and sends back what it labelled and its teacher accounts.
import { runLabelPipeline } from './fixtures.js';

const { input, out, sets } = JSON.parse(process.argv[2]!) as { input: string; out: string; sets: string[] };
process.env['TRAJPIPE_TEST_TEACHER_KEY'] = 'sk-shared-cache-test';
process.once('message', (m) => {
  if (m !== 'go') return;
  void runLabelPipeline({ input, out, sets }).then(
    (r) => {
      process.send!(
        {
          status: r.labelOutcome?.status,
          values: r.records.map((x) => x.values?.values ?? null),
          teacher: (r.manifest?.stats as Record<string, unknown> | undefined)?.['teacher'] ?? null,
        },
        () => process.exit(0),
      );
    },
    (err: unknown) => {
      process.send!({ error: String(err) }, () => process.exit(1));
    },
  );
});
process.send!('ready');
