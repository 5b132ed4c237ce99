// Worker-thread entry when the main thread runs the sources through tsx (TRAJPIPE_NO_BUNDLE=1, a failed
// bundle build, tsx scripts, vitest). A plain .js file so Node can start it without a loader; it then
// registers tsx and loads the TypeScript tasks. When the CLI runs from its start-up bundle, workers load the
// bundle's worker.mjs instead (src/workers/pool.ts, workerEntry; docs/design.md, "Start-up").
import { register } from 'tsx/esm/api';

register();
const { runWorkerTask } = await import('./tasks.ts');

export default runWorkerTask;
