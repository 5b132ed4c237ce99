import { spawnSync } from 'node:child_process';
import { startFakeTeacher } from '../test/label/fake-teacher.ts';
import { synthesizeCorpus } from './synth.ts';
await synthesizeCorpus({ dir: '/tmp/fi/synth', targetBytes: 2e6, seed: 1, minTurns: 6, maxTurns: 30 });
const t = await startFakeTeacher({ retryAfter: '0', randomFaults: { rate: 0.3, seed: 1, maxConsecutive: 2 } });
const t0 = Date.now();
const r = spawnSync(process.execPath, ['bin/trajpipe.js', 'run', '--input', '/tmp/fi', '--out', '/tmp/fi-out', '--teacher-base-url', t.url, '--teacher-model', 'fake', '--set', 'label.cache_dir=/tmp/fi-cache', '--set', 'label.limits.backoff_base_s=0.02', '--set', 'label.limits.backoff_max_s=0.2', '--set', 'label.limits.concurrency=4'], { encoding: 'utf8' });
console.log(r.stderr.slice(-1500), Date.now() - t0, 'ms', t.requests.length);
await t.close();
