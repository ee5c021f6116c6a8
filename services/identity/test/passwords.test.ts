import { DEFAULT_SCRYPT_COST, hashPassword, needsRehash, passwordIsEmail, passwordProblems, unmatchableHash, verifyPassword } from '../src/domain/passwords';

describe('password hashing', () => {
  it('verifies the right password and refuses a wrong one at the default cost', async () => {
    const stored = await hashPassword('violet-harbor-42');
    expect(stored).toMatch(new RegExp(`^scrypt\\$${DEFAULT_SCRYPT_COST}\\$8\\$1\\$[A-Za-z0-9+/=]{24}\\$[A-Za-z0-9+/=]{44}$`));
    expect(await verifyPassword('violet-harbor-42', stored)).toBe(true);
    expect(await verifyPassword('violet-harbor-43', stored)).toBe(false);
    expect(await verifyPassword('Violet-harbor-42', stored)).toBe(false);
  });

  it('salts every hash, so one password never hashes the same twice', async () => {
    const [a, b] = await Promise.all([hashPassword('same password', 1024), hashPassword('same password', 1024)]);
    expect(a).not.toBe(b);
    expect(await verifyPassword('same password', a)).toBe(true);
    expect(await verifyPassword('same password', b)).toBe(true);
  });

  it('reads the cost from the stored hash, so older hashes still verify after the cost changes', async () => {
    const cheap = await hashPassword('violet-harbor-42', 1024);
    expect(await verifyPassword('violet-harbor-42', cheap)).toBe(true);
    expect(needsRehash(cheap, 1024)).toBe(false);
    expect(needsRehash(cheap, DEFAULT_SCRYPT_COST)).toBe(true);
  });

  it('never matches a malformed or absurd stored hash', async () => {
    for (const stored of ['', 'plain', 'scrypt$1024$8$1$AAAA', 'bcrypt$1024$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', `scrypt$${2 ** 30}$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=`]) {
      expect(await verifyPassword('anything', stored)).toBe(false);
    }
  });

  it('matches no password against the hash used for unknown emails', async () => {
    expect(await verifyPassword('', unmatchableHash(1024))).toBe(false);
    expect(await verifyPassword('violet-harbor-42', unmatchableHash(1024))).toBe(false);
  });
});

describe('password rules', () => {
  it('accepts a long uncommon password', () => {
    expect(passwordProblems('violet-harbor-42')).toEqual([]);
  });

  it('refuses passwords shorter than 8 or longer than 128 characters', () => {
    expect(passwordProblems('a7$kq2z')).toEqual(['This password is too short. It must contain at least 8 characters.']);
    expect(passwordProblems('x'.repeat(129))).toEqual(['Ensure this field has no more than 128 characters.']);
    expect(passwordProblems('x9'.repeat(64))).toEqual([]);
  });

  it('refuses common passwords whatever their case', () => {
    for (const p of ['password', 'PassWord123', 'QWERTYUIOP', 'iloveyou', '12345678']) {
      expect(passwordProblems(p)).toContain('This password is too common.');
    }
  });

  it('refuses the email as the password, compared case-insensitively', () => {
    expect(passwordIsEmail('Ada@Example.com', 'ada@example.com')).toBe(true);
    expect(passwordIsEmail('ada@example.org', 'ada@example.com')).toBe(false);
  });
});
