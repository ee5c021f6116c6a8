// The baselines of ARCHITECTURE.md: one Koa process that verifies an RS256 access token and
//  - GET /tasks/{id}: reads one row by primary key from PostgreSQL, answering JSON (the single-row baseline);
//  - GET /pages/tasks?project=&limit=: has PostgreSQL build a page of a project's tasks as JSON text
//    (`json_agg` over the newest `limit` rows), passed through as a string, never parsed (the page
//    ceiling of issue 11: the best one process can do for a list).
// No gateway hop, no membership check, no validation library, no logging: what a request costs at the
// least. bench/http.ts runs it beside the services, in the same run, with the same tokens.
//   node --import tsx bench/baseline.ts
//   env: DATABASE_URL (required: the database the services use), JWKS_URL (default identity's),
//        PORT (default 0: any free port), JWT_ISSUER, JWT_AUDIENCE, POOL_MAX (default 10, as the services)
// Prints one JSON line `{"listening": <port>}` on stdout when it answers; SIGTERM closes it.
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import Koa from 'koa';
import pg from 'pg';

const DATABASE_URL = process.env.DATABASE_URL;
const JWKS_URL = process.env.JWKS_URL ?? 'http://127.0.0.1:4001/api/v1/auth/jwks/';
const PORT = Number(process.env.PORT ?? 0);
const ISSUER = process.env.JWT_ISSUER ?? 'taskflow-identity';
const AUDIENCE = process.env.JWT_AUDIENCE ?? 'taskflow-api';
const POOL_MAX = Number(process.env.POOL_MAX ?? 10);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TASK_PATH = /^\/tasks\/([^/]+)\/?$/;
const PAGE_PATH = /^\/pages\/tasks\/?$/;
/** The page ceiling: the database writes the page; the process only relays its text (read through the project index, which leads with the organization). */
const PAGE_SQL = `select coalesce(json_agg(t), '[]')::text as results
                    from (select * from work.tasks
                           where organization_id = (select organization_id from work.projects where id = $1) and project_id = $1
                           order by created_at desc, id desc limit $2) t`;

/** The signing keys, fetched once at start and turned into KeyObjects once (never a PEM per call). */
async function loadKeys(url: string): Promise<Map<string, KeyObject>> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`JWKS ${url} answered ${res.status}`);
  const { keys = [] } = (await res.json()) as { keys?: (JsonWebKey & { kid?: string })[] };
  const map = new Map<string, KeyObject>();
  for (const jwk of keys) if (jwk.kid && jwk.kty === 'RSA') map.set(jwk.kid, createPublicKey({ key: jwk, format: 'jwk' }));
  if (!map.size) throw new Error(`JWKS ${url} has no RSA key with a kid`);
  return map;
}

function problem(ctx: Koa.Context, status: number, code: string): void {
  ctx.status = status;
  ctx.type = 'application/problem+json';
  ctx.body = { status, code };
}

async function main(): Promise<void> {
  if (!DATABASE_URL) throw new Error('DATABASE_URL is required');
  const keys = await loadKeys(JWKS_URL);
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: POOL_MAX });
  await pool.query('select 1');

  const app = new Koa();
  app.use(async (ctx) => {
    const match = ctx.method === 'GET' ? TASK_PATH.exec(ctx.path) : null;
    const page = ctx.method === 'GET' && PAGE_PATH.test(ctx.path);
    if (!match && !page) return problem(ctx, 404, 'not_found');
    const token = /^Bearer +([A-Za-z0-9._~+/=-]+)$/i.exec(ctx.get('authorization'))?.[1];
    if (!token) return problem(ctx, 401, 'not_authenticated');
    let claims: jwt.JwtPayload;
    try {
      const kid = jwt.decode(token, { complete: true })?.header.kid;
      const key = kid ? keys.get(kid) : undefined;
      if (!key) return problem(ctx, 401, 'token_not_valid');
      claims = jwt.verify(token, key, { algorithms: ['RS256'], issuer: ISSUER, audience: AUDIENCE }) as jwt.JwtPayload;
    } catch {
      return problem(ctx, 401, 'token_not_valid');
    }
    if (typeof claims.sub !== 'string') return problem(ctx, 401, 'token_not_valid');
    if (page) {
      const project = String(ctx.query.project ?? '');
      const limit = Math.min(200, Math.max(1, Number(ctx.query.limit ?? 50) || 50));
      if (!UUID.test(project)) return problem(ctx, 404, 'not_found');
      const { rows } = await pool.query({ name: 'page', text: PAGE_SQL, values: [project, limit] });
      ctx.type = 'application/json';
      ctx.body = `{"results":${rows[0].results as string},"next":null}`;
      return;
    }
    const id = match![1]!;
    if (!UUID.test(id)) return problem(ctx, 404, 'not_found');
    const { rows } = await pool.query('select * from work.tasks where id = $1', [id]);
    if (!rows.length) return problem(ctx, 404, 'not_found');
    ctx.body = rows[0];
  });

  const server = app.listen(PORT, '127.0.0.1');
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  server.keepAliveTimeout = 65_000;
  process.stdout.write(`${JSON.stringify({ listening: (server.address() as AddressInfo).port })}\n`);

  const stop = () => {
    server.close(() => void pool.end().finally(() => process.exit(0)));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err) => {
  process.stderr.write(`baseline: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
