import { gzipSync } from 'node:zlib';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturingLogger, CONTRACT_CODES, ERROR_LEVEL, fanOf } from './support/edge';
import { createConcert } from './support/fixtures';
import { startTestServer, type TestServer } from './support/harness';

/** A seeded PRNG (mulberry32), so a failure replays the same requests. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface BadRequest {
  label: string;
  method?: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  search?: string;
}

const OPERATIONS = [
  'mutation($a: Int!) { chargePoints(amount: $a) { id points } }',
  'mutation($id: ID!) { enterQueue(concertId: $id) { state } }',
  'mutation($id: ID!) { holdSeat(seatId: $id) { id } }',
  'mutation($h: [ID!]!, $k: String!) { pay(holdIds: $h, idempotencyKey: $k) { id } }',
  'mutation($e: String!, $p: String!) { signUp(email: $e, password: $p) { token } }',
  'mutation($e: String!, $p: String!) { logIn(email: $e, password: $p) { token } }',
  'query($id: ID!) { schedule(id: $id) { seats { id status } } }',
  'query($l: Int) { me { points pointHistory(limit: $l) { amount } } }',
  'query($id: ID!) { concert(id: $id) { id title } }',
];

const WEIRD_VALUES: unknown[] = [null, '', 'x', '-1', '0', '1.5', '9'.repeat(40), -1, 0, 1.5, 2 ** 31, 1e300, -1e300, true, [], [1, 2], {}, { a: 1 }, '\u0000', '😀'.repeat(50), 'a@b', 'nobody@example.test', 'short', "' OR 1=1 --", '{c:1}:wait', 'x'.repeat(5000)];

function generate(random: () => number, tokens: { valid: string; forged: string[] }): BadRequest[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const json = { 'content-type': 'application/json' };
  const requests: BadRequest[] = [];
  const add = (label: string, body: unknown, headers: Record<string, string> = json) => requests.push({ label, headers, body: typeof body === 'string' ? body : JSON.stringify(body) });

  for (let i = 0; i < 120; i++) {
    // Real operations with values of the wrong type, range or size, signed in, forged, or anonymous.
    const query = pick(OPERATIONS);
    const names = [...query.matchAll(/\$(\w+):/g)].map((m) => m[1] as string);
    const variables = Object.fromEntries(names.map((name) => [name, pick(WEIRD_VALUES)]));
    const auth = pick(['valid', 'forged', 'none', 'garbage'] as const);
    const authorization = auth === 'valid' ? `Bearer ${tokens.valid}` : auth === 'forged' ? `Bearer ${pick(tokens.forged)}` : auth === 'garbage' ? pick(['Bearer', 'Basic dXNlcjpwYXNz', 'Bearer a.b.c', 'bearer  ', '\u00ff']) : undefined;
    add(`typed ${i}`, { query, variables }, { ...json, ...(authorization ? { authorization } : {}) });
  }
  for (let i = 0; i < 60; i++) {
    // Operations mangled character by character.
    const chars = [...pick(OPERATIONS)];
    for (let n = 0; n < 1 + Math.floor(random() * 4); n++) chars.splice(Math.floor(random() * chars.length), 1, pick(['{', '}', '(', ')', '$', '"', '!', '', '...', '@skip', '#']));
    add(`mangled ${i}`, { query: chars.join(''), variables: {} });
  }
  for (let i = 0; i < 40; i++) {
    // Shapes that are not a GraphQL request.
    add(`shape ${i}`, pick<unknown>([null, 1, 'query', true, { query: 1 }, { query: ['{ __typename }'] }, { query: '{ __typename }', variables: [] }, { query: '{ __typename }', variables: 'null' }, { query: '{ __typename }', operationName: 7 }, { query: '{ __typename }', extensions: 'x' }, { query: '' }, { variables: {} }, [], [{ query: '{ __typename }' }]]));
  }
  for (let i = 0; i < 30; i++) {
    // Nesting and size: deep selections, many aliases, deep or long variables, long strings.
    const depth = 5 + Math.floor(random() * 40);
    const deep = `{ concerts { ${'schedules { concert { '.repeat(depth)}id${' } }'.repeat(depth)} } }`;
    const aliases = `{ ${Array.from({ length: 30 + Math.floor(random() * 200) }, (_, n) => `a${n}: concerts { id }`).join(' ')} }`;
    let nested: unknown = 'x';
    for (let n = 0; n < depth; n++) nested = [nested];
    add(`nesting ${i}`, pick<unknown>([{ query: deep }, { query: aliases }, { query: OPERATIONS[3], variables: { h: nested, k: 'k' } }, { query: OPERATIONS[3], variables: { h: Array.from({ length: 101 + depth * 50 }, () => '1.1.x'), k: 'k' } }, { query: `{ concert(id: "${'9'.repeat(depth * 100)}") { id } }` }]));
  }
  for (let i = 0; i < 40; i++) {
    // Encodings and framing.
    const valid = JSON.stringify({ query: '{ __typename }' });
    const variants: BadRequest[] = [
      { label: 'truncated', headers: json, body: valid.slice(0, Math.floor(random() * valid.length)) },
      { label: 'not utf-8', headers: json, body: Buffer.from([0x7b, 0x22, 0x71, 0xff, 0xfe, 0x22, 0x7d]) },
      { label: 'latin1 charset', headers: { 'content-type': 'application/json; charset=iso-8859-1' }, body: valid },
      { label: 'unknown charset', headers: { 'content-type': 'application/json; charset=klingon' }, body: valid },
      { label: 'utf-16', headers: { 'content-type': 'application/json; charset=utf-16' }, body: Buffer.from(valid, 'utf16le') },
      { label: 'fake gzip', headers: { ...json, 'content-encoding': 'gzip' }, body: valid },
      { label: 'gzip bomb-ish', headers: { ...json, 'content-encoding': 'gzip' }, body: gzipSync(Buffer.from(`{"query":"${'a'.repeat(300_000)}"}`)) },
      { label: 'brotli claim', headers: { ...json, 'content-encoding': 'br' }, body: valid },
      { label: 'form', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'query=%7B__typename%7D' },
      { label: 'graphql type', headers: { 'content-type': 'application/graphql' }, body: '{ __typename }' },
      { label: 'no type', headers: {}, body: valid },
      { label: 'oversized', headers: json, body: JSON.stringify({ query: '{ __typename }', pad: 'p'.repeat(100_001 + Math.floor(random() * 50_000)) }) },
      { label: 'GET mutation', method: 'GET', headers: { 'apollo-require-preflight': '1' }, search: `?query=${encodeURIComponent('mutation { chargePoints(amount: 5) { id } }')}` },
      { label: 'GET no preflight', method: 'GET', headers: {}, search: '?query=%7B__typename%7D' },
      { label: 'GET garbage', method: 'GET', headers: { 'apollo-require-preflight': '1' }, search: `?query=%7B&variables=${encodeURIComponent('{"a":')}` },
      { label: 'PUT', method: 'PUT', headers: json, body: valid },
      { label: 'DELETE', method: 'DELETE', headers: json, body: valid },
      { label: 'PATCH', method: 'PATCH', headers: json, body: valid },
    ];
    requests.push(pick(variants));
  }
  return requests;
}

let server: TestServer;
const log = capturingLogger();

beforeAll(async () => {
  server = await startTestServer('fuzz', { RUN_WORKERS: 'false' }, { logger: log.logger });
});
afterAll(() => server?.stop());

/** What the requests must not change: every table's rows and sums, and the Redis keys that hold data. */
async function snapshot(): Promise<string> {
  const sql = server.app.orm.em.getConnection();
  const rows = await sql.execute(
    `select (select count(*) from users) users, (select coalesce(sum(points), 0) from users) points, (select count(*) from point_transactions) ledger,
            (select count(*) from payments) payments, (select count(*) from reservations) reservations, (select count(*) from concerts) concerts`,
  );
  const keys = (await server.app.redis.keys(`${server.env.REDIS_KEY_PREFIX}:*`)).filter((key) => !key.includes(':limit:') && !key.includes('{jobs}')).sort();
  return JSON.stringify({ rows, keys });
}

