/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
  testTimeout: 120000,
  // examples/ import the package by its name, as a user's code does
  moduleNameMapper: { '^ndgrad$': '<rootDir>/lib/index.ts' },
};
