import { defineConfig } from 'vitest/config';

// Tests run through esbuild, which emits no decorator metadata: every type-graphql @Field/@Arg and
// MikroORM @Property therefore names its type explicitly (`() => String`, `type: 'string'`).
// type-graphql requires graphql's CJS build; test files load the same copy.
const resolve = { alias: { graphql: 'graphql/index.js' } };
const shared = { setupFiles: ['test/setup.ts'], testTimeout: 60_000, hookTimeout: 60_000 };

/**
 * Run after every other test file, side by side with each other only: web-browser's first-render
 * budget is a time, which the API files' servers would eat into. Three files, each with its own
 * Chromium and servers, as most of their time is spent waiting out graces, holds and turns.
 */
const BROWSER_TESTS = ['test/web-browser.test.ts', 'test/web-tabs.test.ts', 'test/web-live.test.ts'];
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
      { resolve, test: { ...shared, name: 'api', include: ['test/**/*.test.ts'], exclude: [...BROWSER_TESTS, REHEARSAL_TEST], sequence: { groupOrder: 0 } } },
      { resolve, test: { ...shared, name: 'rehearsal', include: [REHEARSAL_TEST], sequence: { groupOrder: 1 } } },
      { resolve, test: { ...shared, name: 'browser', include: BROWSER_TESTS, sequence: { groupOrder: 2 } } },
    ],
  },
});
