// The AWS SDK's notice about Node 22 (for its releases after January 2027) is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', {}] },
  // The examples import the resources as users do (tsconfig.json "paths"): run the source.
  moduleNameMapper: { '^scw-backup/provider$': '<rootDir>/provider/index.ts' },
  testTimeout: 60000,
};
