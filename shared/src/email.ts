// One canonical form of an email address, used wherever two addresses are compared or counted: the
// gateway's login limiter, identity's account lookups, tenancy's invites. JavaScript computes it, never
// PostgreSQL's lower(): the two disagree outside ASCII (`İ`, and any letter under a C collation).

/** Trimmed, NFC-normalised and lower-cased with Unicode rules: equal forms mean the same account. */
export function canonicalEmail(email: string): string {
  return email.trim().normalize('NFC').toLowerCase();
}
