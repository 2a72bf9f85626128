import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Api } from '../support/graphql-client';
import { ADMIN, startTestServer, type TestServer } from './support/harness';
import { logIn, signUp, type Account } from './support/client';
import { createConcert } from './support/fixtures';

const CREATE = 'mutation($input: ConcertInput!) { createConcert(input: $input) { id title venue maxActiveUsers schedules { id startsAt totalSeats availableSeats price } } }';
const SET_MAX = 'mutation($id: ID!, $max: Int!) { setMaxActiveUsers(concertId: $id, maxActiveUsers: $max) { id maxActiveUsers } }';

interface CreatedConcert {
  id: string;
  title: string;
  venue: string;
  maxActiveUsers: number;
  schedules: { id: string; startsAt: string; totalSeats: number; availableSeats: number; price: number }[];
}

const valid = () => ({
  title: 'Night Train',
  venue: 'Main Hall',
  maxActiveUsers: 10,
  schedules: [
    { startsAt: '2030-05-01T19:00:00.000Z', seatCount: 30, price: 100 },
    { startsAt: '2030-05-02T19:00:00.000Z', seatCount: 5, price: 150 },
  ],
});

let server: TestServer;
let api: Api;
let admin: Account;

beforeAll(async () => {
  server = await startTestServer('concerts');
  api = new Api(server.url);
  admin = await logIn(api, ADMIN.email, ADMIN.password);
});
afterAll(() => server.stop());

async function countRows(table: string): Promise<number> {
  const [row] = await server.app.orm.em.getConnection().execute<{ n: number }[]>(`select count(*) as n from ${table}`);
  return Number(row?.n);
}

