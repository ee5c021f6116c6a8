// Entry point of the gateway: configuration from the environment, then `startGatewayService`.
// Tracing first: it must hook pg before anything loads it (and does nothing without OTEL_EXPORTER_OTLP_ENDPOINT).
import './tracing';
import { runService } from '@taskflow/shared';
import { startGatewayService } from './service';
import { loadGatewayConfig } from './config';

runService('gateway', loadGatewayConfig, startGatewayService);
