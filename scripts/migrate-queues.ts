// `npm run migrate:queues`: moves queues declared by an older deployment (classic queues) to the declared
// quorum queues, messages and bindings included. Run it with the consumers stopped (scaled to zero);
// producers may keep running. AMQP_URL names the broker (default amqp://guest:guest@127.0.0.1:5672).
import { createLogger, migrateQueues } from '@taskflow/shared';

const logger = createLogger('migrate-queues', process.env.LOG_LEVEL ?? 'info');

migrateQueues(process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672', logger).then(
  (moved) => {
    logger.info({ moved }, moved.length ? 'queues moved to quorum queues' : 'every queue already matches the topology');
    process.exit(0);
  },
  (err: Error) => {
    logger.error({ err: err.message }, 'queue migration failed');
    process.exit(1);
  },
);
