// Test helpers; imported by tests only.
export * from './infra';
export * from './http';
export * from './tokens';
export * from './mail';
export * from './sse';
export * from './otlp';
export * from './events';
export * from './keyset';
