// deploy/kubernetes: every overlay renders (with kubectl when installed, always with the offline
// renderer), every object is valid against the Kubernetes schemas, and the manifests agree with the
// services' own configuration schemas and calls.
import { generateKeyPairSync } from 'node:crypto';
import path from 'node:path';
import type { IContainer, IPodSpec } from 'kubernetes-models/v1';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type { z } from 'zod';
import { auditConfigSchema, loadAuditConfig } from '../../services/audit/src/config';
import { gatewayConfigSchema, loadGatewayConfig } from '../../services/gateway/src/config';
import { identityConfigSchema, loadIdentityConfig } from '../../services/identity/src/config';
import { loadTenancyConfig, tenancyConfigSchema } from '../../services/tenancy/src/config';
import { loadWorkConfig, workConfigSchema } from '../../services/work/src/config';
import { loadWebhooksConfig, webhooksConfigSchema } from '../../services/webhooks/src/config';
import { ConfigError, SHUTDOWN_TIMEOUT_MS } from '@taskflow/shared';
import { type K8sObject, renderKustomization, renderWithKubectl, withoutHashSuffixes } from './kustomize';
import { type Endpoint, PolicySet } from './network-policy';

const ROOT = path.resolve(__dirname, '../../deploy/kubernetes');
const OVERLAYS = ['development', 'production'] as const;
const GENERATED = ['taskflow-common', 'gateway-config', 'identity-config', 'tenancy-config', 'work-config', 'audit-config', 'webhooks-config'];

const SERVICES = {
  gateway: { schema: gatewayConfigSchema, load: loadGatewayConfig },
  identity: { schema: identityConfigSchema, load: loadIdentityConfig },
  tenancy: { schema: tenancyConfigSchema, load: loadTenancyConfig },
  work: { schema: workConfigSchema, load: loadWorkConfig },
  audit: { schema: auditConfigSchema, load: loadAuditConfig },
  webhooks: { schema: webhooksConfigSchema, load: loadWebhooksConfig },
} satisfies Record<string, { schema: z.ZodObject; load: (env: NodeJS.ProcessEnv) => unknown }>;
type ServiceName = keyof typeof SERVICES;
const serviceNames = Object.keys(SERVICES) as ServiceName[];

/**
 * Variables a manifest sets ahead of the code that reads them (work in flight on other branches).
 * An entry must go as soon as the schema reads the variable: the test below insists.
 */
const PENDING: Partial<Record<ServiceName, string[]>> = {};

/** What a Secret would hold for each variable: any valid value will do, the test checks the keys are wired. */
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const SECRET_SAMPLES: Record<string, string> = {
  DATABASE_URL: 'postgres://svc:secret@db.example.com:5432/taskflow',
  AMQP_URL: 'amqps://svc:secret@mq.example.com:5671',
  JWT_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  JWT_PREVIOUS_PUBLIC_KEY: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  SERVICE_TOKEN: 'a-long-random-service-token-0123456789',
  SMTP_URL: 'smtps://mailer:secret@smtp.example.com:465',
  REDIS_URL: 'rediss://:secret@redis.example.com:6380',
  WEBHOOK_SECRET_KEY: 'a-long-random-webhook-secret-key-0123456789abcdef',
};

const rendered = Object.fromEntries(OVERLAYS.map((o) => [o, renderKustomization(path.join(ROOT, 'overlays', o))])) as Record<(typeof OVERLAYS)[number], K8sObject[]>;

const byKind = <T>(objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind) as unknown as T[];
const deploymentOf = (objects: K8sObject[], name: string) => {
  const d = byKind<IDeployment>(objects, 'Deployment').find((x) => x.metadata?.name === name);
  if (!d) throw new Error(`no Deployment ${name}`);
  return d;
};
const podOf = (d: IDeployment) => d.spec!.template.spec as IPodSpec;
const mainContainer = (d: IDeployment) => podOf(d).containers[0];

/** The environment a container gets: ConfigMap values as rendered, Secret references as sample values. */
function environmentOf(objects: K8sObject[], c: IContainer): { env: Record<string, string>; fromSecret: Map<string, { optional: boolean }> } {
  const env: Record<string, string> = {};
  const fromSecret = new Map<string, { optional: boolean }>();
  for (const from of c.envFrom ?? []) {
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === from.configMapRef?.name);
    if (!cm) throw new Error(`${c.name}: envFrom names a missing ConfigMap ${from.configMapRef?.name ?? from.secretRef?.name}`);
    Object.assign(env, cm.data);
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) {
      fromSecret.set(e.name, { optional: e.valueFrom.secretKeyRef.optional === true });
      if (!(e.name in SECRET_SAMPLES)) throw new Error(`${c.name}: no sample value for the secret ${e.name}`);
      env[e.name] = SECRET_SAMPLES[e.name];
    } else throw new Error(`${c.name}: ${e.name} comes from neither a value nor a Secret`);
  }
  return { env, fromSecret };
}

