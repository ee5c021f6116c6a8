// Entry point of the gateway: configuration from the environment, then `startGatewayService`.
import { runService } from '@taskflow/shared';
import { startGatewayService } from './service';
import { loadGatewayConfig } from './config';

runService('gateway', loadGatewayConfig, startGatewayService);
