// The webhooks service is SIGKILLed while deliveries are in flight to a receiver (it has requests it has
// not answered yet), and tasks keep being created while it is gone. Once it is restarted, every event is
// delivered at least once, signed as Standard Webhooks says, and every delivery ends `succeeded`: none lost.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { eventually } from '@taskflow/shared/testing';
import { type Cluster, startCluster } from './cluster';
import { orgWithProject } from './helpers';

const BEFORE_KILL = 30;
const WHILE_DOWN = 20;
const ANSWER_DELAY_MS = 150;

interface Receipt {
  id: string;
  type: string;
  target: string;
  verified: boolean;
}

/** A receiver on loopback that answers 204 after a short delay (so attempts are in flight), verifying each signature. */
async function startReceiver(secret: () => string | undefined) {
  const receipts: Receipt[] = [];
  let pending = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    pending += 1;
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let verified = false;
      try {
        new Webhook(secret()!).verify(body, req.headers as Record<string, string>);
        verified = true;
      } catch {
        verified = false;
      }
      const parsed = JSON.parse(body);
      receipts.push({ id: String(req.headers['webhook-id']), type: parsed.type, target: parsed.data.target.id, verified });
      setTimeout(() => {
        pending -= 1;
        res.writeHead(204).end();
      }, ANSWER_DELAY_MS);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    receipts,
    inFlight: () => pending,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('webhooks service killed mid-delivery', () => {
  let cluster: Cluster;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let secret: string | undefined;

  beforeAll(async () => {
    // Short attempts and leases: a killed replica's deliveries are due again within seconds, not a minute.
    cluster = await startCluster({ env: { WEBHOOK_TIMEOUT_MS: '2000', WEBHOOK_LEASE_MARGIN_MS: '1000', WEBHOOK_RETRY_SCHEDULE: '0.5,1,1,2,2,5' } });
    receiver = await startReceiver(() => secret);
  });
  afterAll(async () => {
    await receiver?.close();
    await cluster?.stop();
  });

  it('delivers every event at least once, signed, after a restart; no delivery is lost', async () => {
    const { owner, org, project } = await orgWithProject(cluster.url, 'Wren');
    const endpoint = await eventually(async () => {
      const res = await owner.call('POST', '/api/v1/webhooks/', { organization: org.id, url: receiver.url, events: ['task.created'] });
      if (res.status !== 201) throw new Error(`create endpoint: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    }, 15_000, 100);
    secret = endpoint.secret;

    const created: string[] = [];
    const createTasks = async (n: number, label: string) => {
      for (let i = 0; i < n; i += 1) {
        const res = await owner.call('POST', '/api/v1/tasks/', { project: project.id, title: `${label} ${i}` });
        expect(res.status).toBe(201);
        created.push(res.body.id);
      }
    };

    await createTasks(BEFORE_KILL, 'before');
    // Kill while the receiver holds requests it has not answered: those attempts never get recorded.
    await eventually(() => receiver.receipts.length >= 5 && receiver.inFlight() > 0, 30_000, 5);
    const inFlightAtKill = receiver.inFlight();
    const exit = await cluster.kill('webhooks', 'SIGKILL');
    expect(exit.signal).toBe('SIGKILL');
    expect(inFlightAtKill).toBeGreaterThan(0);
    const receivedAtKill = new Set(receiver.receipts.map((r) => r.target));
    expect(receivedAtKill.size).toBeLessThan(created.length); // some events were still to be delivered

    // Events published while webhooks is down wait in its queue.
    await createTasks(WHILE_DOWN, 'while down');
    await cluster.restart('webhooks');

    // Every task reached the receiver at least once, each with a valid signature and its event id.
    await eventually(() => created.every((id) => receiver.receipts.some((r) => r.target === id)), 60_000, 100);
    expect(receiver.receipts.every((r) => r.verified && r.type === 'task.created')).toBe(true);
    // One event id per task: a retry resends the same webhook-id (receivers deduplicate on it).
    const idsByTask = new Map<string, Set<string>>();
    for (const r of receiver.receipts) idsByTask.set(r.target, (idsByTask.get(r.target) ?? new Set()).add(r.id));
    expect([...idsByTask.values()].every((ids) => ids.size === 1)).toBe(true);

    // And the service agrees: one delivery per event, every one succeeded (none stuck in a dead replica's lease).
    const deliveries = await eventually(async () => {
      const page = await owner.call('GET', `/api/v1/webhooks/${endpoint.id}/deliveries/?limit=200`);
      expect(page.status).toBe(200);
      if (page.body.results.some((d: { status: string }) => d.status !== 'succeeded')) throw new Error('not all succeeded yet');
      return page.body.results as Array<{ event_id: string; status: string; attempts: number }>;
    }, 30_000, 200);
    expect(deliveries).toHaveLength(created.length);
    expect(new Set(deliveries.map((d) => d.event_id)).size).toBe(created.length);
    if (process.env.FAULTS_DEBUG) console.log({ inFlightAtKill, receipts: receiver.receipts.length, events: created.length, redelivered: deliveries.filter((d) => d.attempts > 1).length });
  });
});
