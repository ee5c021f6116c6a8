// Request and response bodies of the auth endpoints: they validate input and document the API.
import { z } from 'zod';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, PASSWORD_SIMILAR_TO_EMAIL, passwordIsEmail, passwordProblems } from '../domain/passwords';

const EMAIL_MAX_LENGTH = 254;
const NAME_MAX_LENGTH = 50;

/** Django REST framework's messages, which the original clients know. */
const typeError = (issue: { code?: string; input?: unknown }): string | undefined => {
  if (issue.code !== 'invalid_type') return undefined;
  if (issue.input === undefined) return 'This field is required.';
  if (issue.input === null) return 'This field may not be null.';
  return 'Not a valid string.';
};

const text = () => z.string({ error: typeError });
const tooLong = (n: number) => `Ensure this field has no more than ${n} characters.`;

const email = text()
  .trim()
  .max(EMAIL_MAX_LENGTH, tooLong(EMAIL_MAX_LENGTH))
  .check(z.email('Enter a valid email address.'));

// PostgreSQL cannot store NUL, and no name needs a control character.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

const name = text()
  .trim()
  .min(1, 'This field may not be blank.')
  .max(NAME_MAX_LENGTH, tooLong(NAME_MAX_LENGTH))
  .refine((value) => !CONTROL_CHARACTERS.test(value), 'This field may not contain control characters.');

// Length and commonness are one domain rule; minLength/maxLength are repeated here for the OpenAPI document.
const newPassword = text()
  .superRefine((value, ctx) => {
    for (const message of passwordProblems(value)) ctx.addIssue({ code: 'custom', message });
  })
  .meta({
    minLength: PASSWORD_MIN_LENGTH,
    maxLength: PASSWORD_MAX_LENGTH,
    description: `${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters, not a common password, not the email.`,
  });

export const registerBody = z
  .object({ email, password: newPassword, first_name: name, last_name: name })
  .superRefine((body, ctx) => {
    if (passwordIsEmail(body.password, body.email)) ctx.addIssue({ code: 'custom', path: ['password'], message: PASSWORD_SIMILAR_TO_EMAIL });
  });

// Login accepts any string (an unknown or malformed email is just wrong credentials); the caps bound the work.
export const loginBody = z.object({
  email: text().trim().min(1, 'This field may not be blank.').max(1024, tooLong(1024)),
  password: text().min(1, 'This field may not be blank.').max(1024, tooLong(1024)),
});

export const refreshBody = z.object({
  refresh: text().min(1, 'This field may not be blank.').max(1024, tooLong(1024)),
});

export const userSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  first_name: z.string(),
  last_name: z.string(),
  date_joined: z.iso.datetime().meta({ description: 'RFC 3339 UTC with Z.' }),
});

export const tokenPairSchema = z.object({
  access: z.string().meta({ description: 'RS256 JWT; send as `Authorization: Bearer <access>`.' }),
  refresh: z.string().meta({ description: 'Opaque, single use; exchange at /auth/refresh/ for a new pair.' }),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().meta({ description: 'Lifetime of the access token in seconds.' }),
});

export const jwksSchema = z.object({
  keys: z.array(
    z.object({
      kty: z.literal('RSA'),
      n: z.string(),
      e: z.string(),
      kid: z.string(),
      alg: z.literal('RS256'),
      use: z.literal('sig'),
    }),
  ),
});
