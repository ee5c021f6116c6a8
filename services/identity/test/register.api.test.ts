import { request } from '@taskflow/shared/testing';
import { type IdentityUnderTest, PASSWORD, registration, startIdentityUnderTest, uniqueEmail } from './support';

const REGISTER = '/api/v1/auth/register';

describe('POST /api/v1/auth/register', () => {
  let identity: IdentityUnderTest;
  beforeAll(async () => {
    identity = await startIdentityUnderTest();
  });
  afterAll(() => identity.close());

  const register = (body: unknown, path = REGISTER) => request(identity.url, 'POST', path, { body });

  it('creates the user and answers 201 with it, storing a scrypt hash instead of the password', async () => {
    const body = registration({ first_name: 'Grace', last_name: 'Hopper' });
    const res = await register(body);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      email: body.email,
      first_name: 'Grace',
      last_name: 'Hopper',
      date_joined: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
      email_verified: false,
    });
    const row = await identity.db('identity.users').where({ id: res.body.id }).first();
    expect(row.email).toBe(body.email);
    expect(row.password_hash).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(row.password_hash).not.toContain(PASSWORD);
  });

  it('works with the trailing slash too', async () => {
    expect((await register(registration(), `${REGISTER}/`)).status).toBe(201);
  });

  it('trims the email and the names', async () => {
    const email = uniqueEmail('trimmed');
    const res = await register(registration({ email: `  ${email}\t`, first_name: ' Ada ', last_name: '\nLovelace ' }));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ email, first_name: 'Ada', last_name: 'Lovelace' });
  });

  it('refuses an email already registered in another case with a validation error on email', async () => {
    const email = uniqueEmail('dup');
    expect((await register(registration({ email }))).status).toBe(201);
    const res = await register(registration({ email: `  ${email.toUpperCase()} ` }));
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 400, code: 'validation_error', errors: { email: ['A user with this email already exists.'] } });
  });

  it('creates exactly one account when the same email is registered concurrently in different cases', async () => {
    const email = uniqueEmail('race');
    const variants = [email, email.toUpperCase(), ` ${email}`, email.replace(/^r/, 'R'), email, email.toUpperCase()];
    const results = await Promise.all(variants.map((e) => register(registration({ email: e }))));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    for (const loser of results.filter((r) => r.status !== 201)) {
      expect(loser.status).toBe(400);
      expect(loser.body.errors).toEqual({ email: ['A user with this email already exists.'] });
    }
    const [{ count }] = await identity.db('identity.users').whereRaw('lower(email) = ?', [email]).count<{ count: string }[]>({ count: '*' });
    expect(Number(count)).toBe(1);
  });

  it.each([
    ['a common password', 'password123', 'This password is too common.'],
    ['a common password in another case', 'QwErTy123', 'This password is too common.'],
    ['a password shorter than 8 characters', 'v1olet!', 'This password is too short. It must contain at least 8 characters.'],
    ['a password longer than 128 characters', 'v1olet!'.repeat(19), 'Ensure this field has no more than 128 characters.'],
  ])('refuses %s', async (_, password, message) => {
    const res = await register(registration({ password }));
    expect(res.status).toBe(400);
    expect(res.body.errors.password).toContain(message);
  });

  it('accepts a password of exactly 8 and of exactly 128 characters', async () => {
    expect((await register(registration({ password: 'v1olet!x' }))).status).toBe(201);
    expect((await register(registration({ password: 'v1olet!x'.repeat(16) }))).status).toBe(201);
  });

  it('refuses the email as the password, whatever its case', async () => {
    const email = uniqueEmail('same');
    const res = await register(registration({ email, password: email.toUpperCase() }));
    expect(res.status).toBe(400);
    expect(res.body.errors.password).toEqual(['The password is too similar to the email.']);
  });

  it('lists every missing field', async () => {
    const res = await register({});
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual({
      email: ['This field is required.'],
      password: ['This field is required.'],
      first_name: ['This field is required.'],
      last_name: ['This field is required.'],
    });
  });

  it('refuses an invalid email, an email over 254 characters, and blank or over-long names', async () => {
    const res = await register(registration({ email: 'not-an-email', first_name: '   ', last_name: 'L'.repeat(51) }));
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual({
      email: ['Enter a valid email address.'],
      first_name: ['This field may not be blank.'],
      last_name: ['Ensure this field has no more than 50 characters.'],
    });
    const long = await register(registration({ email: `${'a'.repeat(64)}@${'b'.repeat(180)}.example.com` }));
    expect(long.status).toBe(400);
    expect(long.body.errors.email).toContain('Ensure this field has no more than 254 characters.');
  });

  it('refuses names with control characters such as NUL, which PostgreSQL cannot store', async () => {
    const res = await register(registration({ first_name: 'A\u0000da', last_name: 'Love\u0007lace' }));
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual({
      first_name: ['This field may not contain control characters.'],
      last_name: ['This field may not contain control characters.'],
    });
  });

  it('accepts names of exactly 50 characters', async () => {
    const res = await register(registration({ first_name: 'F'.repeat(50), last_name: 'É'.repeat(50) }));
    expect(res.status).toBe(201);
    expect(res.body.last_name).toBe('É'.repeat(50));
  });
});
