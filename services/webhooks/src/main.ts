// Entry point of the webhooks service: configuration from the environment, then `startWebhooksService`.
import { runService } from '@taskflow/shared';
import { loadWebhooksConfig } from './config';
import { startWebhooksService } from './service';

runService('webhooks', loadWebhooksConfig, startWebhooksService);
