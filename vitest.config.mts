import { defineConfig } from 'vitest/config';

// Tests run through esbuild, which emits no decorator metadata: every type-graphql @Field/@Arg and
// MikroORM @Property therefore names its type explicitly (`() => String`, `type: 'string'`).
// type-graphql requires graphql's CJS build; test files load the same copy.
const resolve = { alias: { graphql: 'graphql/index.js' } };
const shared = { setupFiles: ['test/setup.ts'], testTimeout: 60_000, hookTimeout: 60_000 };

/** Runs after every other test file, alone: its first-render budget is a time, which other files' servers would eat into. */
const BROWSER_TEST = 'test/web-browser.test.ts';
/**
 * Runs alone after the API files: it must sell out within a time cap, with presence graces of a few
 * seconds, and four files' servers beside it on two cores once made it miss the cap.
 */
const REHEARSAL_TEST = 'test/rehearsal.test.ts';

export default defineConfig({
  resolve,
  test: {
    // Here only, not in the projects (which would each run it again).
    globalSetup: ['test/global-setup.ts'],
    fileParallelism: true,
    maxWorkers: 4,
    projects: [
      { resolve, test: { ...shared, name: 'api', include: ['test/**/*.test.ts'], exclude: [BROWSER_TEST, REHEARSAL_TEST], sequence: { groupOrder: 0 } } },
      { resolve, test: { ...shared, name: 'rehearsal', include: [REHEARSAL_TEST], sequence: { groupOrder: 1 } } },
      { resolve, test: { ...shared, name: 'browser', include: [BROWSER_TEST], sequence: { groupOrder: 2 } } },
    ],
  },
});
