// Decides whether NetworkPolicies let one endpoint open a connection to another, as the Kubernetes
// API defines it: a pod selected by no policy of a type is open in that direction; a selected pod
// accepts only what some rule of some selecting policy allows; a connection needs both the
// source's egress and the destination's ingress.
import type { INetworkPolicy, INetworkPolicyPeer, INetworkPolicyPort } from 'kubernetes-models/networking.k8s.io/v1';
import type { IIoK8sApimachineryPkgApisMetaV1LabelSelector as LabelSelector } from '@kubernetes-models/apimachinery/apis/meta/v1/LabelSelector';

export interface Endpoint {
  /** For messages: "taskflow/work", "ingress-nginx/controller", "external/postgres". */
  id: string;
  /** Pods only: their namespace, its labels and the pod's labels. */
  namespace?: string;
  namespaceLabels?: Record<string, string>;
  labels?: Record<string, string>;
  /** Outside the cluster: its address (matched by ipBlock only). */
  ip?: string;
  /** The ports it listens on (named for pods' container ports). */
  ports: Array<{ port: number; name?: string; protocol: 'TCP' | 'UDP' }>;
}

export function selects(selector: LabelSelector | undefined, labels: Record<string, string> = {}): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels;
    const value = labels[e.key];
    const ok =
      e.operator === 'In' ? has && (e.values ?? []).includes(value)
      : e.operator === 'NotIn' ? !has || !(e.values ?? []).includes(value)
      : e.operator === 'Exists' ? has
      : e.operator === 'DoesNotExist' ? !has
      : (() => { throw new Error(`unknown selector operator ${e.operator}`); })();
    if (!ok) return false;
  }
  return true;
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

export function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(ipToInt(base) / size) * size;
  const value = ipToInt(ip);
  return value >= start && value < start + size;
}

function peerMatches(peer: INetworkPolicyPeer, policyNamespace: string, other: Endpoint): boolean {
  if (peer.ipBlock) {
    if (!other.ip) return false; // pods are selected by labels here, never by address
    return inCidr(other.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c) => inCidr(other.ip!, c));
  }
  if (other.namespace === undefined) return false;
  const namespaceOk = peer.namespaceSelector ? selects(peer.namespaceSelector, other.namespaceLabels) : other.namespace === policyNamespace;
  return namespaceOk && selects(peer.podSelector, other.labels);
}

function portMatches(ports: INetworkPolicyPort[] | undefined, dst: Endpoint, port: number, protocol: string): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== protocol) return false;
    if (p.port === undefined) return true;
    if (typeof p.port === 'number') return p.endPort !== undefined ? port >= p.port && port <= p.endPort : p.port === port;
    return dst.ports.some((d) => d.name === p.port && d.port === port);
  });
}

export class PolicySet {
  constructor(private readonly policies: INetworkPolicy[]) {}

  private selecting(pod: Endpoint, type: 'Ingress' | 'Egress'): INetworkPolicy[] {
    return this.policies.filter((p) => {
      if (p.metadata?.namespace !== pod.namespace) return false;
      const types = p.spec?.policyTypes ?? (p.spec?.egress ? ['Ingress', 'Egress'] : ['Ingress']);
      return types.includes(type) && selects(p.spec?.podSelector, pod.labels);
    });
  }

  allows(src: Endpoint, dst: Endpoint, port: number, protocol: 'TCP' | 'UDP'): boolean {
    return this.egressAllows(src, dst, port, protocol) && this.ingressAllows(src, dst, port, protocol);
  }

  private egressAllows(src: Endpoint, dst: Endpoint, port: number, protocol: string): boolean {
    if (src.namespace === undefined) return true;
    const policies = this.selecting(src, 'Egress');
    if (policies.length === 0) return true;
    return policies.some((p) =>
      (p.spec?.egress ?? []).some(
        (rule) => (!rule.to || rule.to.length === 0 || rule.to.some((peer) => peerMatches(peer, p.metadata!.namespace!, dst))) && portMatches(rule.ports, dst, port, protocol),
      ),
    );
  }

  private ingressAllows(src: Endpoint, dst: Endpoint, port: number, protocol: string): boolean {
    if (dst.namespace === undefined) return true;
    const policies = this.selecting(dst, 'Ingress');
    if (policies.length === 0) return true;
    return policies.some((p) =>
      (p.spec?.ingress ?? []).some(
        (rule) => (!rule.from || rule.from.length === 0 || rule.from.some((peer) => peerMatches(peer, p.metadata!.namespace!, src))) && portMatches(rule.ports, dst, port, protocol),
      ),
    );
  }
}
