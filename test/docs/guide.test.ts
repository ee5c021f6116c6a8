// The guide in docs/ is the contract's home inside the repository: it must name every operation the
// gateway serves (the committed OpenAPI document equals the served one, see client.e2e) and link the
// live reference.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { auditConfigSchema } from '../../services/audit/src/config';
import { gatewayConfigSchema } from '../../services/gateway/src/config';
import { identityConfigSchema } from '../../services/identity/src/config';
import { tenancyConfigSchema } from '../../services/tenancy/src/config';
import { workConfigSchema } from '../../services/work/src/config';

const root = path.resolve(__dirname, '../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface Operation {
  method: string;
  path: string;
}

function operations(): Operation[] {
  const document = JSON.parse(read('clients/typescript/openapi.json')) as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(document.paths).flatMap(([p, ops]) => Object.keys(ops).map((method) => ({ method: method.toUpperCase(), path: p })));
}

/** `GET /api/v1/tasks/{id}/` written in the guide, followed by the end of the code span, a query or a space. */
const mentions = (guide: string, op: Operation) => new RegExp(`${op.method} ${escape(op.path)}(?=[\`?\\s])`).test(guide);

describe('docs/', () => {
  const guide = read('docs/api.md');

  it('mentions every operation of the OpenAPI document in the API guide', () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThan(30);
    expect(ops.filter((op) => !mentions(guide, op)).map((op) => `${op.method} ${op.path}`)).toEqual([]);
  });

  it('notices an operation the guide does not mention', () => {
    expect(mentions(guide, { method: 'GET', path: '/api/v1/organizations/' })).toBe(true);
    expect(mentions('`GET /api/v1/organizations/{id}/`', { method: 'GET', path: '/api/v1/organizations/' })).toBe(false);
  });

  it('links the live reference from the guide, the architecture and the README', () => {
    for (const file of ['docs/api.md', 'docs/architecture.md', 'README.md']) expect([file, read(file).includes('/api/docs')]).toEqual([file, true]);
  });

  it('is what the README sends readers to, not files outside the repository', () => {
    const readme = read('README.md');
    expect(readme).toContain('docs/api.md');
    expect(readme).toContain('docs/architecture.md');
    expect(readme).not.toMatch(/\.\.\/shared\//);
  });
});

describe("README's configuration table", () => {
  /** Every variable a service's configuration schema reads: the services refuse to start on a bad one. */
  const schemas = {
    gateway: gatewayConfigSchema,
    identity: identityConfigSchema,
    tenancy: tenancyConfigSchema,
    work: workConfigSchema,
    audit: auditConfigSchema,
  };
  /** Read outside the schemas: the launcher (`npm start`) and the test harness. */
  const launcherAndTests = ['PORT_BASE', 'GATEWAY_PORT', 'LOG_PRETTY', 'TEST_DATABASE_URL', 'TEST_AMQP_URL', 'TEST_RABBITMQ_MANAGEMENT_URL'];
  const table = read('README.md').slice(read('README.md').indexOf('## Configuration'));

  it('names every variable a service or the launcher reads', () => {
    const variables = new Set([...Object.values(schemas).flatMap((schema) => Object.keys(schema.shape)), ...launcherAndTests]);
    expect(variables.size).toBeGreaterThan(30);
    expect([...variables].filter((name) => !table.includes(`\`${name}\``)).sort()).toEqual([]);
  });
});
