// Imported first by main.ts: starts OpenTelemetry as service `webhooks` when OTEL_EXPORTER_OTLP_ENDPOINT is set.
import { startTracing } from '@taskflow/shared/tracing';

startTracing('webhooks');
