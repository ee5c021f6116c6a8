export * from './topology';
export * from './broker';
export * from './outbox';
export * from './relay';
export * from './consumer';
