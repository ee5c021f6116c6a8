import { canonicalEmail } from '../src/email';

describe('canonicalEmail', () => {
  it('trims and lower-cases ASCII', () => {
    expect(canonicalEmail('  Ada@Example.COM ')).toBe('ada@example.com');
  });

  it('lower-cases non-ASCII letters the same way for every caller', () => {
    expect(canonicalEmail('ÄDA@EXAMPLE.COM')).toBe('äda@example.com');
    expect(canonicalEmail('\u0130nes@example.com')).toBe(canonicalEmail('i\u0307nes@example.com'));
  });

  it('treats composed and decomposed spellings as one address', () => {
    expect(canonicalEmail('Ade\u0301le@example.com')).toBe(canonicalEmail('ad\u00e9le@example.com'));
  });
});
