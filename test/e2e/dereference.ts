// The OpenAPI document with every local `$ref` replaced by what it points at, so that suites generated from
// it read each operation's parameters, bodies and responses whole, wherever the document shares them.

/** Follows `#/a/b` in `root`; siblings of the `$ref` (a `description` override) win over the target's. */
export function dereference<T>(value: T, root: unknown = value, seen: string[] = []): T {
  if (Array.isArray(value)) return value.map((v) => dereference(v, root, seen)) as T;
  if (!value || typeof value !== 'object') return value;
  const { $ref, ...siblings } = value as Record<string, unknown>;
  if (typeof $ref === 'string' && $ref.startsWith('#/')) {
    if (seen.includes($ref)) throw new Error(`cyclic $ref ${$ref}`);
    const target = $ref
      .slice(2)
      .split('/')
      .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], root);
    if (target === undefined) throw new Error(`unresolved $ref ${$ref}`);
    return { ...(dereference(target, root, [...seen, $ref]) as object), ...dereference(siblings, root, seen) } as T;
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, dereference(v, root, seen)])) as T;
}
