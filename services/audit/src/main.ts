// Entry point of the audit service: configuration from the environment, then `startAuditService`.
// Tracing first: it must hook pg before anything loads it (and does nothing without OTEL_EXPORTER_OTLP_ENDPOINT).
import './tracing';
import { runService } from '@taskflow/shared';
import { loadAuditConfig } from './config';
import { startAuditService } from './service';

runService('audit', loadAuditConfig, startAuditService);
