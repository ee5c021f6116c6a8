import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const root = path.resolve(__dirname, '../..');
const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8')) as {
  name?: string;
  services: Record<string, { build?: { args?: { SERVICE?: string } }; ports?: string[]; volumes?: string[]; healthcheck?: unknown; depends_on?: Record<string, { condition: string }>; environment?: Record<string, string> }>;
};
const appServices = readdirSync(path.join(root, 'services')).filter((d) => existsSync(path.join(root, 'services', d, 'package.json')));

/** The service's composition source, where a mailer would be wired. */
function readMailWiring(name: string): string {
  const dir = path.join(root, 'services', name, 'src');
  return readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(path.join(dir, f), 'utf8')).join('\n');
}

describe('docker-compose.yml', () => {
  it('runs every service of the repository, built from it, with a health check and healthy dependencies', () => {
    expect(appServices.sort()).toEqual(['audit', 'gateway', 'identity', 'tenancy', 'webhooks', 'work']);
    for (const name of appServices) {
      const service = compose.services[name];
      expect(service?.build?.args?.SERVICE).toBe(name);
      expect(service?.healthcheck).toBeDefined();
      const deps = Object.entries(service?.depends_on ?? {});
      expect(deps.length).toBeGreaterThan(0);
      for (const [, dep] of deps) expect(dep.condition).toBe('service_healthy');
    }
    expect(Object.keys(compose.services.gateway!.depends_on!).sort()).toEqual(['audit', 'identity', 'tenancy', 'webhooks', 'work']);
    for (const infra of ['postgres', 'rabbitmq', 'redis']) expect(compose.services[infra]?.healthcheck).toBeDefined();
  });

  it('gives the gateway the redis service for its shared rate limits, and no other service', () => {
    expect(compose.services.gateway!.environment?.REDIS_URL).toBe('redis://redis:6379');
    for (const name of appServices.filter((n) => n !== 'gateway')) expect(compose.services[name]!.environment?.REDIS_URL).toBeUndefined();
  });

  it('builds images whose services listen beyond the loopback of their container', () => {
    // Services default to HOST=127.0.0.1; in a container the others could not reach them.
    expect(readFileSync(path.join(root, 'Dockerfile'), 'utf8')).toMatch(/^\s*HOST=0\.0\.0\.0/m);
  });

  it('builds the workspace once for every image: nothing before the runtime stage depends on the service', () => {
    const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    const buildStage = dockerfile.slice(dockerfile.indexOf(' AS build'), dockerfile.indexOf(' AS runtime'));
    expect(buildStage).toMatch(/npm ci/);
    expect(buildStage).toMatch(/npm run build/);
    expect(buildStage).not.toMatch(/SERVICE/);
  });

  it("writes development mail where the container's user may, mapped to the host's .dev-mail/", () => {
    const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^ENV MAIL_OUTBOX_DIR=\/dev-mail$/m);
    expect(dockerfile).toMatch(/chown node:node \/dev-mail/);
    const mailers = appServices.filter((name) => /createMailer|Mailer\(/.test(readMailWiring(name)));
    expect(mailers.length).toBeGreaterThanOrEqual(2);
    for (const name of mailers) expect(compose.services[name]?.volumes).toContain('./.dev-mail:/dev-mail');
  });

  it('publishes only the gateway on the host', () => {
    const published = Object.entries(compose.services).filter(([, s]) => (s.ports ?? []).length > 0).map(([n]) => n);
    expect(published).toEqual(['gateway']);
  });

  it('has no top-level name (Debian compose v1 validates it offline) and passes its validation when available', () => {
    expect(compose.name).toBeUndefined();
    const hasCompose = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;
    // .ci/run installs docker-compose; on a machine without it the structural checks above still run.
    if (hasCompose) execFileSync('docker-compose', ['-f', path.join(root, 'docker-compose.yml'), 'config', '-q'], { stdio: 'pipe' });
  });
});
