// Preloaded with NODE_OPTIONS=--require (Node 20 refuses --cpu-prof there): profiles this process like
// `node --cpu-prof` and writes CPU_PROF_OUT/<service>-<pid>.cpuprofile when it exits.
const { Session } = require('node:inspector');
const { mkdirSync, writeFileSync } = require('node:fs');
const path = require('node:path');

const dir = process.env.CPU_PROF_OUT;
const name = path.basename(path.dirname(path.dirname(process.argv[1] ?? 'node')));
const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.start');
process.once('exit', () => {
  // An in-thread session answers synchronously, so this runs to the end inside the exit handler.
  session.post('Profiler.stop', (err, result) => {
    if (err || !dir) return;
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `${name}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
  });
});
