// Renders a kustomization without kubectl: the subset of kustomize that deploy/kubernetes uses
// (resources, components, namespace, images, configMapGenerator with hash suffixes and merge,
// strategic-merge patches with an optional kind/name target). Anything else is refused, so the
// renderer never silently differs from `kubectl kustomize`; kubernetes.test.ts compares the two
// whenever kubectl is installed.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface ConfigMapArgs {
  name: string;
  behavior?: 'create' | 'merge' | 'replace';
  literals?: string[];
}

interface Patch {
  path?: string;
  patch?: string;
  target?: { kind?: string; name?: string };
}

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  resources?: string[];
  components?: string[];
  images?: Array<{ name: string; newName?: string; newTag?: string }>;
  configMapGenerator?: ConfigMapArgs[];
  patches?: Patch[];
}

const SUPPORTED = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'components', 'images', 'configMapGenerator', 'patches']);
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PriorityClass', 'StorageClass']);

/** Generated ConfigMaps keep their base name here until the end, when the hash suffix is added. */
interface Accumulated {
  objects: K8sObject[];
  generated: Set<K8sObject>;
}

export function readYamlDocuments(file: string): K8sObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0].message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

function readKustomization(dir: string): Kustomization {
  const file = path.join(dir, 'kustomization.yaml');
  if (!existsSync(file)) throw new Error(`${dir}: no kustomization.yaml`);
  const k = readYamlDocuments(file)[0] as unknown as Kustomization;
  for (const field of Object.keys(k)) if (!SUPPORTED.has(field)) throw new Error(`${file}: field "${field}" is not supported by this renderer`);
  return k;
}

const idOf = (o: { apiVersion?: string; kind?: string; metadata?: { name?: string } }) => `${o.kind}/${o.metadata?.name}`;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The key that identifies items of a list in a strategic merge, by the list's field name. */
function mergeKeyOf(field: string, items: Json[]): string | undefined {
  if (['containers', 'initContainers', 'volumes', 'env', 'imagePullSecrets'].includes(field)) return 'name';
  if (field === 'volumeMounts') return 'mountPath';
  if (field === 'ports') return items.some((i) => isObject(i) && 'containerPort' in i) ? 'containerPort' : 'port';
  return undefined;
}

/**
 * Strategic merge as kustomize applies it: maps merge, `null` deletes a key, lists with a merge key
 * merge item by item (the patch's items first, in its order, then the target's others; an item with
 * `$patch: delete` is removed), every other list is replaced.
 */
export function strategicMerge(target: Json, patch: Json, field = ''): Json {
  if (Array.isArray(patch) && Array.isArray(target)) {
    const key = mergeKeyOf(field, [...target, ...patch]);
    if (!key) return patch;
    const byKey = new Map(target.filter(isObject).map((item) => [String(item[key]), item]));
    const merged: Json[] = [];
    const seen = new Set<string>();
    for (const item of patch) {
      if (!isObject(item)) throw new Error(`list ${field}: item without ${key}`);
      const id = String(item[key]);
      seen.add(id);
      if (item.$patch === 'delete') continue;
      const existing = byKey.get(id);
      merged.push(existing ? strategicMerge(existing, item) : stripDirectives(item));
    }
    for (const item of target) if (!isObject(item) || !seen.has(String(item[key]))) merged.push(item);
    return merged;
  }
  if (isObject(patch) && isObject(target)) {
    const out: JsonObject = { ...target };
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete out[k];
      else out[k] = k in target ? strategicMerge(target[k], v, k) : stripDirectives(v);
    }
    return out;
  }
  return stripDirectives(patch);
}

function stripDirectives(value: Json): Json {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isObject(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([k, v]) => !k.startsWith('$patch') && v !== null).map(([k, v]) => [k, stripDirectives(v)]));
}

function configMapOf(args: ConfigMapArgs, data: Record<string, string>): K8sObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: args.name }, data };
}

function literalsOf(args: ConfigMapArgs): Record<string, string> {
  return Object.fromEntries(
    (args.literals ?? []).map((line) => {
      const at = line.indexOf('=');
      if (at < 1) throw new Error(`configMapGenerator ${args.name}: literal "${line}" is not KEY=value`);
      return [line.slice(0, at), line.slice(at + 1)];
    }),
  );
}

