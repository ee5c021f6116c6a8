// The OpenAPI document as the gateway serves it, normalised so that generating it twice gives the same file.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function sortKeys(value: Json): Json {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys(value[k]!)]));
  }
  return value;
}

export async function fetchOpenApiDocument(gatewayUrl: string): Promise<Record<string, Json>> {
  const res = await fetch(`${gatewayUrl}/api/v1/openapi.json`);
  if (!res.ok) throw new Error(`openapi.json answered ${res.status}`);
  return sortKeys((await res.json()) as Json) as Record<string, Json>;
}
