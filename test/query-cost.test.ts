import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/harness';
import { Api } from './support/client';
import { createConcert } from './support/fixtures';
import { activeFans, SEATS } from './support/booking';

let server: TestServer;
let api: Api;

beforeAll(async () => {
  server = await startTestServer('query_cost');
  api = new Api(server.url);
  for (let i = 0; i < 5; i++) await createConcert(server, { schedules: 3 });
});
afterAll(() => server.stop());

async function sqlStatements(): Promise<number> {
  const text = await (await fetch(server.url.replace('/graphql', '/metrics'))).text();
  return Number(/^mysql_statements_total (\d+)/m.exec(text)?.[1]);
}

/** The response, the SQL statements it ran and how long it took. */
async function measure(client: Api, query: string, variables: Record<string, unknown> = {}) {
  const before = await sqlStatements();
  const started = performance.now();
  const body = await client.request(query, variables);
  const ms = performance.now() - started;
  return { body, statements: (await sqlStatements()) - before, ms };
}

const NESTED = 'concerts { schedules { concert { schedules { concert { schedules { concert { schedules { id } } } } } } } }';

describe('the cost limit', () => {
  it.each([
    ['50 aliases of a nested concert/schedule walk', `{ ${Array.from({ length: 50 }, (_, i) => `a${i}: ${NESTED}`).join(' ')} }`],
    ['one nested concert/schedule walk (lists multiply their children)', `{ ${NESTED} }`],
    ['21 root fields, however cheap', `{ ${Array.from({ length: 21 }, (_, i) => `a${i}: concerts { id }`).join(' ')} }`],
  ])('refuses %s at once, with GRAPHQL_VALIDATION_FAILED, before any SQL', async (_label, query) => {
    const { body, statements, ms } = await measure(api, query);
    expect(body.data ?? null).toBeNull();
    expect(body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(statements).toBe(0);
    expect(ms).toBeLessThan(1000);
  });

  it('lets the ordinary operations of a front end through', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5, seatCount: 2000 });
    const [fan] = await activeFans(api, concertId, 1);
    const { body } = await measure(fan!.api, SEATS, { id: scheduleIds[0] });
    expect(body.errors).toBeUndefined();
    expect((body.data as { schedule: { seats: unknown[] } }).schedule.seats).toHaveLength(2000);
    const twenty = `{ ${Array.from({ length: 20 }, (_, i) => `a${i}: concerts { id title schedules { id startsAt availableSeats } }`).join(' ')} }`;
    expect((await api.request(twenty)).errors).toBeUndefined();
  });
});
