// The fake teacher in a process of its own, so the bench measures the client's CPU alone. argv[2]: JSON
// FakeTeacherOptions. Sends {url} over IPC once listening; answers 'stats' with what it saw (and its CPU) since the last 'stats', 'close' by exiting.
import { startFakeTeacher, type FakeTeacherOptions } from '../test/label/fake-teacher.js';

const fake = await startFakeTeacher(JSON.parse(process.argv[2] ?? '{}') as FakeTeacherOptions);
let cpu = process.cpuUsage();
process.on('message', (m) => {
  if (m === 'stats') {
    process.send!({
      requests: fake.requests.length,
      distinct: new Set(fake.requests.map((r) => r.bodyHash)).size,
      maxInFlight: fake.maxInFlight,
      answered: fake.answered,
      cpuMs: ((u) => (u.user + u.system) / 1000)(process.cpuUsage(cpu)),
    });
    cpu = process.cpuUsage();
    fake.requests.length = 0;
    fake.maxInFlight = 0;
  } else if (m === 'close') void fake.close().then(() => process.exit(0));
});
process.send!({ url: fake.url });
