// Password hashing (scrypt, parameters stored beside the hash) and the registration password rules.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { COMMON_PASSWORDS } from '../data/common-passwords';

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;
export const DEFAULT_SCRYPT_COST = 32_768;

const BLOCK_SIZE = 8;
const PARALLELISM = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** A stored hash asking for more than this is treated as corrupt rather than run. */
const MAX_COST = 1_048_576;

interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

function derive(password: string, salt: Buffer, params: ScryptParams, keyLength: number): Promise<Buffer> {
  // scrypt needs about 128 * N * r * p bytes; the default maxmem (32 MiB) is too small from N = 32768.
  const maxmem = 256 * params.N * params.r * params.p;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyLength, { ...params, maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** `scrypt$N$r$p$salt_b64$hash_b64` with a fresh 16-byte salt. */
export async function hashPassword(password: string, cost = DEFAULT_SCRYPT_COST): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const params = { N: cost, r: BLOCK_SIZE, p: PARALLELISM };
  const hash = await derive(password, salt, params, KEY_BYTES);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

interface ParsedHash extends ScryptParams {
  salt: Buffer;
  hash: Buffer;
}

function parseHash(stored: string): ParsedHash | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, 'base64');
  const hash = Buffer.from(parts[5]!, 'base64');
  const valid =
    Number.isInteger(N) && N > 1 && N <= MAX_COST && Number.isInteger(Math.log2(N)) &&
    Number.isInteger(r) && r >= 1 && r <= 32 && Number.isInteger(p) && p >= 1 && p <= 16 &&
    salt.length > 0 && hash.length >= 16;
  return valid ? { N, r, p, salt, hash } : undefined;
}

/** True when `password` matches `stored`; a malformed stored hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (!parsed) return false;
  const candidate = await derive(password, parsed.salt, parsed, parsed.hash.length);
  return timingSafeEqual(candidate, parsed.hash);
}

/** True when `stored` was made with other parameters than the current ones (rehash after a good login). */
export function needsRehash(stored: string, cost: number): boolean {
  const parsed = parseHash(stored);
  return !parsed || parsed.N !== cost || parsed.r !== BLOCK_SIZE || parsed.p !== PARALLELISM;
}

/**
 * A well-formed hash that no password matches: verifying against it costs one scrypt at `cost`, so a
 * login for an unknown email takes about as long as one with a wrong password.
 */
export function unmatchableHash(cost: number): string {
  return ['scrypt', cost, BLOCK_SIZE, PARALLELISM, Buffer.alloc(SALT_BYTES).toString('base64'), Buffer.alloc(KEY_BYTES).toString('base64')].join('$');
}

const common = new Set(COMMON_PASSWORDS.map((p) => p.toLowerCase()));

/** The registration rules `password` breaks on its own (empty when none): length and commonness. */
export function passwordProblems(password: string): string[] {
  const problems: string[] = [];
  if (password.length < PASSWORD_MIN_LENGTH) {
    problems.push(`This password is too short. It must contain at least ${PASSWORD_MIN_LENGTH} characters.`);
  }
  if (password.length > PASSWORD_MAX_LENGTH) {
    problems.push(`Ensure this field has no more than ${PASSWORD_MAX_LENGTH} characters.`);
  }
  if (common.has(password.toLowerCase())) problems.push('This password is too common.');
  return problems;
}

export const PASSWORD_SIMILAR_TO_EMAIL = 'The password is too similar to the email.';

/** A password may not be the account's email address, compared case-insensitively. */
export function passwordIsEmail(password: string, email: string): boolean {
  return email.trim() !== '' && password.trim().toLowerCase() === email.trim().toLowerCase();
}
