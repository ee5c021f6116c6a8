export * from './config';
export * from './outbox';
export * from './transports';
export * from './mailer';
