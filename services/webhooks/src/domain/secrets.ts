// Signing secrets: made here (`whsec_` + 32 random bytes, base64, the Standard Webhooks form), and kept
// encrypted with AES-256-GCM under a key derived from WEBHOOK_SECRET_KEY, so the database alone reveals nothing.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = 32;

/** A new secret as shown to the user once. */
export function newSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;
}

export class SecretBox {
  private readonly key: Buffer;

  constructor(passphrase: string) {
    // A fixed context string separates this key from any other use of the same configured value.
    this.key = createHash('sha256').update(`taskflow.webhooks.secrets\0${passphrase}`).digest();
  }

  /** `v1.<iv>.<tag>.<ciphertext>`, each base64url. */
  seal(secret: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return ['v1', iv, cipher.getAuthTag(), sealed].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
  }

  open(stored: string): string {
    const [version, iv, tag, sealed] = stored.split('.');
    if (version !== 'v1' || !iv || !tag || sealed === undefined) throw new Error('unreadable webhook secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(sealed, 'base64url')), decipher.final()]).toString('utf8');
  }
}
