// Preloaded into a service by bench/http.ts when HEAP_PROF names it (`node --require bench/heap-sample.cjs`):
// V8's sampling heap profiler, counting objects the garbage collector has already freed too, so the
// profile is what the process allocated, not what it kept. Sampling starts when the process gets
// SIGUSR2 and stops at SIGTERM (before the service's own shutdown): the profile lands in
// HEAP_PROF_DIR as <name>-<pid>.heapprofile (open it in Chrome DevTools, Memory tab), and one JSON line
// on stderr gives the sampled bytes and the HTTP requests served in between, so bytes per request.
'use strict';
const inspector = require('node:inspector');
const diagnostics = require('node:diagnostics_channel');
const fs = require('node:fs');
const path = require('node:path');

const dir = process.env.HEAP_PROF_DIR || '.';
const name = process.env.HEAP_PROF_NAME || 'service';
const session = new inspector.Session();
session.connect();
let requests = 0;
let sampling = false;
diagnostics.subscribe('http.server.request.start', () => {
  if (sampling) requests += 1;
});
const post = (method, params) => new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));

process.on('SIGUSR2', () => {
  if (sampling) return;
  void post('HeapProfiler.enable')
    .then(() => post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }))
    .then(() => {
      sampling = true;
    });
});

const total = (node) => node.selfSize + node.children.reduce((sum, child) => sum + total(child), 0);
process.prependListener('SIGTERM', () => {
  if (!sampling) return;
  sampling = false;
  session.post('HeapProfiler.stopSampling', (err, res) => {
    if (err) return;
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${name}-${process.pid}.heapprofile`), JSON.stringify(res.profile));
    const bytes = total(res.profile.head);
    process.stderr.write(`${JSON.stringify({ heap_sampled_bytes: bytes, requests, bytes_per_request: Math.round(bytes / Math.max(1, requests)) })}\n`);
  });
});