describe('fuzz pass', () => {
  it('answers a few hundred bad requests with contract codes only, logs no error, and changes nothing', async () => {
    const fan = await fanOf(server);
    const { concertId } = await createConcert(server);
    await server.app.services.queue.enter(Number(fan.id), Number(concertId));
    const forged = [
      jwt.sign({ role: 'ADMIN' }, 'not-the-secret-0123456789abcdef0123', { subject: fan.id, algorithm: 'HS256' }),
      jwt.sign({ role: 'ADMIN' }, '', { subject: fan.id, algorithm: 'none' }),
      `${fan.token.slice(0, -3)}abc`,
      jwt.sign({ role: 'USER', exp: 1 }, 'x'.repeat(40), { subject: fan.id }),
      Buffer.from('{"alg":"none"}').toString('base64url') + '.' + Buffer.from(`{"sub":"${fan.id}","role":"ADMIN"}`).toString('base64url') + '.',
    ];
    const before = await snapshot();
    const requests = generate(prng(13), { valid: fan.token, forged });
    expect(requests.length).toBeGreaterThanOrEqual(250);

    const failures: string[] = [];
    for (const request of requests) {
      const response = await fetch(server.url + (request.search ?? ''), { method: request.method ?? 'POST', headers: request.headers, body: request.body });
      const text = await response.text();
      let body: { data?: unknown; errors?: { extensions?: { code?: unknown } }[] } | undefined;
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        body = undefined;
      }
      const codes = body?.errors?.map((error) => error.extensions?.code) ?? [];
      const problem =
        response.status >= 500
          ? `status ${response.status}`
          : !body
            ? 'not JSON'
            : codes.length === 0 && body.data === undefined
              ? 'no errors and no data'
              : codes.find((code) => typeof code !== 'string' || !CONTRACT_CODES.has(code) || code === 'INTERNAL_SERVER_ERROR');
      if (problem !== undefined) failures.push(`${request.label}: ${String(problem)} → ${response.status} ${text.slice(0, 200)}`);
    }
    expect(failures).toEqual([]);
    expect(log.lines().filter((line) => line.level >= ERROR_LEVEL)).toEqual([]);
    expect(await snapshot()).toBe(before);
  });
});