describe('createConcert', () => {
  it('creates the concert, its schedules and numbered seats, visible to everyone', async () => {
    const { createConcert: concert } = await admin.api.data<{ createConcert: CreatedConcert }>(CREATE, { input: valid() });
    expect(concert).toMatchObject({ title: 'Night Train', venue: 'Main Hall', maxActiveUsers: 10 });
    expect(concert.schedules.map((s) => [s.startsAt, s.totalSeats, s.availableSeats, s.price])).toEqual([
      ['2030-05-01T19:00:00.000Z', 30, 30, 100],
      ['2030-05-02T19:00:00.000Z', 5, 5, 150],
    ]);
    // Prices are public, as the seat counts are: a fan knows what to charge before queueing.
    const listed = await api.data<{ concerts: { id: string; schedules: { price: number }[] }[] }>('{ concerts { id schedules { price } } }');
    expect(listed.concerts.find((c) => c.id === concert.id)?.schedules.map((s) => s.price)).toEqual([100, 150]);
    const one = await api.data<{ concert: { title: string; schedules: { id: string }[] } }>('query($id: ID!) { concert(id: $id) { title schedules { id } } }', { id: concert.id });
    expect(one.concert.schedules).toHaveLength(2);
    const scheduleId = concert.schedules[1]?.id;
    const scheduleQuery = 'query($id: ID!) { schedule(id: $id) { totalSeats concert { id } } }';
    const schedule = await admin.api.data<{ schedule: { totalSeats: number; concert: { id: string } } }>(scheduleQuery, { id: scheduleId });
    expect(schedule.schedule).toEqual({ totalSeats: 5, concert: { id: concert.id } });
    // Only concerts and concert are public (errors.md, UNAUTHENTICATED).
    expect(await api.errorCode(scheduleQuery, { id: scheduleId })).toBe('UNAUTHENTICATED');
    const seats = await server.app.orm.em.getConnection().execute<{ number: number; price: number }[]>('select number, price from seats where schedule_id = ? order by number', [scheduleId]);
    expect(seats).toEqual([1, 2, 3, 4, 5].map((number) => ({ number, price: 150 })));
  });

  it.each([
    ['an empty title', { title: '  ' }],
    ['a title of 201 characters', { title: 'x'.repeat(201) }],
    ['a venue of 201 characters', { venue: 'x'.repeat(201) }],
    ['maxActiveUsers 0', { maxActiveUsers: 0 }],
    ['no schedules', { schedules: [] }],
    ['seatCount 0', { schedules: [{ startsAt: '2030-01-01T00:00:00Z', seatCount: 0, price: 1 }] }],
    ['a negative price', { schedules: [{ startsAt: '2030-01-01T00:00:00Z', seatCount: 1, price: -1 }] }],
    ['a schedule after the last date the database holds', { schedules: [{ startsAt: '9999-12-31T23:59:59-05:00', seatCount: 1, price: 1 }] }],
    ['sales opening after the last date the database holds', { salesOpenAt: '9999-12-31T23:59:59-05:00' }],
    // Year 30 was stored, then read back as invalid by the driver: every read of the concert list failed.
    ['a schedule before 1970', { schedules: [{ startsAt: '0030-06-01T00:00:00Z', seatCount: 1, price: 1 }] }],
    ['sales opening before 1970', { salesOpenAt: '1969-12-31T23:59:59Z' }],
    ['a title with a control character', { title: 'Aurora\u0000Live' }],
    ['a title with half of a surrogate pair', { title: 'Aurora\uD800Live' }],
    ['a venue of only invisible characters', { venue: '\u200b\u200e' }],
    ['a title that shows blank (a Hangul filler, the blank braille pattern, a combining mark alone)', { title: '\u3164\u2800\u0301' }],
    ['more seats in all than a concert may have', { schedules: Array.from({ length: 6 }, () => ({ startsAt: '2030-01-01T00:00:00Z', seatCount: 100_000, price: 1 })) }],
    ['one bad schedule among good ones', { schedules: [...valid().schedules, { startsAt: '2030-01-01T00:00:00Z', seatCount: -5, price: 1 }] }],
  ])('refuses %s with BAD_USER_INPUT and writes nothing', async (_label, change) => {
    const before = [await countRows('concerts'), await countRows('schedules'), await countRows('seats')];
    expect(await admin.api.errorCode(CREATE, { input: { ...valid(), ...change } })).toBe('BAD_USER_INPUT');
    expect([await countRows('concerts'), await countRows('schedules'), await countRows('seats')]).toEqual(before);
  });

  it('refuses a malformed date', async () => {
    const input = { ...valid(), schedules: [{ startsAt: 'next tuesday', seatCount: 1, price: 1 }] };
    expect(await admin.api.errorCode(CREATE, { input })).toBe('BAD_USER_INPUT');
  });
  it('takes a title and venue of exactly 200 characters (an emoji counts as one), the largest capacity and price, and 100 schedules', async () => {
    const title = 'x'.repeat(200);
    const venue = '🎵'.repeat(200);
    const schedules = Array.from({ length: 100 }, (_, i) => ({ startsAt: new Date(Date.UTC(2031, 0, 1 + i)).toISOString(), seatCount: 1, price: 100_000_000 }));
    const { createConcert: concert } = await admin.api.data<{ createConcert: CreatedConcert }>(CREATE, { input: { title, venue, maxActiveUsers: 1_000_000, schedules } });
    expect(concert).toMatchObject({ title, venue, maxActiveUsers: 1_000_000 });
    expect(concert.schedules).toHaveLength(100);
  });
});

