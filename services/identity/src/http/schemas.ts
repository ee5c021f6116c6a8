// Request and response bodies of the auth endpoints: they validate input and document the API.
import { singleLineText } from '@taskflow/shared';
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

// Examples for the OpenAPI document (one account throughout: Ada Lovelace).
const ADA_ID = '3f2b8c1e-6d4a-4b7e-9a1c-2e5f7d8b9c0a';
const REFRESH_TOKEN_EXAMPLE = 'h3ukrWZx5pU5ZrdG9y4jqWJGbc8tmRPw8CSbSZ8e3n8';

// Trimmed, and no name needs a control character (API.md, Values).
const name = singleLineText(text())
  .min(1, 'This field may not be blank.')
  .max(NAME_MAX_LENGTH, tooLong(NAME_MAX_LENGTH));

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
  })
  .meta({ examples: [{ email: 'ada@example.com', password: 'analytical-engine-1843', first_name: 'Ada', last_name: 'Lovelace' }] });

// Login accepts any string (an unknown or malformed email is just wrong credentials); the caps bound the work.
export const loginBody = z.object({
  email: text().trim().min(1, 'This field may not be blank.').max(1024, tooLong(1024)),
  password: text().min(1, 'This field may not be blank.').max(1024, tooLong(1024)),
}).meta({ examples: [{ email: 'ada@example.com', password: 'analytical-engine-1843' }] });

export const passwordResetRequestBody = z
  .object({ email: text().trim().min(1, 'This field may not be blank.').max(1024, tooLong(1024)) })
  .meta({ examples: [{ email: 'ada@example.com' }] });

export const passwordResetBody = z.object({ password: newPassword }).meta({ examples: [{ password: 'difference-engine-1822' }] });

export const accountTokenParams = z.object({
  token: z.string().min(1).max(512).meta({ description: 'The token from the mailed link.' }),
});

export const refreshBody = z.object({
  refresh: text().min(1, 'This field may not be blank.').max(1024, tooLong(1024)),
}).meta({ examples: [{ refresh: REFRESH_TOKEN_EXAMPLE }] });

export const userSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  first_name: z.string(),
  last_name: z.string(),
  date_joined: z.iso.datetime().meta({ description: 'RFC 3339 UTC with Z.' }),
  email_verified: z.boolean().meta({ description: 'Whether the address was confirmed through the mailed link (needed to accept invites).' }),
}).meta({
  id: 'User',
  examples: [{ id: ADA_ID, email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace', date_joined: '2026-03-02T09:15:27.481Z', email_verified: true }],
});

export const tokenPairSchema = z.object({
  access: z.string().meta({ description: 'RS256 JWT; send as `Authorization: Bearer <access>`.' }),
  refresh: z.string().meta({ description: 'Opaque, single use; exchange at /auth/refresh/ for a new pair.' }),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().meta({ description: 'Lifetime of the access token in seconds.' }),
}).meta({
  id: 'TokenPair',
  examples: [
    {
      access:
        'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6Ii1wSzZhTEhERjd1V0dvVGtnVjEwZm1IbGUtRF8zZ2ZPVXNZdnRFWXE1QXcifQ.eyJlbWFpbCI6ImFkYUBleGFtcGxlLmNvbSIsImlhdCI6MTc3MjQ0MzIwMCwiZXhwIjoxNzcyNDQ0MTAwLCJhdWQiOiJ0YXNrZmxvdy1hcGkiLCJpc3MiOiJ0YXNrZmxvdy1pZGVudGl0eSIsInN1YiI6IjNmMmI4YzFlLTZkNGEtNGI3ZS05YTFjLTJlNWY3ZDhiOWMwYSIsImp0aSI6IjViMWU3ZDJhLThjNGYtNGUzYi05ZDZhLTFmMGMyYjNhNGU1ZCJ9.oYc0Ple82awGSVMZxcHYeGq6FWtOq3wQGBD5pLfaou1w_4hin0fcadprYHrH8kDxkkDTfv6hYEa1t3ThD90rVPNG4EjfoGTXJL4KnbAdzNNH_vM4Gxuh75APtoQA_UlkFBckDIUL5oqDOEtodZqF7Rny2F9pIkRslIKaBsAw_slVIKjyw3FqPnKv9Twl2Z8V1B1OuZ5vcrmJDW8TtJFaF4jF9lDyGYhZWlcA9p4973rmMyWSlvVThdETmY_yeleI8jM-0C-V_v0qVRTKgLNMcQeoYP4hn0T0ijuMf5wBULy_pDhgVo2vDahez-VxFg1QXANLeLHMDLDr7hqrLLh4IA',
      refresh: 'Jq8mZ2vX0cK4tR7yB1nW5eH9sD3fL6gP2aU8iO4kE0w',
      token_type: 'Bearer',
      expires_in: 900,
    },
  ],
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
}).meta({
  id: 'Jwks',
  examples: [
    {
      keys: [
        {
          kty: 'RSA',
          n: 'xfk0eqO5X12HmULelkD_Q3rrU_GTcWORbcEpfxLV42wnPO7nT8wWuIosB8OGLxFNNogZtbTNOV5T8Z_rCOr1b320KYtOJuoO5JqZDJXPFFMXZFpfaYwRswSlEWdjiIR7S30f1r264ZOU43Q-xqzZ0plyo44jqwDgrKuBdhtsm5kxVCWmw__cLv9OQNtgTk-MEUtHP7k--_1YBcHOAkkkHEwXU9rm-gaTQtvMVDFSxXr0KygE7OmbBN1S7LZA6J-dKGtSpZUAniYMy36uXFitqYcam-vx0cUI6aHqaKteVOjWI1RWLqubLZ6SqQ1N8uqgJGxTI1-0qsxBeMX41MtgsQ',
          e: 'AQAB',
          kid: '-pK6aLHDF7uWGoTkgV10fmHle-D_3gfOUsYvtEYq5Aw',
          alg: 'RS256',
          use: 'sig',
        },
      ],
    },
  ],
});
