import type { Config } from 'jest';
import base from '../../jest.config';

type Project = Exclude<NonNullable<Config['projects']>[number], string>;
const e2e = base.projects?.find(
  (project): project is Project => typeof project === 'object' && project.displayName === 'e2e',
);
if (!e2e) throw new Error('jest.config.ts has no e2e project to derive the fault suite from');

/**
 * `npm run test:faults`: suites that break real servers on purpose. Kept out of `npm test`
 * (they take minutes and measure latency), run one file at a time so that measurements do not
 * compete with each other.
 */
const config: Config = {
  ...e2e,
  displayName: 'faults',
  testMatch: ['<rootDir>/test/faults/**/*.faults-spec.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  globalSetup: '<rootDir>/test/faults/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/faults/support/global-teardown.ts',
  maxWorkers: 1,
  testTimeout: 120_000,
  slowTestThreshold: 60,
};

export default config;
