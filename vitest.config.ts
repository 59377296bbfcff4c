import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Workspace packages export their TypeScript source under this condition, so
// tests run against src/ and never wait for a build. Not vite's `module`:
// Node, which runs the services, does not know it, and the OpenTelemetry
// packages' builds under it import paths Node cannot load.
const conditions = [
  '@refract/source',
  ...defaultServerConditions.filter((condition) => condition !== 'module'),
];

// Starts the embedded Postgres and a redis-server when none answers at the test URLs.
const services = './vitest.services-setup.ts';

const shared = {
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  // Global setups are loaded in this environment: they import workspace packages too.
  environments: { __vitest__: { resolve: { conditions } } },
};

export default defineConfig({
  test: {
    // The JSON report lets CI print one plain summary line.
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
    projects: [
      {
        ...shared,
        test: {
          name: 'unit',
          include: [
            '{packages,services,examples}/*/src/**/*.test.ts',
            'bench/src/**/*.test.ts',
            'deploy/**/*.test.ts',
            'faults/src/**/*.test.ts',
          ],
          exclude: [
            '**/*.int.test.ts',
            '**/*.e2e.test.ts',
            '**/*.faults.test.ts',
            '**/node_modules/**',
          ],
        },
      },
      {
        ...shared,
        test: {
          name: 'int',
          globalSetup: [services],
          include: ['{packages,services,examples}/*/src/**/*.int.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        ...shared,
        test: {
          name: 'e2e',
          include: [
            '{packages,services,examples}/*/src/**/*.e2e.test.ts',
            'deploy/**/*.e2e.test.ts',
          ],
          // Builds and packs the public packages once (what the e2e files run).
          globalSetup: [services, './vitest.e2e-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        ...shared,
        test: {
          // The whole system under a seeded schedule of faults (faults/README.md).
          name: 'faults',
          globalSetup: [services],
          include: ['faults/src/**/*.faults.test.ts'],
          testTimeout: 420_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
