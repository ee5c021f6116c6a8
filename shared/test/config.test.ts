import { z } from 'zod';
import { baseConfigSchema, ConfigError, loadConfig, port } from '@taskflow/shared';

const schema = baseConfigSchema.extend({
  PORT: port(4000),
  SECRET: z.string().min(8).default('dev-secret-only'),
  LIMIT: z.coerce.number().int().positive().default(5),
});

describe('loadConfig', () => {
  it('applies defaults in development', () => {
    const config = loadConfig(schema, {}, { productionRequired: ['SECRET'] });
    expect(config).toMatchObject({ PORT: 4000, SECRET: 'dev-secret-only', LIMIT: 5, NODE_ENV: 'development' });
  });

  it('lists every invalid variable in one error', () => {
    try {
      loadConfig(schema, { PORT: 'abc', LIMIT: '-1' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems.join('\n');
      expect(problems).toContain('PORT');
      expect(problems).toContain('LIMIT');
    }
  });

  it('refuses development defaults in production', () => {
    expect(() => loadConfig(schema, { NODE_ENV: 'production' }, { productionRequired: ['SECRET'] })).toThrow(/SECRET: must be set explicitly/);
    expect(loadConfig(schema, { NODE_ENV: 'production', SECRET: 'a-real-secret' }, { productionRequired: ['SECRET'] }).SECRET).toBe('a-real-secret');
  });
});
