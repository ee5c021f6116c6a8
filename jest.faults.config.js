/**
 * Fault tests (`npm run test:faults`, after `npm run build`): the built services as real processes,
 * killed, starved of their broker or database, and watched recovering. Not part of `npm test`.
 */
const base = require('./jest.config.js');

module.exports = {
  ...base,
  roots: ['<rootDir>/test/faults'],
  testMatch: ['**/test/faults/**/*.fault.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  testTimeout: 120000,
};
