export * from './topology';
export * from './queue-migration';
export * from './broker';
export * from './outbox';
export * from './drain-loop';
export * from './relay';
export * from './consumer';
export * from './dead-letters';
