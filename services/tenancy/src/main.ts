// Entry point of the tenancy service: configuration from the environment, then `startTenancyService`.
import { runService } from '@taskflow/shared';
import { loadTenancyConfig } from './config';
import { startTenancyService } from './service';

runService('tenancy', loadTenancyConfig, startTenancyService);
