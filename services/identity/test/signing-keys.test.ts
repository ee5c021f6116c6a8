import { createHash, createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { ConfigError, createDb, createLogger, type Knex, migrate, Outbox, type RunningServer } from '@taskflow/shared';
import { createTestDatabase, request, startTestServer, type TestDatabase } from '@taskflow/shared/testing';
import { buildApp } from '../src/app';
import { loadIdentityConfig } from '../src/config';
import { IDENTITY_SCHEMA, migrations } from '../src/db/migrations';
import { loadSigningKeys, loadStoredSigningKeys } from '../src/domain/signing-keys';
import { localVerifier } from '../src/service';
import { startIdentity } from './start';
import { PASSWORD, registration } from './support';

function rsaPem() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey,
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

describe('signing keys kept in the database (development and test)', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('identity_keys');
  });
  afterAll(() => database.drop());

  it('ends up with one active key when several replicas start at once on an empty database', async () => {
    const replicas: Knex[] = [1, 2, 3, 4].map(() => createDb({ url: database.url, schema: IDENTITY_SCHEMA, poolMax: 2 }));
    try {
      await Promise.all(replicas.map((db) => migrate(db, IDENTITY_SCHEMA, migrations)));
      const loaded = await Promise.all(replicas.map((db) => loadStoredSigningKeys(db)));
      expect(new Set(loaded.map((k) => k.current.kid)).size).toBe(1);
      expect(await replicas[0]!('identity.signing_keys').count<{ count: string }[]>({ count: '*' })).toEqual([{ count: '1' }]);
      // A later start reuses it.
      expect((await loadStoredSigningKeys(replicas[0]!)).current.kid).toBe(loaded[0]!.current.kid);
    } finally {
      await Promise.all(replicas.map((db) => db.destroy()));
    }
  });

  it('serves the same JWKS from two instances started at once', async () => {
    const fresh = await createTestDatabase('identity_keys');
    const [a, b] = await Promise.all([startIdentity({ databaseUrl: fresh.url }), startIdentity({ databaseUrl: fresh.url })]);
    try {
      const [ja, jb] = await Promise.all([request(a.url, 'GET', '/api/v1/auth/jwks'), request(b.url, 'GET', '/api/v1/auth/jwks')]);
      expect(ja.body).toEqual(jb.body);
      expect(ja.body.keys).toHaveLength(1);
    } finally {
      await a.close();
      await b.close();
      await fresh.drop();
    }
  });
});

describe('signing keys from the environment (production)', () => {
  let database: TestDatabase;
  let db: Knex;
  let server: RunningServer;
  const current = rsaPem();
  const previous = rsaPem();

  beforeAll(async () => {
    database = await createTestDatabase('identity_envkeys');
    const config = loadIdentityConfig({
      NODE_ENV: 'test',
      DATABASE_URL: database.url,
      PASSWORD_SCRYPT_COST: '1024',
      // As an env file often carries it: one line with literal \n.
      JWT_PRIVATE_KEY: current.privatePem.replace(/\n/g, '\\n'),
      JWT_PREVIOUS_PUBLIC_KEY: previous.publicPem,
    });
    db = createDb({ url: config.DATABASE_URL, schema: IDENTITY_SCHEMA });
    await migrate(db, IDENTITY_SCHEMA, migrations);
    const keys = await loadSigningKeys(config, db);
    server = await startTestServer(buildApp({ config, logger: createLogger('identity', 'silent'), db, outbox: new Outbox(IDENTITY_SCHEMA), keys, verifier: localVerifier(config, keys) }));
  });
  afterAll(async () => {
    await server.close();
    await db.destroy();
    await database.drop();
  });

  const thumbprint = (publicPem: string) => {
    const { n, e } = createPublicKey(publicPem).export({ format: 'jwk' });
    return createHash('sha256').update(JSON.stringify({ e, kty: 'RSA', n })).digest('base64url');
  };

  it('publishes the current and the previous key, each with its RFC 7638 thumbprint as kid, and stores none', async () => {
    const res = await request(server.url, 'GET', '/api/v1/auth/jwks');
    expect(res.body.keys.map((k: { kid: string }) => k.kid)).toEqual([thumbprint(current.publicPem), thumbprint(previous.publicPem)]);
    expect(await db('identity.signing_keys').count<{ count: string }[]>({ count: '*' })).toEqual([{ count: '0' }]);
  });

  it('signs with the current key and still accepts tokens signed with the previous one', async () => {
    const body = registration();
    const user = await request(server.url, 'POST', '/api/v1/auth/register', { body });
    const login = await request(server.url, 'POST', '/api/v1/auth/login', { body: { email: body.email, password: PASSWORD } });
    expect(jwt.decode(login.body.access, { complete: true })?.header.kid).toBe(thumbprint(current.publicPem));
    const old = jwt.sign({ email: body.email }, previous.privateKey, {
      algorithm: 'RS256',
      keyid: thumbprint(previous.publicPem),
      subject: user.body.id,
      issuer: 'taskflow-identity',
      audience: 'taskflow-api',
      expiresIn: 60,
      jwtid: randomUUID(),
    });
    expect((await request(server.url, 'GET', '/api/v1/auth/me', { token: old })).status).toBe(200);
  });
});

describe('identity configuration', () => {
  it('refuses to start in production without an explicit database URL and private key', () => {
    expect(() => loadIdentityConfig({ NODE_ENV: 'production' })).toThrow(ConfigError);
    try {
      loadIdentityConfig({ NODE_ENV: 'production' });
    } catch (err) {
      expect((err as ConfigError).problems.join('\n')).toMatch(/DATABASE_URL[\s\S]*JWT_PRIVATE_KEY/);
    }
  });

  it('refuses a private key that is not an RSA PEM and a scrypt cost that is not a power of two', () => {
    expect(() => loadIdentityConfig({ JWT_PRIVATE_KEY: 'not a key' })).toThrow(/JWT_PRIVATE_KEY/);
    expect(() => loadIdentityConfig({ PASSWORD_SCRYPT_COST: '1000' })).toThrow(/PASSWORD_SCRYPT_COST/);
  });

  it('defaults to port 4001, 15-minute access tokens, 1-day refresh tokens and scrypt N = 32768', () => {
    expect(loadIdentityConfig({})).toMatchObject({ PORT: 4001, ACCESS_TOKEN_TTL_SECONDS: 900, REFRESH_TOKEN_TTL_SECONDS: 86_400, PASSWORD_SCRYPT_COST: 32_768 });
  });
});
