export * from './topology';
export * from './broker';
export * from './outbox';
export * from './drain-loop';
export * from './relay';
export * from './consumer';
export * from './metrics';
