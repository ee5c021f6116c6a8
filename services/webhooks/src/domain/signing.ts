// Standard Webhooks signatures (https://www.standardwebhooks.com): the `standardwebhooks` package signs,
// so any receiver verifying with it (or its scheme) agrees byte for byte.
import { Webhook } from 'standardwebhooks';

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * The headers of one attempt: `secrets` are the current one first, then a rotated-out one still in its
 * overlap; each contributes one `v1,<signature>`, space-separated.
 */
export function signedHeaders(eventId: string, at: Date, body: string, secrets: readonly string[]): SignedHeaders {
  // Whole seconds: the header carries Unix seconds, and the signature must cover exactly that value.
  const timestamp = new Date(Math.floor(at.getTime() / 1000) * 1000);
  return {
    'webhook-id': eventId,
    'webhook-timestamp': String(timestamp.getTime() / 1000),
    'webhook-signature': secrets.map((secret) => new Webhook(secret).sign(eventId, timestamp, body)).join(' '),
  };
}
