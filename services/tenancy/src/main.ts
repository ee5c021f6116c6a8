// Entry point of the tenancy service: configuration from the environment, then `startTenancyService`.
// Tracing first: it must hook pg before anything loads it (and does nothing without OTEL_EXPORTER_OTLP_ENDPOINT).
import './tracing';
import { runService } from '@taskflow/shared';
import { loadTenancyConfig } from './config';
import { startTenancyService } from './service';

runService('tenancy', loadTenancyConfig, startTenancyService);
