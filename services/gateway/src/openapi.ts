// One OpenAPI 3.1 document for the whole API, merged from each service's /openapi.json and cached.
import { isDeepStrictEqual } from 'node:util';

export type OpenApiDocument = Record<string, unknown>;

export interface OpenApiSource {
  name: string;
  fetch: () => Promise<unknown>;
}

export interface OpenApiAggregatorOptions {
  /** How long a document with every service in it is reused. */
  ttlMs?: number;
  /** How long a document missing some service is reused (short, so a recovered service shows up soon). */
  incompleteTtlMs?: number;
  now?: () => number;
}

type Section = Record<string, Record<string, unknown>>;

/**
 * The order the docs page lists the API in: signing in first, then the objects in the order a newcomer
 * meets them. Tags not named here follow in the order their first operation appears.
 */
export const TAG_ORDER: readonly string[] = [
  'auth',
  'organizations',
  'members',
  'invites',
  'projects',
  'tasks',
  'activity',
  'notifications',
  'webhooks',
];

/** Every tag the operations use, as document-level tag objects in `TAG_ORDER` (a source's own tag object wins). */
function orderedTags(paths: Section, declared: Map<string, unknown>): unknown[] {
  const used = new Set<string>();
  for (const operations of Object.values(paths)) {
    for (const operation of Object.values(operations)) {
      if (isRecord(operation) && Array.isArray(operation.tags)) for (const tag of operation.tags) if (typeof tag === 'string') used.add(tag);
    }
  }
  for (const name of declared.keys()) used.add(name);
  const rank = (name: string) => (TAG_ORDER.includes(name) ? TAG_ORDER.indexOf(name) : TAG_ORDER.length);
  return [...used].sort((a, b) => rank(a) - rank(b)).map((name) => declared.get(name) ?? { name });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Adds to `into[key]` the entries of `from` it does not have yet (first one wins, order kept); returns the names `from` defines otherwise. */
function addMissing(into: Section, key: string, from: Record<string, unknown>): string[] {
  const target = (into[key] ??= {});
  const differing: string[] = [];
  for (const [name, value] of Object.entries(from)) {
    if (!(name in target)) target[name] = value;
    else if (!isDeepStrictEqual(target[name], value)) differing.push(name);
  }
  return differing;
}

/**
 * Merges `paths` and `webhooks` (per method), `components` (per section and name) and `tags` (by name); the first source
 * wins a clash. A component two services define differently would make references of the second point at
 * the first's: `x-component-conflicts` names each (`schemas/Task: work, tenancy`), and the end-to-end
 * client test requires it empty.
 */
export function mergeOpenApi(parts: Array<{ name: string; document: OpenApiDocument }>, missing: string[]): OpenApiDocument {
  const paths: Section = {};
  const webhooks: Section = {};
  const components: Section = {};
  const tags = new Map<string, unknown>();
  const definedBy = new Map<string, string>();
  const conflicts: string[] = [];
  for (const { name: service, document } of parts) {
    for (const [path, operations] of Object.entries(isRecord(document.paths) ? document.paths : {})) {
      if (isRecord(operations)) addMissing(paths, path, operations);
    }
    for (const [name, operations] of Object.entries(isRecord(document.webhooks) ? document.webhooks : {})) {
      if (isRecord(operations)) addMissing(webhooks, name, operations);
    }
    for (const [section, entries] of Object.entries(isRecord(document.components) ? document.components : {})) {
      if (!isRecord(entries)) continue;
      for (const name of Object.keys(entries)) if (!definedBy.has(`${section}/${name}`)) definedBy.set(`${section}/${name}`, service);
      for (const name of addMissing(components, section, entries)) conflicts.push(`${section}/${name}: ${definedBy.get(`${section}/${name}`)}, ${service}`);
    }
    for (const tag of Array.isArray(document.tags) ? document.tags : []) {
      if (isRecord(tag) && typeof tag.name === 'string' && !tags.has(tag.name)) tags.set(tag.name, tag);
    }
  }
  const security = parts.map((p) => p.document.security).find(Array.isArray);
  const sortedPaths = Object.fromEntries(Object.keys(paths).sort().map((p) => [p, paths[p]]));
  const allTags = orderedTags(paths, tags);
  const description =
    'Every TaskFlow endpoint, as served through the gateway.' +
    (missing.length > 0 ? ` Not included because they did not answer: ${missing.join(', ')}.` : '');
  return {
    openapi: '3.1.0',
    info: { title: 'TaskFlow API', version: '1.0.0', description },
    ...(allTags.length > 0 ? { tags: allTags } : {}),
    ...(security ? { security } : {}),
    paths: sortedPaths,
    ...(Object.keys(webhooks).length > 0 ? { webhooks: Object.fromEntries(Object.keys(webhooks).sort().map((w) => [w, webhooks[w]])) } : {}),
    components,
    'x-missing-services': missing,
    'x-component-conflicts': conflicts,
  };
}

export class OpenApiAggregator {
  private cached: { document: OpenApiDocument; expiresAt: number } | undefined;
  private building: Promise<OpenApiDocument> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly sources: OpenApiSource[],
    private readonly options: OpenApiAggregatorOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  async document(): Promise<OpenApiDocument> {
    if (this.cached && this.cached.expiresAt > this.now()) return this.cached.document;
    this.building ??= this.build().finally(() => {
      this.building = undefined;
    });
    return this.building;
  }

  private async build(): Promise<OpenApiDocument> {
    const results = await Promise.all(
      this.sources.map(async (source) => {
        try {
          const document = await source.fetch();
          return isRecord(document) && isRecord(document.paths) ? { name: source.name, document } : { name: source.name };
        } catch {
          return { name: source.name };
        }
      }),
    );
    const parts = results.filter((r): r is { name: string; document: OpenApiDocument } => 'document' in r);
    const missing = results.filter((r) => !('document' in r)).map((r) => r.name);
    const document = mergeOpenApi(parts, missing);
    const ttl = missing.length > 0 ? (this.options.incompleteTtlMs ?? 5_000) : (this.options.ttlMs ?? 30_000);
    this.cached = { document, expiresAt: this.now() + ttl };
    return document;
  }
}