function applyImages(objects: K8sObject[], images: NonNullable<Kustomization['images']>): void {
  for (const o of objects) {
    const pod = podSpecOf(o);
    for (const c of [...((pod?.containers as JsonObject[]) ?? []), ...((pod?.initContainers as JsonObject[]) ?? [])]) {
      const image = String(c.image);
      const name = image.replace(/[:@].*$/, '');
      const rule = images.find((i) => i.name === name);
      if (!rule) continue;
      const tag = image.includes(':') ? image.slice(image.indexOf(':')) : '';
      c.image = `${rule.newName ?? name}${rule.newTag !== undefined ? `:${rule.newTag}` : tag}`;
    }
  }
}

/** The pod spec inside a workload (Deployment, StatefulSet, DaemonSet, Job), if any. */
export function podSpecOf(o: K8sObject): JsonObject | undefined {
  const spec = o.spec as JsonObject | undefined;
  const template = spec?.template as JsonObject | undefined;
  return template?.spec as JsonObject | undefined;
}

function applyPatch(acc: Accumulated, dir: string, p: Patch): void {
  const text = p.path ? readFileSync(path.join(dir, p.path), 'utf8') : p.patch;
  if (!text) throw new Error(`${dir}: a patch needs path or patch`);
  const docs = parseAllDocuments(text).map((d) => d.toJS() as K8sObject);
  if (docs.length !== 1) throw new Error(`${dir}: a patch file holds exactly one object`);
  const patch = docs[0];
  if (Array.isArray(patch)) throw new Error(`${dir}/${p.path}: JSON 6902 patches are not supported by this renderer`);
  const matches = acc.objects.filter((o) =>
    p.target
      ? (!p.target.kind || o.kind === p.target.kind) && (!p.target.name || new RegExp(`^${p.target.name}$`).test(o.metadata.name))
      : o.kind === patch.kind && o.metadata.name === patch.metadata.name,
  );
  if (matches.length === 0) throw new Error(`${dir}: patch ${p.path ?? ''} matches no object`);
  for (const o of matches) {
    const body = { ...(patch as unknown as JsonObject) };
    // With a target, the patch's own name and kind do not matter.
    const merged = strategicMerge(o as unknown as Json, p.target ? { ...body, metadata: { ...(body.metadata as JsonObject), name: o.metadata.name }, kind: o.kind, apiVersion: o.apiVersion } : body) as unknown as K8sObject;
    acc.objects[acc.objects.indexOf(o)] = merged;
    if (acc.generated.has(o)) {
      acc.generated.delete(o);
      acc.generated.add(merged);
    }
  }
}

function build(dir: string, acc: Accumulated, expectComponent: boolean): void {
  const k = readKustomization(dir);
  const isComponent = k.kind === 'Component';
  if (isComponent !== expectComponent) throw new Error(`${dir}: expected a ${expectComponent ? 'Component' : 'Kustomization'}`);
  // A kustomization's own resources are built on their own; a component works on what it is given.
  const own: Accumulated = isComponent ? acc : { objects: [], generated: new Set() };
  for (const r of k.resources ?? []) {
    const p = path.join(dir, r);
    if (statSync(p).isDirectory()) build(p, own, false);
    else own.objects.push(...readYamlDocuments(p));
  }
  for (const args of k.configMapGenerator ?? []) {
    const behavior = args.behavior ?? 'create';
    const existing = own.objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === args.name && own.generated.has(o));
    if (behavior === 'create') {
      if (existing) throw new Error(`${dir}: ConfigMap ${args.name} is generated twice`);
      const cm = configMapOf(args, literalsOf(args));
      own.objects.push(cm);
      own.generated.add(cm);
    } else {
      if (!existing) throw new Error(`${dir}: ConfigMap ${args.name} to ${behavior} does not exist`);
      existing.data = behavior === 'merge' ? { ...(existing.data as Record<string, string>), ...literalsOf(args) } : literalsOf(args);
    }
  }
  for (const c of k.components ?? []) build(path.join(dir, c), own, true);
  for (const p of k.patches ?? []) applyPatch(own, dir, p);
  if (k.images) applyImages(own.objects, k.images);
  if (k.namespace) for (const o of own.objects) if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
  if (!isComponent) {
    for (const o of own.objects) {
      if (acc.objects.some((a) => idOf(a) === idOf(o))) throw new Error(`${dir}: ${idOf(o)} is defined twice`);
      acc.objects.push(o);
    }
    for (const g of own.generated) acc.generated.add(g);
  }
}

