import { mergeOpenApi, OpenApiAggregator } from '../src/openapi';

describe('OpenApiAggregator', () => {
  it('reuses a complete document for its ttl, an incomplete one only briefly, and builds once for concurrent callers', async () => {
    let now = 0;
    let fetches = 0;
    let workUp = false;
    const aggregator = new OpenApiAggregator(
      [
        { name: 'tenancy', fetch: async () => (fetches++, { paths: { '/api/v1/organizations/': { get: {} } }, components: { schemas: { Org: {} } } }) },
        {
          name: 'work',
          fetch: async () => {
            if (!workUp) throw new Error('down');
            return { paths: { '/api/v1/tasks/': { get: {} } }, components: { schemas: { Task: {} } } };
          },
        },
      ],
      { ttlMs: 30_000, incompleteTtlMs: 5_000, now: () => now },
    );
    const [a, b] = await Promise.all([aggregator.document(), aggregator.document()]);
    expect(a).toBe(b);
    expect(fetches).toBe(1);
    expect(a['x-missing-services']).toEqual(['work']);

    workUp = true;
    now = 4_000;
    expect(await aggregator.document()).toBe(a);
    now = 5_001;
    const full = await aggregator.document();
    expect(full['x-missing-services']).toEqual([]);
    expect(Object.keys(full.paths as object)).toEqual(['/api/v1/organizations/', '/api/v1/tasks/']);
    expect(Object.keys((full.components as { schemas: object }).schemas)).toEqual(['Org', 'Task']);

    workUp = false;
    now = 30_000;
    expect(await aggregator.document()).toBe(full);
    expect(fetches).toBe(2);
  });
});

describe('mergeOpenApi', () => {
  const problem = { type: 'object', properties: { code: { type: 'string' } } };
  const part = (name: string, schemas: Record<string, unknown>) => ({ name, document: { paths: {}, components: { schemas } } });

  it('keeps a component every service defines alike once, and reports none as conflicting', () => {
    const merged = mergeOpenApi([part('work', { Problem: problem, Task: { type: 'object' } }), part('tenancy', { Problem: { ...problem } })], []);
    expect(merged.components).toEqual({ schemas: { Problem: problem, Task: { type: 'object' } } });
    expect(merged['x-component-conflicts']).toEqual([]);
  });

  it('names a component two services define differently, keeping the first definition', () => {
    const merged = mergeOpenApi([part('work', { Member: { type: 'object' } }), part('tenancy', { Member: { type: 'string' } })], []);
    expect((merged.components as { schemas: Record<string, unknown> }).schemas.Member).toEqual({ type: 'object' });
    expect(merged['x-component-conflicts']).toEqual(['schemas/Member: work, tenancy']);
  });

  it('lists the tags with signing in first, whatever order the paths sort in', () => {
    const op = (tag: string) => ({ get: { tags: [tag] } });
    const merged = mergeOpenApi(
      [
        { name: 'audit', document: { paths: { '/api/v1/activity/': op('activity'), '/api/v1/zz/': op('extra') } } },
        { name: 'work', document: { paths: { '/api/v1/tasks/': op('tasks') } } },
        { name: 'identity', document: { paths: { '/api/v1/auth/login': op('auth') }, tags: [{ name: 'auth', description: 'Sign in' }] } },
      ],
      [],
    );
    expect(merged.tags).toEqual([{ name: 'auth', description: 'Sign in' }, { name: 'tasks' }, { name: 'activity' }, { name: 'extra' }]);
  });
});
