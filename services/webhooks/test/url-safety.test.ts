// SSRF defence: which URLs may be saved, and that every connection checks the address it really uses.
import { eventually } from '@taskflow/shared/testing';
import { isInternalAddress, UrlGuard } from '../src/domain/url-safety';
import { type Harness, startHarness, startReceiver } from './harness';

describe('isInternalAddress', () => {
  it.each([
    '127.0.0.1', '127.255.0.9', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.100.100.200', '0.0.0.0',
    '::1', '::', 'fe80::1', 'fc00::1', 'fd00:ec2::254', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '[::1]', '64:ff9b::7f00:1', '2002:7f00:1::', '224.0.0.1',
  ])('refuses %s', (address) => {
    expect(isInternalAddress(address)).toBe(true);
  });

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:2800:220:1:248:1893:25c8:1946', '::ffff:8.8.8.8'])('accepts the public %s', (address) => {
    expect(isInternalAddress(address)).toBe(false);
  });
});

describe('UrlGuard.problemWith (saving an endpoint)', () => {
  const names: Record<string, string[]> = {
    'public.example': ['93.184.216.34'],
    'internal.example': ['10.0.0.7'],
    'mixed.example': ['93.184.216.34', '127.0.0.1'],
    'v6-loopback.example': ['::1'],
  };
  const guard = new UrlGuard({
    allowPrivateNetworks: false,
    resolve: async (host) => {
      const found = names[host];
      if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    },
  });

  it.each([
    'https://127.0.0.1/x', 'https://localhost/x', 'https://2130706433/x', 'https://0177.0.0.1/x', 'https://0x7f.1/x', 'https://0.0.0.0/x', 'https://[::1]/x',
    'https://[::ffff:127.0.0.1]/x', 'https://[::ffff:a9fe:a9fe]/x', 'https://169.254.169.254/latest/meta-data/', 'https://[fd00:ec2::254]/x',
    'https://internal.example/x', 'https://mixed.example/x', 'https://v6-loopback.example/x', 'http://public.example/x', 'https://nowhere.example/x',
  ])('refuses %s', async (url) => {
    expect(await guard.problemWith(url)).toEqual(expect.any(String));
  });

  it('accepts an https URL whose name resolves only to public addresses', async () => {
    expect(await guard.problemWith('https://public.example/hooks?token=abc')).toBeUndefined();
  });
});

describe('SSRF through the service', () => {
  let h: Harness;
  let answer = '93.184.216.34';

  beforeAll(async () => {
    // The real rules (no private networks), with a resolver the test controls.
    h = await startHarness({
      env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false', WEBHOOK_TIMEOUT_MS: '2000' },
      resolve: async () => [{ address: answer, family: 4 }],
    });
  });
  afterAll(() => h.close());

  it.each(['https://127.0.0.1/x', 'https://2130706433/x', 'https://[::ffff:127.0.0.1]/x', 'https://0.0.0.0/x', 'http://rebind.example/x'])(
    'answers 400 errors.url to %s and stores nothing',
    async (url) => {
      const org = await h.organization();
      const res = await h.call('POST', '/api/v1/webhooks/', org.owner, { body: { organization: org.id, url, events: ['*'] } });
      expect(res.status).toBe(400);
      expect(Object.keys(res.body.errors)).toEqual(['url']);
      expect(await h.db('endpoints').where({ organization_id: org.id })).toEqual([]);
    },
  );

  it('refuses at connection time a name that resolved publicly when saved and internally later (DNS rebinding)', async () => {
    const victim = await startReceiver();
    try {
      const org = await h.organization();
      answer = '93.184.216.34';
      const endpoint = await h.createEndpoint(org, 'https://rebind.example/x', ['task.created']);
      answer = '127.0.0.1';
      await h.publish('work.task.created', org.id, { task: { id: '00000000-0000-4000-8000-0000000000d1', project_id: '00000000-0000-4000-8000-0000000000d2', title: 'x' } }, org.owner);
      const delivery = await eventually(async () => (await h.db('deliveries').where({ endpoint_id: endpoint.id }).where('attempts', '>=', 1)).find((d: { event_type: string }) => d.event_type === 'task.created'), 10_000);
      expect(delivery.last_error).toContain('internal address');
      expect(delivery.last_status_code).toBeNull();
      expect(victim.received).toEqual([]);
    } finally {
      await victim.close();
    }
  });
});
