// Entry point of the identity service: configuration from the environment, then `startIdentityService`.
import { runService } from '@taskflow/shared';
import { loadIdentityConfig } from './config';
import { startIdentityService } from './service';

runService('identity', loadIdentityConfig, startIdentityService);
