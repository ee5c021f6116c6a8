// Entry point of the work service: configuration from the environment, then `startWorkService`.
// Tracing first: it must hook pg before anything loads it (and does nothing without OTEL_EXPORTER_OTLP_ENDPOINT).
import './tracing';
import { runService } from '@taskflow/shared';
import { loadWorkConfig } from './config';
import { startWorkService } from './service';

runService('work', loadWorkConfig, startWorkService);
