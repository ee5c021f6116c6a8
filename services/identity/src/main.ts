// Entry point of the identity service: configuration from the environment, then `startIdentityService`.
// Tracing first: it must hook pg before anything loads it (and does nothing without OTEL_EXPORTER_OTLP_ENDPOINT).
import './tracing';
import { runService } from '@taskflow/shared';
import { loadIdentityConfig } from './config';
import { startIdentityService } from './service';

runService('identity', loadIdentityConfig, startIdentityService);
