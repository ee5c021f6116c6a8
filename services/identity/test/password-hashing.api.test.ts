// The password-hashing admission (app.ts): one scrypt request per client address and
// PASSWORD_HASH_CONCURRENCY per process at once, the rest refused fast with 429/503 + Retry-After once
// their turn does not come within the queue timeout; routes that hash nothing are never held.
import { request } from '@taskflow/shared/testing';
import { type IdentityUnderTest, PASSWORD, registration, startIdentityUnderTest, uniqueEmail } from './support';

const LOGIN = '/api/v1/auth/login';
const REGISTER = '/api/v1/auth/register';

describe('password hashing admission', () => {
  let identity: IdentityUnderTest;
  beforeAll(async () => {
    // One hash at a time, one waiter per address, a wait of 1 ms: every request that finds the hash busy
    // is refused, whatever the machine's speed (each hash at this cost takes far longer than the requests
    // take to arrive).
    identity = await startIdentityUnderTest({
      scryptCost: 65_536,
      env: { PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_QUEUE: '1', PASSWORD_HASH_QUEUE_TIMEOUT_MS: '1' },
    });
  });
  afterAll(() => identity.close());

  const from = (address: string) => ({ 'x-forwarded-for': address });
  const login = (address: string, email = uniqueEmail()) =>
    request(identity.url, 'POST', LOGIN, { body: { email, password: PASSWORD }, headers: from(address) });

  it("refuses one address's extra concurrent guesses with 429 + Retry-After while its first is hashed", async () => {
    const answers = await Promise.all([1, 2, 3, 4].map(() => login('203.0.113.7')));
    const statuses = answers.map((res) => res.status).sort();
    expect(statuses).toEqual([401, 429, 429, 429]);
    for (const res of answers.filter((r) => r.status === 429)) {
      expect(res.headers.get('retry-after')).toBe('1');
      expect(res.body).toMatchObject({ code: 'too_many_concurrent_requests' });
    }
  });

  it('answers guesses from many addresses 503 service_busy at once instead of queueing hashes', async () => {
    const addresses = ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4', '198.51.100.5'];
    const answers = await Promise.all(addresses.map((address) => login(address)));
    const statuses = answers.map((res) => res.status).sort();
    expect(statuses).toEqual([401, 503, 503, 503, 503]);
    for (const res of answers.filter((r) => r.status === 503)) {
      expect(res.headers.get('retry-after')).toBe('1');
      expect(res.body).toMatchObject({ code: 'service_busy' });
    }
    const metrics = await request(identity.url, 'GET', '/metrics');
    expect(String(metrics.body)).toMatch(/fair_use_rejected_total\{[^}]*reason="timeout"[^}]*\} [1-9]/);
  });

  it('holds registration to the same rule, and a refused registration stores nothing', async () => {
    const bodies = [1, 2, 3].map(() => registration());
    const answers = await Promise.all(bodies.map((body) => request(identity.url, 'POST', REGISTER, { body, headers: from('203.0.113.9') })));
    expect(answers.map((res) => res.status).sort()).toEqual([201, 429, 429]);
    const refused = bodies.filter((_, i) => answers[i]!.status === 429).map((b) => b.email);
    expect(await identity.db('users').whereIn('email', refused as string[])).toEqual([]);
  });

  it('never holds requests that hash nothing, and logs in once the hash is free', async () => {
    const body = registration();
    expect((await request(identity.url, 'POST', REGISTER, { body })).status).toBe(201);
    const busy = Promise.all([1, 2, 3].map((i) => login(`192.0.2.${i}`)));
    const jwks = await request(identity.url, 'GET', '/api/v1/auth/jwks');
    const refresh = await request(identity.url, 'POST', '/api/v1/auth/refresh', { body: { refresh: 'x'.repeat(43) }, headers: from('192.0.2.1') });
    expect(jwks.status).toBe(200);
    expect(refresh.status).toBe(401);
    await busy;
    const res = await login('192.0.2.1', body.email as string);
    expect(res.status).toBe(200);
  });
});
