// Entry point of the work service: configuration from the environment, then `startWorkService`.
import { runService } from '@taskflow/shared';
import { loadWorkConfig } from './config';
import { startWorkService } from './service';

runService('work', loadWorkConfig, startWorkService);
