import { defineConfig } from 'vitest/config';

// Tests run through esbuild, which emits no decorator metadata: every type-graphql @Field/@Arg and
// MikroORM @Property therefore names its type explicitly (`() => String`, `type: 'string'`).
export default defineConfig({
  resolve: {
    // type-graphql requires graphql's CJS build; make test files load the same copy.
    alias: { graphql: 'graphql/index.js' },
  },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: true,
    maxWorkers: 4,
  },
});