/** The variables that `load` refuses to leave at their development defaults under NODE_ENV=production. */
function productionRequired(load: (env: NodeJS.ProcessEnv) => unknown): string[] {
  try {
    load({ NODE_ENV: 'production' });
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.filter((p) => p.includes('must be set explicitly in production')).map((p) => p.split(':')[0]);
  }
}

describe.each(OVERLAYS)('overlay %s', (overlay) => {
  const objects = rendered[overlay];

  it('renders the same objects as kubectl kustomize (when kubectl is installed)', () => {
    const fromKubectl = renderWithKubectl(path.join(ROOT, 'overlays', overlay));
    if (fromKubectl === undefined) return; // the offline rendering is checked by everything below
    expect(withoutHashSuffixes(objects, GENERATED)).toEqual(withoutHashSuffixes(fromKubectl, GENERATED));
  });

  it('holds only objects valid against the Kubernetes schemas', () => {
    const problems: string[] = [];
    for (const o of objects) {
      if (o.apiVersion === 'monitoring.coreos.com/v1') {
        if (o.kind !== 'PodMonitor') problems.push(`${o.kind}/${o.metadata.name}: unexpected custom resource`);
        continue;
      }
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const models = require(`kubernetes-models/${o.apiVersion}`) as Record<string, new (data: unknown) => { validate(): void }>;
      const Model = models[o.kind];
      if (!Model) {
        problems.push(`${o.apiVersion} ${o.kind}/${o.metadata.name}: unknown kind`);
        continue;
      }
      try {
        new Model(o).validate();
      } catch (err) {
        problems.push(`${o.kind}/${o.metadata.name}: ${(err as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('contains no Secret: the overlay names them, the cluster holds them', () => {
    expect(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name)).toEqual([]);
  });

  it('puts every namespaced object in the overlay namespace', () => {
    const ns = byKind<K8sObject>(objects, 'Namespace').map((n) => n.metadata.name);
    expect(ns).toHaveLength(1);
    expect(objects.filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== ns[0]).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
  });

  it.each(serviceNames)('gives %s a Deployment, Service, HorizontalPodAutoscaler and PodDisruptionBudget that fit together', (name) => {
    const d = deploymentOf(objects, name);
    const podLabels = d.spec!.template.metadata!.labels!;
    expect(Object.entries(d.spec!.selector.matchLabels!).every(([k, v]) => podLabels[k] === v)).toBe(true);
    expect(d.spec!.replicas).toBeUndefined(); // the HPA owns the count

    const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === name) as unknown as { spec: { selector: Record<string, string>; ports: Array<{ port: number; targetPort: string | number }> } };
    expect(Object.entries(service.spec.selector).every(([k, v]) => podLabels[k] === v)).toBe(true);
    const containerPorts = podOf(d).containers.flatMap((c) => c.ports ?? []);
    for (const p of service.spec.ports) {
      const target = containerPorts.find((cp) => (typeof p.targetPort === 'number' ? cp.containerPort === p.targetPort : cp.name === p.targetPort));
      expect(target?.containerPort).toBe(p.port);
    }

    const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler' && o.metadata.name === name) as unknown as { apiVersion: string; spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number; maxReplicas: number } };
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(1);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);

    const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget' && o.metadata.name === name) as unknown as { spec: { selector: { matchLabels: Record<string, string> }; maxUnavailable?: number } };
    expect(Object.entries(pdb.spec.selector.matchLabels).every(([k, v]) => podLabels[k] === v)).toBe(true);
    expect(pdb.spec.maxUnavailable).toBe(1);
  });

  it.each(serviceNames)('runs %s non-root, read-only, without capabilities, within limits, probed, drained and spread', (name) => {
    const d = deploymentOf(objects, name);
    const pod = podOf(d);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.securityContext!.runAsUser).toBeGreaterThan(0);
    expect(pod.automountServiceAccountToken).toBe(false);
    for (const c of pod.containers) {
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
      for (const r of ['cpu', 'memory']) {
        expect(c.resources?.requests?.[r]).toBeDefined();
        expect(c.resources?.limits?.[r]).toBeDefined();
      }
      expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
      expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
      expect(c.startupProbe?.httpGet).toBeDefined();
      for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
        const port = probe!.httpGet!.port;
        expect(c.ports?.some((p) => p.name === port || p.containerPort === port)).toBe(true);
      }
      // Writable only through emptyDir volumes (at least /tmp).
      const mounts = c.volumeMounts ?? [];
      expect(mounts.map((m) => m.mountPath)).toContain('/tmp');
      for (const m of mounts) expect(pod.volumes?.find((v) => v.name === m.name)?.emptyDir).toBeDefined();
      // preStop pause, then the service's own drain, all within the grace period.
      const command = c.lifecycle?.preStop?.exec?.command ?? [];
      expect(command[0]).toBe('sleep');
      const pauseSeconds = Number(command[1]);
      expect(pauseSeconds).toBeGreaterThan(0);
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(pauseSeconds + SHUTDOWN_TIMEOUT_MS / 1000);
    }
    expect(pod.topologySpreadConstraints?.map((t) => t.topologyKey)).toContain('kubernetes.io/hostname');
    for (const t of pod.topologySpreadConstraints ?? []) expect(Object.entries(t.labelSelector!.matchLabels!).every(([k, v]) => d.spec!.template.metadata!.labels![k] === v)).toBe(true);
  });

  it.each(serviceNames)('sets for %s only variables its configuration schema reads', (name) => {
    const { env } = environmentOf(objects, mainContainer(deploymentOf(objects, name)));
    const reads = new Set(Object.keys(SERVICES[name].schema.shape));
    const pending = PENDING[name] ?? [];
    expect(Object.keys(env).filter((v) => !reads.has(v) && !pending.includes(v))).toEqual([]);
  });

  it.each(serviceNames)('gives %s a configuration its loader accepts, with every production-required variable set', (name) => {
    const { env, fromSecret } = environmentOf(objects, mainContainer(deploymentOf(objects, name)));
    expect(() => SERVICES[name].load(env)).not.toThrow();
    expect(() => SERVICES[name].load({ ...env, NODE_ENV: 'production' })).not.toThrow();
    for (const variable of productionRequired(SERVICES[name].load)) {
      expect([variable, env[variable] !== undefined && fromSecret.get(variable)?.optional !== true]).toEqual([variable, true]);
    }
  });

  it('scrapes every service on a port it declares', () => {
    for (const name of serviceNames) {
      const d = deploymentOf(objects, name);
      const annotations = d.spec!.template.metadata!.annotations ?? {};
      expect(annotations['prometheus.io/scrape']).toBe('true');
      expect(annotations['prometheus.io/path']).toBe('/metrics');
      expect(mainContainer(d).ports?.map((p) => p.containerPort)).toContain(Number(annotations['prometheus.io/port']));
    }
  });

  it('routes the Ingress to the gateway Service only', () => {
    const ingresses = objects.filter((o) => o.kind === 'Ingress') as unknown as Array<{ spec: { rules: Array<{ http: { paths: Array<{ backend: { service: { name: string; port: { name?: string } } } }> } }> } }>;
    expect(ingresses).toHaveLength(1);
    const backends = ingresses[0].spec.rules.flatMap((r) => r.http.paths.map((p) => p.backend.service));
    expect(backends).toEqual([{ name: 'gateway', port: { name: 'http' } }]);
  });

  describe('NetworkPolicies', () => {
    const namespace = byKind<K8sObject>(objects, 'Namespace')[0].metadata.name;
    const policies = new PolicySet(byKind<INetworkPolicy>(objects, 'NetworkPolicy'));
    const inCluster = (service: string) => objects.some((o) => o.kind === 'Service' && o.metadata.name === service);

    const pods: Endpoint[] = byKind<IDeployment>(objects, 'Deployment').map((d) => ({
      id: `${namespace}/${d.metadata!.name}`,
      namespace,
      namespaceLabels: { 'kubernetes.io/metadata.name': namespace },
      labels: d.spec!.template.metadata!.labels,
      ports: podOf(d).containers.flatMap((c) => (c.ports ?? []).map((p) => ({ port: p.containerPort, name: p.name, protocol: (p.protocol ?? 'TCP') as 'TCP' | 'UDP' }))),
    }));
    const outsidePod = (ns: string, labels: Record<string, string>, ports: Endpoint['ports']): Endpoint => ({
      id: `${ns}/${Object.values(labels)[0]}`, namespace: ns, namespaceLabels: { 'kubernetes.io/metadata.name': ns }, labels, ports,
    });
    const ingressController = outsidePod('ingress-nginx', { 'app.kubernetes.io/name': 'ingress-nginx' }, [{ port: 443, protocol: 'TCP' }]);
    const prometheus = outsidePod('monitoring', { 'app.kubernetes.io/name': 'prometheus' }, [{ port: 9090, protocol: 'TCP' }]);
    const dns = outsidePod('kube-system', { 'k8s-app': 'kube-dns' }, [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }]);
    const otherTenant = outsidePod('other-app', { 'app.kubernetes.io/name': 'work' }, [{ port: 4003, protocol: 'TCP' }]);
    const external = (id: string, ip: string, ports: number[]): Endpoint => ({ id: `external/${id}`, ip, ports: ports.map((port) => ({ port, protocol: 'TCP' })) });
    const externals = {
      postgres: external('postgres', '203.0.113.10', [5432]),
      rabbitmq: external('rabbitmq', '203.0.113.11', [5671, 5672]),
      redis: external('redis', '203.0.113.12', [6379, 6380]),
      smtp: external('smtp', '203.0.113.13', [465, 587]),
      internet: external('internet', '198.51.100.7', [80, 443, 22]),
    };
    const everyone = [...pods, ingressController, prometheus, dns, otherTenant, ...Object.values(externals)];
    const pod = (name: string) => pods.find((p) => p.id === `${namespace}/${name}`)!;

    /** Every connection the configuration implies, as "src -> dst:port/proto". */
    function expectedConnections(): Set<string> {
      const edges = new Set<string>();
      const add = (src: Endpoint, dst: Endpoint, ports: Endpoint['ports']) => ports.forEach((p) => edges.add(`${src.id} -> ${dst.id}:${p.port}/${p.protocol}`));
      const datastore = (name: 'postgres' | 'rabbitmq' | 'redis' | 'smtp'): Endpoint => (inCluster(name) ? pod(name) : externals[name]);
      for (const p of pods) add(p, dns, dns.ports);
      for (const name of serviceNames) {
        const d = deploymentOf(objects, name);
        const { env, fromSecret } = environmentOf(objects, mainContainer(d));
        const set = (v: string) => v in env && fromSecret.get(v)?.optional !== true;
        for (const [variable, value] of Object.entries(env)) {
          if (!/^(IDENTITY|TENANCY|WORK|AUDIT|WEBHOOKS)_URL$/.test(variable)) continue;
          // http://<Service>:<port>: the Service's pods on the target port.
          const url = new URL(value);
          const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === url.hostname) as unknown as { spec: { selector: Record<string, string>; ports: Array<{ port: number; targetPort: string | number }> } };
          const target = svc.spec.ports.find((sp) => sp.port === Number(url.port))!;
          const dst = pod(url.hostname);
          add(pod(name), dst, dst.ports.filter((cp) => cp.name === target.targetPort || cp.port === target.targetPort));
        }
        if (set('DATABASE_URL')) add(pod(name), datastore('postgres'), datastore('postgres').ports);
        if (set('AMQP_URL')) add(pod(name), datastore('rabbitmq'), datastore('rabbitmq').ports);
        if (set('REDIS_URL')) add(pod(name), datastore('redis'), datastore('redis').ports);
        if (set('SMTP_URL')) add(pod(name), datastore('smtp'), datastore('smtp').ports);
        // Receivers are on the internet: the service that delivers webhooks, and only it, reaches it, over HTTPS.
        if ('WEBHOOK_SECRET_KEY' in env) add(pod(name), externals.internet, [{ port: 443, protocol: 'TCP' }]);
        const scrapePort = Number(d.spec!.template.metadata!.annotations!['prometheus.io/port']);
        add(prometheus, pod(name), [{ port: scrapePort, protocol: 'TCP' }]);
      }
      add(ingressController, pod('gateway'), pod('gateway').ports.filter((p) => p.name === 'http'));
      return edges;
    }

    it('allow every call the configuration implies and nothing else', () => {
      const allowed = new Set<string>();
      for (const src of everyone) {
        for (const dst of everyone) {
          if (src === dst || (src.namespace !== namespace && dst.namespace !== namespace)) continue;
          for (const p of dst.ports) if (policies.allows(src, dst, p.port, p.protocol)) allowed.add(`${src.id} -> ${dst.id}:${p.port}/${p.protocol}`);
        }
      }
      const expected = expectedConnections();
      expect({ missing: [...expected].filter((e) => !allowed.has(e)).sort(), unexpected: [...allowed].filter((e) => !expected.has(e)).sort() }).toEqual({ missing: [], unexpected: [] });
    });

    it('deny by default every pod of the namespace in both directions', () => {
      const denyAll = byKind<INetworkPolicy>(objects, 'NetworkPolicy').find((p) => Object.keys(p.spec?.podSelector ?? {}).length === 0 && !p.spec?.ingress && !p.spec?.egress);
      expect(denyAll?.spec?.policyTypes).toEqual(['Ingress', 'Egress']);
    });
  });
});

describe('pending variables', () => {
  // Over every service (not PENDING's entries): the table must stay non-empty once PENDING is.
  it.each(serviceNames)('are still unread by the %s schema (else drop them from PENDING)', (name) => {
    const reads = Object.keys(SERVICES[name].schema.shape);
    expect((PENDING[name] ?? []).filter((v) => reads.includes(v))).toEqual([]);
  });
});
