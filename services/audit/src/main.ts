// Entry point of the audit service: configuration from the environment, then `startAuditService`.
import { runService } from '@taskflow/shared';
import { loadAuditConfig } from './config';
import { startAuditService } from './service';

runService('audit', loadAuditConfig, startAuditService);
