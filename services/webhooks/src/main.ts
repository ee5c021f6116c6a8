// Entry point of the webhooks service: configuration from the environment, then `startWebhooksService`.
// Tracing first: it must hook pg before anything loads it (and does nothing without OTEL_EXPORTER_OTLP_ENDPOINT).
import './tracing';
import { runService } from '@taskflow/shared';
import { loadWebhooksConfig } from './config';
import { startWebhooksService } from './service';

runService('webhooks', loadWebhooksConfig, startWebhooksService);
