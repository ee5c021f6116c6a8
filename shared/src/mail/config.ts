// The mail settings of every service that sends mail, read from the environment with the rest of its config.
import { z } from 'zod';

const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value);

export const mailConfigFields = {
  /** e.g. smtp://user:pass@mail.example.com:587; unset (development) writes mail to MAIL_OUTBOX_DIR. */
  SMTP_URL: z.preprocess(emptyAsUndefined, z.url({ protocol: /^smtps?$/ }).optional()),
  MAIL_FROM: z.string().min(3).default('TaskFlow <no-reply@taskflow.local>'),
  /** Development mail; relative to the working directory (`npm start` runs at the repository root). */
  MAIL_OUTBOX_DIR: z.string().min(1).default('.dev-mail'),
};

/** A link template holding `{token}` (a URL mailed to the user). */
export const linkTemplate = (fallback: string) =>
  z
    .string()
    .refine((v) => v.includes('{token}'), { message: 'must contain {token}' })
    .default(fallback);

/** The template with `{token}` replaced by the URL-encoded token. */
export function linkWithToken(template: string, token: string): string {
  return template.replace('{token}', encodeURIComponent(token));
}

/** Text from user input (an organization name) made safe for one line of a plain-text body. */
export const plainTextLine = (value: string) => value.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ');
