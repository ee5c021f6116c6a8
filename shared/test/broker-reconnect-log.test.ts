// Every broker reconnect line in the log says why the connection was lost or refused.
import { Writable } from 'node:stream';
import pino from 'pino';
import { Broker } from '@taskflow/shared';
import { testInfra } from '@taskflow/shared/testing';

it('logs the reason on every scheduled reconnect, and rejects once the start-up retries are spent', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const url = new URL(testInfra().amqpUrl);
  url.username = 'guest';
  url.password = 'not-the-password';
  await expect(Broker.connect(url.href, pino({ level: 'info' }, sink), { initialRetries: 2 })).rejects.toThrow();
  const scheduled = lines.filter((l) => l.msg === 'broker reconnect scheduled');
  expect(scheduled.length).toBeGreaterThanOrEqual(1);
  for (const line of scheduled) expect(String(line.reason)).toMatch(/ACCESS_REFUSED|refused|auth/i);
  expect(JSON.stringify(lines)).not.toContain('not-the-password');
});
