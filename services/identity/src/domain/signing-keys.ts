// The RSA keys that sign access tokens: from the environment in production, else generated once and kept in the database.
import { createHash, createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { Knex } from '@taskflow/shared';
import { insertActiveSigningKeyIfNone, listCurrentSigningKeys } from '../db/signing-keys';

export type PublicJwk = {
  kty: 'RSA';
  n: string;
  e: string;
  kid: string;
  alg: 'RS256';
  use: 'sig';
};

export interface SigningKeys {
  /** Signs new access tokens; created once (never parsed from a PEM per call). */
  current: { kid: string; privateKey: KeyObject };
  /** The current public key first, then the previous one if there is one. */
  jwks: PublicJwk[];
}

/** The public JWK of an RSA key; `kid` is its RFC 7638 thumbprint (base64url SHA-256). */
export function publicJwkOf(key: KeyObject): PublicJwk {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const { n, e } = publicKey.export({ format: 'jwk' });
  if (!n || !e) throw new Error('Signing keys must be RSA keys');
  const kid = createHash('sha256').update(JSON.stringify({ e, kty: 'RSA', n })).digest('base64url');
  return { kty: 'RSA', n, e, kid, alg: 'RS256', use: 'sig' };
}

export function signingKeysFromPem(privateKeyPem: string, previousPublicKeyPem?: string): SigningKeys {
  const privateKey = createPrivateKey(privateKeyPem);
  const current = publicJwkOf(privateKey);
  const jwks = [current];
  if (previousPublicKeyPem) {
    const previous = publicJwkOf(createPublicKey(previousPublicKeyPem));
    if (previous.kid !== current.kid) jwks.push(previous);
  }
  return { current: { kid: current.kid, privateKey }, jwks };
}

const generateRsaKeyPair = promisify(generateKeyPair);

async function generatePrivateKeyPem(): Promise<string> {
  const { privateKey } = await generateRsaKeyPair('rsa', { modulusLength: 2048 });
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/**
 * The keys kept in the database, generating and storing one on first start. Replicas starting at
 * once may each generate a key, but only one is stored and all of them use that one.
 */
export async function loadStoredSigningKeys(db: Knex): Promise<SigningKeys> {
  let rows = await listCurrentSigningKeys(db);
  if (!rows.some((row) => row.active)) {
    const pem = await generatePrivateKeyPem();
    const jwk = publicJwkOf(createPrivateKey(pem));
    await insertActiveSigningKeyIfNone(db, { kid: jwk.kid, private_key_pem: pem, public_jwk: jwk });
    rows = await listCurrentSigningKeys(db);
  }
  const active = rows.find((row) => row.active);
  if (!active) throw new Error('No active signing key after storing one');
  const privateKey = createPrivateKey(active.private_key_pem);
  const jwks = [publicJwkOf(privateKey)];
  const previous = rows.find((row) => !row.active);
  if (previous) jwks.push(publicJwkOf(createPrivateKey(previous.private_key_pem)));
  return { current: { kid: jwks[0]!.kid, privateKey }, jwks };
}

export interface SigningKeySettings {
  JWT_PRIVATE_KEY?: string | undefined;
  JWT_PREVIOUS_PUBLIC_KEY?: string | undefined;
}

/** Keys from the environment when JWT_PRIVATE_KEY is set (always in production), else from the database. */
export async function loadSigningKeys(settings: SigningKeySettings, db: Knex): Promise<SigningKeys> {
  if (settings.JWT_PRIVATE_KEY) return signingKeysFromPem(settings.JWT_PRIVATE_KEY, settings.JWT_PREVIOUS_PUBLIC_KEY);
  return loadStoredSigningKeys(db);
}
