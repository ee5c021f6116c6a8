/**
 * Scale test (`npm run test:scale`, after `npm run build`): two replicas of every service and two
 * gateways as real processes, proving the scale-out promises under load. Not part of `npm test`.
 */
const base = require('./jest.config.js');

module.exports = {
  ...base,
  roots: ['<rootDir>/test/scale'],
  testMatch: ['**/test/scale/**/*.scale.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  testTimeout: 120000,
};
