// OpenTelemetry for TaskFlow: `startTracing` (first thing in each main.ts) and the hand-made spans.
// Kept apart from the package's index so that importing it first loads neither pg nor knex.
export * from './state';
export * from './sdk';
export * from './spans';
