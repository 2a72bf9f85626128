import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';
import { capturingLogger, CONTRACT_CODES, ERROR_LEVEL, fanOf, gql } from './support/edge';
import { startTestServer, testEnv, type TestServer } from './support/harness';

const ORIGIN = 'https://tickets.example.com';
let server: TestServer;
const log = capturingLogger();

beforeAll(async () => {
  server = await startTestServer('edges', { CORS_ORIGINS: `${ORIGIN}, https://admin.example.com`, RUN_WORKERS: 'false' }, { logger: log.logger });
});
afterAll(() => server?.stop());

async function post(body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const response = await fetch(server.url, { method: 'POST', headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: JSON.parse(text) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] } };
}

describe('refusals at the HTTP edge', () => {
  it('a subscription over HTTP: GRAPHQL_VALIDATION_FAILED pointing to the WebSocket, and no error logged', async () => {
    const answer = await post(JSON.stringify({ query: 'subscription { queueStatus(concertId: "1") { state } }' }));
    expect(answer.status).toBe(400);
    expect(answer.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(answer.body.errors?.[0]?.message).toMatch(/WebSocket at \/graphql/);
    // Refused before validation, which throws for a root field a non-null variable skips (it was a 500).
    const skipped = await post(JSON.stringify({ query: 'subscription($s: Boolean!) { queueStatus(concertId: "1") @skip(if: $s) { state } }', variables: { s: true } }));
    expect(skipped.status).toBe(400);
    expect(skipped.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    // Also beside a query, whichever the request selects (validation covers the whole document), and
    // by GET; the word alone (a comment) refuses nothing.
    const beside = 'query Q { __typename } subscription S($s: Boolean!) { queueStatus(concertId: "1") @skip(if: $s) { state } }';
    for (const operationName of ['S', 'Q']) {
      const named = await post(JSON.stringify({ query: beside, operationName, variables: { s: true } }));
      expect([named.status, named.body.errors?.[0]?.extensions?.code], operationName).toEqual([400, 'GRAPHQL_VALIDATION_FAILED']);
    }
    const byGet = await fetch(`${server.url}?query=${encodeURIComponent('subscription { queueStatus(concertId: "1") { state } }')}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(byGet.status).toBe(400);
    // Also behind a thousand other parameters (Express's own parser keeps the first 1,000, Apollo all).
    const padding = Array.from({ length: 1000 }, (_, i) => `p${i}=`).join('&');
    const throwing = encodeURIComponent('subscription($s: Boolean!) { queueStatus(concertId: "1") @skip(if: $s) { state } }');
    const hidden = await fetch(`${server.url}?${padding}&query=${throwing}&variables=${encodeURIComponent('{"s":true}')}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(hidden.status).toBe(400);
    expect(((await hidden.json()) as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const comment = await post(JSON.stringify({ query: '# no subscription here\n{ __typename }' }));
    expect(comment.body).toEqual({ data: { __typename: 'Query' } });
  });

  it('every refusal at the edge carries a code errors.md lists, whatever Apollo calls it; the ones errors.md names, its status and code', async () => {
    expect(CONTRACT_CODES).toContain('GRAPHQL_PARSE_FAILED');
    const json = { 'content-type': 'application/json' };
    const byGet = (query: string, headers: Record<string, string>) => fetch(`${server.url}?query=${encodeURIComponent(query)}`, { headers });
    // [what, the answer, errors.md's code where it names one, with its status where it names one]
    const refusals: [string, Response, [number | undefined, string]?][] = [
      ['no query', await fetch(server.url, { method: 'POST', headers: json, body: '{}' }), [undefined, 'GRAPHQL_PARSE_FAILED']],
      ['query not a string', await fetch(server.url, { method: 'POST', headers: json, body: '{"query":5}' })],
      ['variables a string', await fetch(server.url, { method: 'POST', headers: json, body: '{"query":"{ __typename }","variables":"x"}' })],
      ['a mutation by GET', await byGet('mutation { leaveQueue(concertId: "1") { state } }', { 'apollo-require-preflight': 'true' }), [405, 'GRAPHQL_PARSE_FAILED']],
      ['GET without a preflight header', await byGet('{ __typename }', { accept: 'application/json' }), [400, 'GRAPHQL_PARSE_FAILED']],
      ['an unknown operation name', await fetch(server.url, { method: 'POST', headers: json, body: JSON.stringify({ query: 'query A { __typename }', operationName: 'B' }) }), [undefined, 'GRAPHQL_VALIDATION_FAILED']],
      ['two operations, no name', await fetch(server.url, { method: 'POST', headers: json, body: JSON.stringify({ query: 'query A { __typename } query B { __typename }' }) }), [undefined, 'GRAPHQL_VALIDATION_FAILED']],
    ];
    for (const [what, response, named] of refusals) {
      expect(response.status, what).toBeGreaterThanOrEqual(400);
      const code = ((await response.json()) as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code;
      expect(CONTRACT_CODES.has(code ?? ''), `${what}: ${code}`).toBe(true);
      if (named) expect([named[0] === undefined ? undefined : response.status, code], what).toEqual(named);
    }
    // Either header passes Apollo's CSRF check: a query by GET with a JSON content-type and no preflight header is answered.
    const withJsonType = await byGet('{ __typename }', json);
    expect(withJsonType.status).toBe(200);
    expect(await withJsonType.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('a body over 100 KB: 413', async () => {
    const answer = await post(JSON.stringify({ query: '{ __typename }', padding: 'x'.repeat(120_000) }));
    expect(answer.status).toBe(413);
    expect(answer.body.errors?.[0]).toMatchObject({ message: 'The request body is over 100kb.', extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
  });

  it('malformed JSON: 400 GRAPHQL_PARSE_FAILED', async () => {
    const answer = await post('{"query": "{ __typename }"');
    expect(answer.status).toBe(400);
    expect(answer.body.errors?.[0]).toMatchObject({ message: 'The request body is not valid JSON.', extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
  });

  it('a body that is not JSON: 415 GRAPHQL_PARSE_FAILED', async () => {
    const answer = await post('{ __typename }', { 'content-type': 'text/plain' });
    expect(answer.status).toBe(415);
    expect(answer.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  });

  it('a batch (JSON array), of one operation too: 400 GRAPHQL_PARSE_FAILED, none of it run', async () => {
    for (const batch of [[{ query: '{ __typename }' }, { query: '{ __typename }' }], [{ query: '{ __typename }' }]]) {
      const answer = await post(JSON.stringify(batch));
      expect(answer.status).toBe(400);
      expect(answer.body.errors?.[0]).toMatchObject({ message: expect.stringMatching(/one operation per request/), extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
    }
  });

  it('no query in the body: 400 GRAPHQL_PARSE_FAILED; a method other than GET or POST: 405', async () => {
    const empty = await post(JSON.stringify({ variables: {} }));
    expect(empty.status).toBe(400);
    expect(empty.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const response = await fetch(server.url, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
      expect(response.status, method).toBe(405);
      // Without a body or content-type too (Apollo's CSRF check would answer 400 first).
      const bare = await fetch(server.url, { method });
      expect(bare.status, `${method} without a body`).toBe(405);
      expect(bare.headers.get('allow')).toBe('GET, POST');
      expect(((await bare.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    }
  });

  it('argument values their type does not take, as variables or written into the operation: BAD_USER_INPUT; an unknown operation name: GRAPHQL_VALIDATION_FAILED', async () => {
    const fan = await fanOf(server);
    const wrongType = await gql(server.url, 'mutation($a: Int!) { chargePoints(amount: $a) { id } }', { a: 'lots' }, { token: fan.token });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    // The same values written into the operation: BAD_USER_INPUT as well (graphql-js calls them invalid operations).
    const literals = [
      ['a fraction for an Int', 'mutation { chargePoints(amount: 1.5) { id } }'],
      ['a word for an Int', 'mutation { chargePoints(amount: "lots") { id } }'],
      ['a date that is none', 'mutation { createConcert(input: { title: "T", venue: "V", maxActiveUsers: 1, schedules: [{ startsAt: "tomorrow", seatCount: 1, price: 1 }] }) { id } }'],
      ['a missing input field', 'mutation { createConcert(input: { title: "T", maxActiveUsers: 1, schedules: [] }) { id } }'],
      ['an unknown input field', 'mutation { createConcert(input: { title: "T", venue: "V", maxActiveUsers: 1, schedules: [], colour: "red" }) { id } }'],
    ] as const;
    // Refused before anything runs (so before ADMIN is asked for).
    for (const [label, query] of literals) {
      const answer = await gql(server.url, query, {}, { token: fan.token });
      expect(answer.status, label).toBe(400);
      expect(answer.body.errors?.[0]?.extensions?.code, label).toBe('BAD_USER_INPUT');
    }
    // A missing argument, or a field that does not exist, is a malformed operation.
    for (const query of ['mutation { chargePoints { id } }', 'mutation { chargePoints(amount: 1) { colour } }']) {
      expect((await gql(server.url, query, {}, { token: fan.token })).body.errors?.[0]?.extensions?.code, query).toBe('GRAPHQL_VALIDATION_FAILED');
    }
    const unknown = await post(JSON.stringify({ query: 'query A { __typename }', operationName: 'B' }));
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('a huge list in the variables: BAD_USER_INPUT before anything runs', async () => {
    const fan = await fanOf(server);
    const holdIds = Array.from({ length: 5000 }, (_, i) => `1.${i}.x`);
    const answer = await gql(server.url, 'mutation($h: [ID!]!) { pay(holdIds: $h, idempotencyKey: "k") { id } }', { h: holdIds }, { token: fan.token });
    expect(answer.status).toBe(400);
    expect(answer.body.errors?.[0]).toMatchObject({ message: 'A list in the variables holds 5000 items (limit 100).', extensions: { code: 'BAD_USER_INPUT' } });
  });

  it('variables nested 5 levels deep are taken, 6 refused with BAD_USER_INPUT before anything runs', async () => {
    const nested = (levels: number): unknown => (levels === 0 ? 1 : [nested(levels - 1)]);
    const five = await post(JSON.stringify({ query: '{ __typename }', variables: { x: nested(5) } }));
    expect([five.status, five.body.data]).toEqual([200, { __typename: 'Query' }]);
    const six = await post(JSON.stringify({ query: '{ __typename }', variables: { x: nested(6) } }));
    expect([six.status, six.body.errors?.[0]?.extensions?.code, six.body.errors?.[0]?.message]).toEqual([400, 'BAD_USER_INPUT', 'Variables nest at most 5 levels deep.']);
  });

  it('an automatic persisted query whose hash does not match its text: 400 GRAPHQL_PARSE_FAILED, not an internal error', async () => {
    const answer = await post(JSON.stringify({ query: '{ __typename }', extensions: { persistedQuery: { version: 1, sha256Hash: 'abc' } } }));
    expect(answer.status).toBe(400);
    expect(answer.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  });

  it('an automatic persisted query by its hash alone: PERSISTED_QUERY_NOT_FOUND (errors.md) until its text has been sent once', async () => {
    const query = '{ concerts { id } }';
    const persistedQuery = { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') };
    const unknown = await post(JSON.stringify({ extensions: { persistedQuery } }));
    expect(unknown.body.errors?.[0]).toMatchObject({ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } });
    expect((await post(JSON.stringify({ query, extensions: { persistedQuery } }))).body.errors).toBeUndefined();
    expect(await post(JSON.stringify({ extensions: { persistedQuery } }))).toMatchObject({ status: 200, body: { data: { concerts: expect.any(Array) } } });
  });

  it('a client that trickles its headers is cut off after 10 s, not after Node’s minute', async () => {
    const { port } = new URL(server.url);
    const socket = connect(Number(port), '127.0.0.1');
    const started = Date.now();
    socket.write('POST /graphql HTTP/1.1\r\nHost: localhost\r\n');
    // One header byte a second: never a whole request.
    const trickle = setInterval(() => socket.write('x'), 1000);
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
    });
    clearInterval(trickle);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(Date.now() - started).toBeGreaterThan(9_000);
    expect(Date.now() - started).toBeLessThan(14_000);
  }, 20_000);

  it('logged no error for any of them', () => {
    expect(log.lines().filter((line) => line.level >= ERROR_LEVEL)).toEqual([]);
  });
});

describe('headers', () => {
  it('security headers on every response; a page keeps its own, stricter-for-it CSP', async () => {
    const base = server.url.replace('/graphql', '');
    for (const path of ['/graphql', '/healthz', '/metrics', '/nowhere']) {
      const response = path === '/graphql' ? await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' }) : await fetch(base + path);
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      // Express's own 404 page sets a bare default-src 'none', as strict.
      expect(response.headers.get('content-security-policy'), path).toMatch(/^default-src 'none'/);
      expect(response.headers.get('x-frame-options'), path).toBe('SAMEORIGIN');
      expect(response.headers.get('strict-transport-security'), path).toMatch(/max-age=/);
      expect(response.headers.get('x-powered-by'), path).toBeNull();
    }
    const page = await fetch(server.url, { headers: { accept: 'text/html' } });
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp.match(/default-src/g)).toHaveLength(1);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('no GraphQL answer may be cached (cache-control: no-store), whether data, an error or a refusal', async () => {
    const fan = await fanOf(server);
    const answers = [
      await post(JSON.stringify({ query: '{ __typename }' })),
      await post(JSON.stringify({ query: '{ concerts { id title } }' })),
      await post(JSON.stringify({ query: '{ me { id } }' })),
      await post(JSON.stringify({ query: '{ nope }' })),
      await post(JSON.stringify({ query: 'subscription { queueStatus(concertId: "1") { state } }' })),
      // An automatic persisted query this replica does not know yet (Apollo marks it otherwise).
      await post(JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: createHash('sha256').update('{ me { email } }').digest('hex') } } })),
    ];
    const withToken = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${fan.token}` }, body: JSON.stringify({ query: '{ me { id email } }' }) });
    const byGet = await fetch(`${server.url}?query=${encodeURIComponent('{ concerts { id } }')}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(byGet.status).toBe(200);
    // Refused before Apollo, or by Apollo before its pipeline: each a status of its own.
    const refusals = [
      await post('{ "query": "{ __typename }" }', { 'content-type': 'text/plain' }),
      await post('{ "query": ', { 'content-type': 'application/json' }),
      await post(JSON.stringify([{ query: '{ __typename }' }])),
      await post(JSON.stringify({})),
      await post(JSON.stringify({ query: '{ __typename }', variables: 'not an object' })),
      await post(JSON.stringify({ query: `{ __typename } # ${'x'.repeat(110_000)}` })),
    ];
    const csrf = await fetch(`${server.url}?query=${encodeURIComponent('{ __typename }')}`);
    const method = await fetch(server.url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
    const bareOptions = await fetch(server.url, { method: 'OPTIONS' });
    expect([...refusals.map((r) => r.status), csrf.status, method.status, bareOptions.status]).toEqual([415, 400, 400, 400, 400, 413, 400, 405, 405]);
    for (const answer of [...answers.map((a) => a.headers), withToken.headers, byGet.headers, ...refusals.map((r) => r.headers), csrf.headers, method.headers, bareOptions.headers]) {
      expect(answer.get('cache-control')).toBe('no-store');
      // Nothing to revalidate: no ETag is computed for a GraphQL answer (the web app's assets keep theirs).
      expect(answer.get('etag')).toBeNull();
      expect(answer.get('x-powered-by')).toBeNull();
    }
  });

  it('CORS: only the configured origins (CORS_ORIGINS), none by default', async () => {
    const preflight = (origin: string) => fetch(server.url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' } });
    const allowed = await preflight(ORIGIN);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(allowed.headers.get('access-control-allow-headers')).toContain('authorization');
    const refused = await preflight('https://evil.example.com');
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    const simple = await fetch(server.url, { method: 'POST', headers: { origin: ORIGIN, 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
    expect(simple.headers.get('access-control-allow-origin')).toBe(ORIGIN);

    expect(loadConfig(testEnv('edges')).corsOrigins).toEqual([]);
    expect(() => loadConfig(testEnv('edges', { CORS_ORIGINS: 'tickets.example.com' }))).toThrow(/CORS_ORIGINS/);
  });
});
