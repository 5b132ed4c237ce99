// Worker-thread entry. A plain .js file so Node can start it without a loader; it then registers tsx
// (as bin/trajpipe.js does) and loads the TypeScript tasks, so workers run the same sources in dev,
// in tests and from the CLI, with no build step.
import { register } from 'tsx/esm/api';

register();
const { runTask } = await import('./tasks.ts');

export default runTask;
