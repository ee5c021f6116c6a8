// The webhooks service stopped in the middle of deliveries and started again: every event still reaches the receiver.
import { eventually } from '@taskflow/shared/testing';
import { type Harness, startHarness, startReceiver } from './harness';

describe('webhooks restart', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { WEBHOOK_TIMEOUT_MS: '3000' }, leaseMarginMs: 200 });
  });
  afterAll(() => h.close());

  it('delivers every event at least once when the service stops mid-delivery and restarts', async () => {
    // Slow answers keep attempts in flight when the service stops; they are sent again after the restart.
    const r = await startReceiver(() => ({ status: 200, delayMs: 150 }));
    try {
      const org = await h.organization();
      await h.createEndpoint(org, r.url, ['task.created']);
      const ids: string[] = [];
      for (let i = 0; i < 40; i += 1) {
        ids.push(await h.publish('work.task.created', org.id, { task: { id: '00000000-0000-4000-8000-0000000000e1', project_id: '00000000-0000-4000-8000-0000000000e2', title: `t${i}` } }, org.owner));
      }
      await eventually(() => r.received.length >= 3, 10_000);
      await h.stopService();
      const beforeRestart = new Set(r.received.map((x) => x.headers['webhook-id']));
      expect(beforeRestart.size).toBeLessThan(ids.length);
      await h.startService();
      await eventually(() => ids.every((id) => r.received.some((x) => x.headers['webhook-id'] === id)), 20_000);
      const rows = await eventually(async () => {
        const found = await h.db('deliveries').where({ event_type: 'task.created' });
        return found.every((d: { status: string }) => d.status === 'succeeded') ? found : undefined;
      }, 20_000);
      expect(rows).toHaveLength(ids.length);
    } finally {
      await r.close();
    }
  });
});
