/** Tests run TypeScript through swc (fast, no type check); `npm run typecheck` is the type gate. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testTimeout: 60000,
  // Integration tests share one PostgreSQL and Redis on a 2-core machine.
  maxWorkers: 2,
};
