// Verifies RS256 access tokens against the issuer's JWKS; keys are KeyObjects cached by `kid`.
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { AppError } from '../http/errors';

export interface AccessClaims {
  sub: string;
  email: string;
  jti: string;
  iat: number;
  exp: number;
}

export interface Jwk extends JsonWebKey {
  kid?: string;
}

export interface VerifierOptions {
  issuer: string;
  audience: string;
  /** Returns the current JWKS keys (e.g. `jwksFromUrl`). */
  fetchKeys: () => Promise<Jwk[]>;
  /** An unknown `kid` refetches the keys at most this often. */
  minRefetchIntervalMs?: number;
  /** Verified tokens remembered until they expire (bounded; 0 turns the cache off). */
  cacheSize?: number;
}

export const invalidToken = (detail = 'Token is invalid or expired.') =>
  new AppError(401, 'token_not_valid', detail, undefined, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });

export function jwksFromUrl(url: string, timeoutMs = 3000): () => Promise<Jwk[]> {
  return async () => {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`JWKS ${url} answered ${res.status}`);
    const body = (await res.json()) as { keys?: Jwk[] };
    return body.keys ?? [];
  };
}

export class AccessTokenVerifier {
  private keys = new Map<string, KeyObject>();
  /** token -> its claims; an access token cannot be revoked before `exp`, so a hit needs no signature check. */
  private readonly verified = new Map<string, AccessClaims>();
  private lastFetch = 0;
  private inflight: Promise<void> | undefined;

  constructor(private readonly options: VerifierOptions) {}

  private async refresh(): Promise<void> {
    const minInterval = this.options.minRefetchIntervalMs ?? 5000;
    if (this.inflight) return this.inflight;
    if (Date.now() - this.lastFetch < minInterval && this.keys.size > 0) return;
    this.inflight = (async () => {
      try {
        const jwks = await this.options.fetchKeys();
        const next = new Map<string, KeyObject>();
        for (const jwk of jwks) {
          if (jwk.kid && jwk.kty === 'RSA') next.set(jwk.kid, createPublicKey({ key: jwk, format: 'jwk' }));
        }
        this.keys = next;
        this.lastFetch = Date.now();
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }

  private async keyFor(kid: string): Promise<KeyObject | undefined> {
    const cached = this.keys.get(kid);
    if (cached) return cached;
    try {
      await this.refresh();
    } catch {
      throw new AppError(503, 'service_unavailable', 'Token keys are unavailable; retry shortly.', undefined, { 'Retry-After': '5' });
    }
    return this.keys.get(kid);
  }

  async verify(token: string): Promise<AccessClaims> {
    const cached = this.verified.get(token);
    if (cached) {
      if (cached.exp * 1000 > Date.now()) return cached;
      this.verified.delete(token);
    }
    const claims = await this.verifySignature(token);
    this.remember(token, claims);
    return claims;
  }

  private remember(token: string, claims: AccessClaims): void {
    const max = this.options.cacheSize ?? 10_000;
    if (max <= 0) return;
    if (this.verified.size >= max) {
      // Evict the oldest entry (Map keeps insertion order).
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.set(token, claims);
  }

  private async verifySignature(token: string): Promise<AccessClaims> {
    const decoded = jwt.decode(token, { complete: true });
    if (!decoded || typeof decoded.payload === 'string' || decoded.header.alg !== 'RS256' || !decoded.header.kid) throw invalidToken();
    const key = await this.keyFor(decoded.header.kid);
    if (!key) throw invalidToken();
    let claims: jwt.JwtPayload;
    try {
      claims = jwt.verify(token, key, {
        algorithms: ['RS256'],
        issuer: this.options.issuer,
        audience: this.options.audience,
      }) as jwt.JwtPayload;
    } catch {
      throw invalidToken();
    }
    // jsonwebtoken accepts a token without `exp` as never expiring: refuse it (ours always carry one).
    if (typeof claims.sub !== 'string' || typeof claims.email !== 'string' || typeof claims.jti !== 'string' || typeof claims.exp !== 'number') {
      throw invalidToken();
    }
    return claims as AccessClaims;
  }
}
