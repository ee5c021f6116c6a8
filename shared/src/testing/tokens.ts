// Access tokens for tests of services other than identity: a real RSA key and a verifier that trusts it.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { AccessTokenVerifier, type Jwk } from '../auth/verifier';

export interface TestTokens {
  verifier: AccessTokenVerifier;
  /** A valid access token for `user`. */
  sign(user: { id: string; email: string }, options?: jwt.SignOptions): string;
  /** A new user (a fresh id) with `email`, and a valid access token for them. */
  user(email: string): { id: string; email: string; token: string };
  issuer: string;
  audience: string;
  /** The public key as identity's JWKS document would serve it (for a stand-in identity in another process). */
  jwks: { keys: Jwk[] };
}

export function createTestTokens(issuer = 'taskflow-identity', audience = 'taskflow-api'): TestTokens {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = `test-${randomUUID()}`;
  const jwk: Jwk = { ...(publicKey.export({ format: 'jwk' }) as Jwk), kid };
  const tokens: TestTokens = {
    issuer,
    audience,
    jwks: { keys: [jwk] },
    verifier: new AccessTokenVerifier({ issuer, audience, fetchKeys: async () => [jwk] }),
    user: (email) => {
      const id = randomUUID();
      return { id, email, token: tokens.sign({ id, email }) };
    },
    sign: (user, options = {}) =>
      jwt.sign({ email: user.email }, privateKey, {
        algorithm: 'RS256',
        keyid: kid,
        subject: user.id,
        jwtid: randomUUID(),
        issuer,
        audience,
        expiresIn: 900,
        ...options,
      }),
  };
  return tokens;
}
