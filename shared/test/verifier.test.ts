import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { AccessTokenVerifier, type Jwk } from '@taskflow/shared';

function keyPair(kid: string): { privateKey: KeyObject; jwk: Jwk; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, jwk: { ...(publicKey.export({ format: 'jwk' }) as Jwk), kid }, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

const issuer = 'taskflow-identity';
const audience = 'taskflow-api';
const claims = { sub: randomUUID(), email: 'a@example.com', jti: randomUUID() };

describe('AccessTokenVerifier', () => {
  const current = keyPair('k1');
  let published: Jwk[] = [current.jwk];
  const verifierCountingFetches = () => {
    const counted = {
      fetches: 0,
      verifier: new AccessTokenVerifier({
        issuer,
        audience,
        minRefetchIntervalMs: 0,
        fetchKeys: async () => {
          counted.fetches += 1;
          return published;
        },
      }),
    };
    return counted;
  };
  const { verifier } = verifierCountingFetches();
  const sign = (payload: object, options: jwt.SignOptions = {}, key: KeyObject = current.privateKey, kid = 'k1') =>
    jwt.sign(payload, key, { algorithm: 'RS256', keyid: kid, issuer, audience, ...('exp' in payload ? {} : { expiresIn: 60 }), ...options });

  it('accepts a valid token', async () => {
    await expect(verifier.verify(sign(claims))).resolves.toMatchObject(claims);
  });

  it('fetches the keys once for every token signed with a key it has seen', async () => {
    const counted = verifierCountingFetches();
    for (let i = 0; i < 3; i += 1) await expect(counted.verifier.verify(sign(claims))).resolves.toMatchObject(claims);
    expect(counted.fetches).toBe(1);
  });

  it('rejects an unsigned token (alg none)', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT', kid: 'k1' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ ...claims, iss: issuer, aud: audience, exp: Math.floor(Date.now() / 1000) + 60 })).toString('base64url');
    await expect(verifier.verify(`${header}.${body}.`)).rejects.toMatchObject({ status: 401 });
  });

  it('rejects an HS256 token signed with the public key as the secret', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'k1' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ ...claims, iss: issuer, aud: audience, exp: Math.floor(Date.now() / 1000) + 60 })).toString('base64url');
    const { createHmac } = await import('node:crypto');
    const sig = createHmac('sha256', current.publicPem).update(`${header}.${body}`).digest('base64url');
    await expect(verifier.verify(`${header}.${body}.${sig}`)).rejects.toMatchObject({ status: 401 });
  });

  it.each([
    ['expired', () => sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 10 })],
    ['wrong audience', () => sign(claims, { audience: 'someone-else' })],
    ['wrong issuer', () => sign(claims, { issuer: 'evil' })],
    ['signed by an unknown key', () => sign(claims, {}, keyPair('k1').privateKey)],
    ['an unknown kid', () => sign(claims, {}, keyPair('zz').privateKey, 'zz')],
    ['missing claims', () => sign({ sub: claims.sub })],
    ['tampered payload', () => {
      const [h, , s] = sign(claims).split('.');
      return `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: randomUUID(), iss: issuer, aud: audience })).toString('base64url')}.${s}`;
    }],
    ['garbage', () => 'not.a.token'],
    ['without exp (it would never expire)', () => jwt.sign(claims, current.privateKey, { algorithm: 'RS256', keyid: 'k1', issuer, audience })],
  ])('rejects a token that is %s', async (_, make) => {
    await expect(verifier.verify(make())).rejects.toMatchObject({ status: 401, code: 'token_not_valid' });
  });

  it('picks up a rotated key on an unknown kid', async () => {
    const next = keyPair('k2');
    published = [next.jwk, current.jwk];
    await expect(verifier.verify(sign(claims, {}, next.privateKey, 'k2'))).resolves.toMatchObject(claims);
    await expect(verifier.verify(sign(claims))).resolves.toMatchObject(claims);
  });

  it('answers 503 when the keys cannot be fetched for an unknown kid', async () => {
    const failing = new AccessTokenVerifier({ issuer, audience, fetchKeys: async () => Promise.reject(new Error('down')) });
    await expect(failing.verify(sign(claims))).rejects.toMatchObject({ status: 503 });
  });
});

describe('AccessTokenVerifier cache', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk: Jwk = { ...(publicKey.export({ format: 'jwk' }) as Jwk), kid: 'c1' };
  const sign = (expiresIn: number) =>
    jwt.sign({ email: 'c@example.com' }, privateKey, { algorithm: 'RS256', keyid: 'c1', subject: randomUUID(), jwtid: randomUUID(), issuer, audience, expiresIn });

  it('remembers a verified token but never past its expiry', async () => {
    const verifier = new AccessTokenVerifier({ issuer, audience, fetchKeys: async () => [jwk], cacheSize: 2 });
    const token = sign(1);
    const claims = await verifier.verify(token);
    expect(await verifier.verify(token)).toBe(claims);
    // Once expired it is verified again, and refused.
    const realNow = Date.now;
    Date.now = () => realNow() + 5000;
    try {
      await expect(verifier.verify(token)).rejects.toMatchObject({ status: 401 });
    } finally {
      Date.now = realNow;
    }
  });

  it('keeps at most cacheSize tokens and still verifies the evicted ones', async () => {
    const verifier = new AccessTokenVerifier({ issuer, audience, fetchKeys: async () => [jwk], cacheSize: 2 });
    const tokens = [sign(60), sign(60), sign(60)];
    for (const t of tokens) await verifier.verify(t);
    await expect(verifier.verify(tokens[0]!)).resolves.toMatchObject({ email: 'c@example.com' });
    const tampered = `${tokens[1]!.slice(0, -3)}abc`;
    await expect(verifier.verify(tampered)).rejects.toMatchObject({ status: 401 });
  });
});
