import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

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

/**
 * The files that take longest, longest first, as a clean-clone CI run measured them (seconds: the
 * single-Redis run, then the cluster run). Most of their time is waiting out graces and timeouts, so
 * started first they overlap the short files; started last, as vitest orders a checkout it has never
 * run (the largest files first), they ran alone at the end of the run (repeating-job, 55 s, finished
 * last in CI). A hint only: a file missing here runs after these, in vitest's own order.
 */
const LONGEST = [
  'test/startup.test.ts', // 108 s
  'test/queue-replicas.test.ts', // 79 s, 93 s
  'test/presence.test.ts', // 75 s, 103 s
  'test/repeating-job.test.ts', // 55 s, 69 s
  'test/mysql-restart.test.ts', // 57 s
  'test/presence-outage.test.ts', // 52 s
  'test/presence-replicas.test.ts', // 35 s, 55 s
  'test/queue-positions.test.ts', // 35 s, 47 s
  'test/inventory.test.ts', // 43 s, 39 s
];

/** vitest's order (groups, projects, then its cache or file sizes), with the LONGEST files first in each project. */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const ordered = await super.sort(files);
    const projectRank = new Map<string, number>();
    for (const file of ordered) if (!projectRank.has(file.project.name)) projectRank.set(file.project.name, projectRank.size);
    const rank = (file: TestSpecification) => {
      const at = LONGEST.indexOf(relative(this.ctx.config.root, file.moduleId));
      return at === -1 ? LONGEST.length : at;
    };
    // A stable sort: files of equal rank keep vitest's order.
    return [...ordered].sort((a, b) => (projectRank.get(a.project.name) as number) - (projectRank.get(b.project.name) as number) || rank(a) - rank(b));
  }
}

export default defineConfig({
  resolve,
  test: {
    // Here only, not in the projects (which would each run it again).
    globalSetup: ['test/global-setup.ts'],
    fileParallelism: true,
    maxWorkers: 4,
    sequence: { sequencer: LongestFirst },
    projects: [
      { resolve, test: { ...shared, name: 'api', include: ['test/**/*.test.ts'], exclude: [...BROWSER_TESTS, REHEARSAL_TEST], sequence: { groupOrder: 0 } } },
      { resolve, test: { ...shared, name: 'rehearsal', include: [REHEARSAL_TEST], sequence: { groupOrder: 1 } } },
      { resolve, test: { ...shared, name: 'browser', include: BROWSER_TESTS, sequence: { groupOrder: 2 } } },
    ],
  },
});