describe('setMaxActiveUsers and lookups', () => {
  it('changes the capacity', async () => {
    const { createConcert: concert } = await admin.api.data<{ createConcert: CreatedConcert }>(CREATE, { input: valid() });
    const { setMaxActiveUsers } = await admin.api.data<{ setMaxActiveUsers: { maxActiveUsers: number } }>(SET_MAX, { id: concert.id, max: 77 });
    expect(setMaxActiveUsers.maxActiveUsers).toBe(77);
    expect(await admin.api.errorCode(SET_MAX, { id: concert.id, max: 0 })).toBe('BAD_USER_INPUT');
    expect(await admin.api.errorCode(SET_MAX, { id: '999999', max: 5 })).toBe('NOT_FOUND');
  });

  it('answers NOT_FOUND (the field null) for an unknown concert or schedule, also for a number no ID can be, and BAD_USER_INPUT for a non-numeric ID', async () => {
    for (const [caller, query] of [[api, '{ concert(id: "999999") { id } }'], [admin.api, '{ schedule(id: "999999") { id } }']] as const) {
      const answer = await caller.request(query);
      expect(answer.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect(Object.values(answer.data ?? {})).toEqual([null]);
    }
    expect(await api.errorCode('{ concert(id: "abc") { id } }')).toBe('BAD_USER_INPUT');
    expect(await api.errorCode('{ concert(id: "1.5") { id } }')).toBe('BAD_USER_INPUT');
    expect(await admin.api.errorCode('{ schedule(id: "-1") { id } }')).toBe('BAD_USER_INPUT');
    // Digits no row's ID can be name nothing, like an unused ID.
    for (const id of ['0', '00001', '9007199254740993']) {
      expect(await admin.api.errorCode(`{ schedule(id: "${id}") { id } }`)).toBe('NOT_FOUND');
      expect(await api.errorCode(`{ concert(id: "${id}") { id } }`)).toBe('NOT_FOUND');
    }
  });

  it('refuses queries beyond the depth or cost limit', async () => {
    const fan = await signUp(api);
    const deep = '{ concerts { schedules { concert { schedules { concert { schedules { concert { schedules { concert { schedules { concert { id } } } } } } } } } } } }';
    expect(await fan.api.errorCode(deep)).toBe('GRAPHQL_VALIDATION_FAILED');
    const wide = `{ ${Array.from({ length: 100 }, (_, i) => `a${i}: concerts { id }`).join(' ')} }`;
    expect(await fan.api.errorCode(wide)).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

describe('the concert list', () => {
  const LIST = '{ concerts { id availableSeats soldOut schedules { id availableSeats } } }';

  async function statementsFor(query: string, variables: Record<string, unknown> = {}): Promise<number> {
    const metricsUrl = server.url.replace('/graphql', '/metrics');
    const count = async () => Number(/^mysql_statements_total (\d+)/m.exec(await (await fetch(metricsUrl)).text())?.[1]);
    const before = await count();
    await api.data(query, variables);
    return (await count()) - before;
  }

  it('costs the same few SQL statements for 3 concerts or 30, however many schedules each has', async () => {
    const made = new Set<string>();
    for (let i = 0; i < 3; i++) made.add((await createConcert(server, { schedules: 3 })).concertId);
    // Seat counts Redis does not have yet are rebuilt from MySQL, all in one more statement.
    const cold = await statementsFor(LIST);
    const few = await statementsFor(LIST);
    for (let i = 0; i < 27; i++) made.add((await createConcert(server, { schedules: 3 })).concertId);
    expect(await statementsFor(LIST)).toBe(cold);
    const { concerts } = await api.data<{ concerts: { id: string; availableSeats: number; soldOut: boolean; schedules: { availableSeats: number }[] }[] }>(LIST);
    const ours = concerts.filter((c) => made.has(c.id));
    expect(ours).toHaveLength(30);
    expect(ours.flatMap((c) => c.schedules.map((s) => s.availableSeats))).toEqual(Array(90).fill(10));
    expect(ours.map((c) => [c.availableSeats, c.soldOut])).toEqual(Array(30).fill([30, false]));
    const many = await statementsFor(LIST);
    expect(few).toBeGreaterThan(0);
    expect(few).toBeLessThanOrEqual(3);
    expect(cold).toBe(few + 1);
    expect(many).toBe(few);
  });

  it('pages the list by ID with limit and after, either way round, each page in the same few statements, and refuses a bad page with BAD_USER_INPUT', async () => {
    for (let i = 0; i < 12; i++) await createConcert(server, { schedules: 2 });
    const all = (await api.data<{ concerts: { id: string }[] }>('{ concerts { id } }')).concerts.map((c) => c.id);
    expect(all.length).toBeGreaterThanOrEqual(12);
    const PAGE = 'query($limit: Int, $after: ID, $order: ConcertOrder) { concerts(limit: $limit, after: $after, order: $order) { id availableSeats soldOut schedules { id availableSeats } } }';
    const walked: string[] = [];
    let after: string | null = null;
    for (;;) {
      const { concerts }: { concerts: { id: string }[] } = await api.data(PAGE, { limit: 5, after });
      expect(concerts.length).toBeLessThanOrEqual(5);
      walked.push(...concerts.map((c) => c.id));
      if (concerts.length < 5) break;
      after = concerts[concerts.length - 1]!.id;
    }
    expect(walked).toEqual(all);
    // Newest first, the same pages the other way round.
    const newest = async (variables: Record<string, unknown>) => (await api.data<{ concerts: { id: string }[] }>(PAGE, { ...variables, order: 'NEWEST_FIRST' })).concerts.map((c) => c.id);
    expect(await newest({ limit: 3 })).toEqual(all.slice(-3).reverse());
    expect(await newest({ limit: 3, after: all[all.length - 3] })).toEqual(all.slice(-6, -3).reverse());
    expect(await newest({ after: all[2] })).toEqual(all.slice(0, 2).reverse());
    expect(await newest({ after: '9007199254740993' })).toEqual([...all].reverse());
    expect(await statementsFor(PAGE, { limit: 5, after: all[0] })).toBeLessThanOrEqual(await statementsFor(PAGE, { limit: 1 }));
    // No order (null) is the default order: one read for a page asked both ways.
    const BOTH = 'query($none: ConcertOrder) { a: concerts(limit: 5, order: OLDEST_FIRST) { id } b: concerts(limit: 5, order: $none) { id } }';
    expect(await statementsFor(BOTH, { none: null })).toBe(await statementsFor('{ concerts(limit: 5) { id } }'));
    // Without a limit, everything after; an ID past the last, or one no concert has, is a place in the order all the same.
    expect((await api.data<{ concerts: { id: string }[] }>(PAGE, { after: all[all.length - 3] })).concerts.map((c) => c.id)).toEqual(all.slice(-2));
    expect((await api.data<{ concerts: unknown[] }>(PAGE, { limit: 5, after: '9007199254740993' })).concerts).toEqual([]);
    expect((await api.data<{ concerts: unknown[] }>(PAGE, { limit: 5, after: '9'.repeat(400) })).concerts).toEqual([]);
    expect(await newest({ limit: 2, after: '9'.repeat(400) })).toEqual(all.slice(-2).reverse());
    expect((await api.data<{ concerts: { id: string }[] }>(PAGE, { limit: 2, after: '0' })).concerts.map((c) => c.id)).toEqual(all.slice(0, 2));
    expect((await api.data<{ concerts: unknown[] }>(PAGE, { limit: null })).concerts).toHaveLength(all.length);
    for (const variables of [{ limit: 0 }, { limit: 101 }, { limit: -1 }, { limit: 5, after: 'x' }, { after: '-1' }, { after: '1.5' }]) {
      const body = await api.request('query($limit: Int, $after: ID) { concerts(limit: $limit, after: $after) { id } }', variables);
      expect(body.errors?.[0]?.extensions?.code, JSON.stringify(variables)).toBe('BAD_USER_INPUT');
      expect(body.data).toBeNull();
    }
  });

  it('reads the schedules of concerts it does not know once, however many requests ask at the same moment', async () => {
    const { concerts } = server.app.services;
    // Made behind the API, whose answer would have read their schedules already.
    const make = (schedules: number) =>
      concerts.create({ title: 'Herd', venue: 'V', maxActiveUsers: 1, schedules: Array.from({ length: schedules }, (_, i) => ({ startsAt: new Date(Date.UTC(2031, 0, 1 + i)), seatCount: 1, price: 1 })) });
    const ids = [(await make(2)).id, (await make(3)).id];
    const reads = vi.spyOn(concerts, 'schedulesOfMany');
    try {
      // Overlapping asks: one for the first concert, then others for both while that read is under way.
      const answers = await Promise.all([concerts.scheduleSizes([ids[0]!]), ...Array.from({ length: 100 }, () => concerts.scheduleSizes(ids))]);
      for (const sizes of answers.slice(1)) expect(ids.map((id) => sizes.get(id)?.length)).toEqual([2, 3]);
      expect(reads.mock.calls.map(([asked]) => [...asked])).toEqual([[ids[0]], [ids[1]]]);
    } finally {
      reads.mockRestore();
    }
  });

  it('refuses an empty `after` with BAD_USER_INPUT, with or without a limit, rather than answering the first page; a null one lists from the start', async () => {
    await createConcert(server);
    for (const variables of [{ after: '' }, { limit: 5, after: '' }]) {
      const body = await api.request('query($limit: Int, $after: ID) { concerts(limit: $limit, after: $after) { id } }', variables);
      expect([body.errors?.[0]?.extensions?.code, body.data]).toEqual(['BAD_USER_INPUT', null]);
    }
    expect((await api.data<{ concerts: unknown[] }>('query($after: ID) { concerts(after: $after) { id } }', { after: null })).concerts.length).toBeGreaterThan(0);
  });
});
