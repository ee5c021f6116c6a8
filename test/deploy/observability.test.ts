// deploy/grafana and deploy/prometheus name only metrics TaskFlow exports, and every alert has its
// runbook line in deploy/README.md.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { parse } from 'yaml';
import { type Broker, createLogger, HttpMetrics, MessagingMetrics } from '@taskflow/shared';
import { createGateway } from '../../services/gateway/src/service';
import { loadGatewayConfig } from '../../services/gateway/src/config';
import { WebhookMetrics } from '../../services/webhooks/src/delivery/metrics';

const DEPLOY = path.resolve(__dirname, '../../deploy');
/** Metrics that come from the cluster, not from TaskFlow (kube-state-metrics reports readiness as the kubelet sees it). */
const FROM_THE_CLUSTER = new Set(['kube_pod_status_ready']);

const PROMQL_WORDS = new Set([
  'sum', 'max', 'min', 'avg', 'count', 'by', 'without', 'rate', 'irate', 'increase', 'histogram_quantile', 'label_replace',
  'and', 'or', 'unless', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'topk', 'bottomk', 'abs', 'clamp_min', 'vector', 'time',
]);

/** Metric names in a PromQL expression: identifiers outside strings, label matchers, grouping clauses and ranges. */
export function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  return [...bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)].map((m) => m[0]).filter((w) => !PROMQL_WORDS.has(w) && !/^\$/.test(w));
}

/** The series names a service's /metrics can hold: every registered metric, histograms with their suffixes. */
async function exportedNames(): Promise<Set<string>> {
  const names = new Set<string>();
  const addFromText = (text: string) => {
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      names.add(m[1]);
      if (m[2] === 'histogram') ['_bucket', '_count', '_sum'].forEach((s) => names.add(m[1] + s));
      if (m[2] === 'summary') ['_count', '_sum'].forEach((s) => names.add(m[1] + s));
    }
  };
  // The HTTP base (every service) and the process metrics.
  addFromText((await new HttpMetrics('any').render()).body);
  // The gateway's own (breakers).
  const gateway = createGateway(loadGatewayConfig({}), createLogger('gateway', 'silent'));
  try {
    addFromText((await gateway.app.metrics.render()).body);
  } finally {
    await gateway.close();
  }
  // The messaging mechanisms, registered as the services register them (values are not needed here).
  const messaging = new MessagingMetrics();
  messaging.watchOutbox({} as Knex);
  messaging.watchQueue({} as Broker, 'work');
  messaging.watchBacklog('taskflow_mail_outbox', 'Mail', {} as Knex, 'mail_outbox', 'sent_at');
  // The webhook delivery engine's.
  const webhooks = new WebhookMetrics();
  for (const metric of [...messaging.registry.getMetricsAsArray(), ...webhooks.registry.getMetricsAsArray()] as unknown as Array<{ name: string; type: string }>) {
    addFromText(`# TYPE ${metric.name} ${metric.type}`);
  }
  return names;
}

interface Rule { alert: string; expr: string; for?: string; labels?: { severity?: string }; annotations?: { summary?: string } }
const rules = (parse(readFileSync(path.join(DEPLOY, 'prometheus/alerts.yaml'), 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(readFileSync(path.join(DEPLOY, 'grafana/taskflow.json'), 'utf8')) as { panels: Array<{ title: string; targets?: Array<{ expr: string }> }> };
const dashboardExprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr })));

describe('metricNamesIn', () => {
  it('finds metric names and ignores functions, labels, strings and ranges', () => {
    expect(metricNamesIn('histogram_quantile(0.99, sum by (service, le) (rate(a_bucket{route!~"x|y"}[5m]))) / on (service) b > 0.5')).toEqual(['a_bucket', 'b']);
  });
});

describe('dashboard and alert rules', () => {
  let exported: Set<string>;
  beforeAll(async () => {
    exported = await exportedNames();
  });

  it('name only metrics the services export', () => {
    const unknown = [...dashboardExprs, ...rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }))].flatMap(({ where, expr }) =>
      metricNamesIn(expr).filter((name) => !exported.has(name) && !FROM_THE_CLUSTER.has(name)).map((name) => `${where}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it('show every signal the operators need', () => {
    const named = new Set(dashboardExprs.flatMap(({ expr }) => metricNamesIn(expr)));
    for (const metric of [
      'http_requests_total', 'http_request_duration_seconds_bucket', 'process_cpu_seconds_total', 'gateway_upstream_circuit_state',
      'taskflow_outbox_backlog', 'taskflow_outbox_oldest_age_seconds', 'taskflow_queue_ready_messages', 'taskflow_dead_letter_messages',
      'taskflow_consumer_processing_seconds_bucket', 'taskflow_mail_outbox_backlog',
      'taskflow_webhook_deliveries_waiting', 'taskflow_webhook_oldest_overdue_seconds', 'taskflow_webhook_attempts_total',
    ]) expect([metric, named.has(metric)]).toEqual([metric, true]);
  });

  it('alert on error ratio, p99, open breakers, stale outbox, dead letters, webhook backlog and failing readiness, each with a runbook line', () => {
    const readme = readFileSync(path.join(DEPLOY, 'README.md'), 'utf8');
    const alerts = rules.map((r) => r.alert).sort();
    expect(alerts).toEqual(['TaskFlowBreakerOpen', 'TaskFlowDeadLetters', 'TaskFlowHighErrorRatio', 'TaskFlowHighLatencyP99', 'TaskFlowNotReady', 'TaskFlowOutboxStale', 'TaskFlowWebhookBacklog']);
    for (const r of rules) {
      expect([r.alert, Boolean(r.for && r.labels?.severity && r.annotations?.summary)]).toEqual([r.alert, true]);
      expect([r.alert, new RegExp(`^\\| \`${r.alert}\` \\|.+\\|`, 'm').test(readme)]).toEqual([r.alert, true]);
    }
  });
});