/** kustomize's own hash is an implementation detail; any content hash rolls the pods the same way. */
function contentHash(o: K8sObject): string {
  const digest = createHash('sha256').update(JSON.stringify({ kind: o.kind, name: o.metadata.name, data: o.data })).digest('hex');
  return digest.slice(0, 10).replace(/[aeiou013]/g, (c) => 'bcdfghkm'['aeiou013'.indexOf(c)]);
}

/** Adds the hash suffix to generated ConfigMaps and rewrites every reference to them. */
function suffixGenerated(acc: Accumulated): void {
  const renamed = new Map<string, string>();
  for (const cm of acc.generated) {
    const name = `${cm.metadata.name}-${contentHash(cm)}`;
    renamed.set(cm.metadata.name, name);
    cm.metadata.name = name;
  }
  const rename = (ref: JsonObject | undefined) => {
    if (ref && typeof ref.name === 'string' && renamed.has(ref.name)) ref.name = renamed.get(ref.name)!;
  };
  for (const o of acc.objects) {
    const pod = podSpecOf(o);
    if (!pod) continue;
    for (const c of [...((pod.containers as JsonObject[]) ?? []), ...((pod.initContainers as JsonObject[]) ?? [])]) {
      for (const from of (c.envFrom as JsonObject[]) ?? []) rename(from.configMapRef as JsonObject | undefined);
      for (const e of (c.env as JsonObject[]) ?? []) rename((e.valueFrom as JsonObject | undefined)?.configMapKeyRef as JsonObject | undefined);
    }
    for (const v of (pod.volumes as JsonObject[]) ?? []) rename(v.configMap as JsonObject | undefined);
  }
}

/** Renders the kustomization in `dir` as `kubectl kustomize` would (up to the hash suffixes' values). */
export function renderKustomization(dir: string): K8sObject[] {
  const acc: Accumulated = { objects: [], generated: new Set() };
  build(path.resolve(dir), acc, false);
  suffixGenerated(acc);
  return JSON.parse(JSON.stringify(acc.objects)) as K8sObject[];
}

/**
 * The version of the kustomize built into kubectl, or undefined without kubectl. Kubectl before 1.21
 * (Debian bookworm ships 1.20) embeds kustomize 2, which knows neither components nor targeted patches.
 */
export function kubectlKustomizeMajor(): number | undefined {
  try {
    const out = execFileSync('kubectl', ['version', '--client'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    return Number(/Kustomize Version: v(\d+)/.exec(out)?.[1] ?? 2);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** `kubectl kustomize`'s rendering, or undefined when no kubectl with kustomize 4 or later is installed. */
export function renderWithKubectl(dir: string): K8sObject[] | undefined {
  const major = kubectlKustomizeMajor();
  if (major === undefined || major < 4) return undefined;
  let out: string;
  try {
    out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`kubectl kustomize ${dir} failed: ${(err as { stderr?: string }).stderr ?? String(err)}`);
  }
  return parseAllDocuments(out).map((d) => d.toJS() as K8sObject).filter(Boolean);
}

/** Strips generated-name hash suffixes, so two renderings can be compared whatever hash each used. */
export function withoutHashSuffixes(objects: K8sObject[], generatedNames: string[]): K8sObject[] {
  const pattern = new RegExp(`^(${generatedNames.join('|')})-[a-z0-9]{10}$`);
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'name' && typeof v === 'string' ? v.replace(pattern, '$1') : strip(v)]));
    return value;
  };
  return (strip(objects) as K8sObject[]).sort((a, b) => idOf(a).localeCompare(idOf(b)));
}
