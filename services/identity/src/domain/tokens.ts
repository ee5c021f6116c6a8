// Access tokens (RS256 JWTs) and opaque refresh tokens.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { IdentitySettings } from './context';
import type { SigningKeys } from './signing-keys';

export interface TokenPair {
  access: string;
  refresh: string;
  token_type: 'Bearer';
  expires_in: number;
}

export function signAccessToken(keys: SigningKeys, settings: IdentitySettings, user: { id: string; email: string }): string {
  return jwt.sign({ email: user.email }, keys.current.privateKey, {
    algorithm: 'RS256',
    keyid: keys.current.kid,
    subject: user.id,
    issuer: settings.issuer,
    audience: settings.audience,
    expiresIn: settings.accessTokenTtlSeconds,
    jwtid: randomUUID(),
  });
}

/** Refresh tokens are stored only as this hash (they carry 256 random bits, so no salt or slow hash is needed). */
export function hashRefreshToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export function newRefreshToken(): { token: string; hash: Buffer } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashRefreshToken(token) };
}
