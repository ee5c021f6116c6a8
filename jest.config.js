/** One jest run for unit, per-service integration and end-to-end tests, all against real servers. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/shared', '<rootDir>/services', '<rootDir>/test'],
  testMatch: ['**/test/**/*.test.ts'],
  // The fault and scale tests run built services as processes: `npm run test:faults` and `npm run test:scale` run them on their own.
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/test/faults/', '/test/scale/'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }] },
  moduleNameMapper: {
    '^@taskflow/shared$': '<rootDir>/shared/src/index.ts',
    '^@taskflow/shared/testing$': '<rootDir>/shared/src/testing/index.ts',
    '^@taskflow/client$': '<rootDir>/clients/typescript/src/index.ts',
  },
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  maxWorkers: 2,
  testTimeout: 30000,
};
