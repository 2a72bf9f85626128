import { randomBytes } from 'node:crypto';
import { getIntrospectionQuery, GraphQLError } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, isUnanswered, isUnavailable } from '../src/errors';
import { CommitUncertain } from '../src/database/sql-transaction';
import { createLogger } from '../src/logger';
import { createErrorFormatter } from '../src/schema/format-error';
import { Api } from '../support/graphql-client';
import { startTestServer, type TestServer } from './support/harness';
import { signUp } from './support/client';
import { capturingLogger, ERROR_LEVEL } from './support/edge';

const wrap = (original: Error) => new GraphQLError(original.message, { originalError: original, path: ['me'] });

describe('error policy', () => {
  const production = createErrorFormatter(true, createLogger('silent'));

  it('hides unexpected errors (SQL, keys, stacks) in production', () => {
    const leak = new Error("ER_NO_SUCH_TABLE: select * from `users` where key = 'test:{c:1}:wait'");
    const formatted = production(wrap(leak).toJSON(), wrap(leak));
    expect(formatted).toEqual({ message: 'Something went wrong on our side.', path: ['me'], locations: undefined, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  });

  it('turns an unreachable MySQL or Redis into SERVICE_UNAVAILABLE without the details', () => {
    const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3306'), { code: 'ECONNREFUSED' });
    const formatted = production(wrap(down).toJSON(), wrap(down));
    expect(formatted.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE' });
    expect(formatted.message).not.toContain('3306');
    // A Redis Cluster failing over answers CLUSTERDOWN until the replica is promoted.
    const failover = new Error('Too many Cluster redirections. Last error: ReplyError: CLUSTERDOWN The cluster is down');
    expect(production(wrap(failover).toJSON(), wrap(failover)).extensions).toEqual({ code: 'SERVICE_UNAVAILABLE' });
    const moved = new Error('MOVED 3607 127.0.0.1:7720');
    expect(production(wrap(moved).toJSON(), wrap(moved)).extensions).toEqual({ code: 'SERVICE_UNAVAILABLE' });
  });

  it('passes the contract’s errors through with their code', () => {
    const error = wrap(new AppError('SEAT_UNAVAILABLE', 'Someone else holds this seat.'));
    expect(production(error.toJSON(), error)).toMatchObject({ message: 'Someone else holds this seat.', extensions: { code: 'SEAT_UNAVAILABLE' } });
  });
  it('answers a refused operation with its code alone: no HTTP status or other extension (over the WebSocket the error reaches the formatter as it is)', () => {
    const tooExpensive = new GraphQLError('This operation is too expensive.', { extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 }, internal: 'cost=123456' } });
    const formatted = production(tooExpensive.toJSON(), tooExpensive);
    expect(formatted.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
    expect(formatted.message).toBe('This operation is too expensive.');
    const badInput = new GraphQLError('Variable "$id" got invalid value.', { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });
    expect(production(badInput.toJSON(), badInput).extensions).toEqual({ code: 'BAD_USER_INPUT' });
  });

  it('finds an outage a few causes deep: SERVICE_UNAVAILABLE, and a wrapped Redis timeout of a mutation says asking again is safe', () => {
    const lost = Object.assign(new Error('Connection lost: The server closed the connection.'), { code: 'PROTOCOL_CONNECTION_LOST' });
    const uncertain = new CommitUncertain(lost);
    expect(isUnavailable(uncertain)).toBe(true);
    expect(production(wrap(uncertain).toJSON(), wrap(uncertain)).extensions).toEqual({ code: 'SERVICE_UNAVAILABLE' });
    expect(isUnavailable(new Error('outer', { cause: new Error('middle', { cause: new Error('connect ECONNREFUSED 127.0.0.1:6379') }) }))).toBe(true);
    const timedOut = new Error('step failed', { cause: new Error('Command timed out') });
    expect(isUnanswered(timedOut)).toBe(true);
    const onHold = new GraphQLError(timedOut.message, { originalError: timedOut, path: ['holdSeat'] });
    const formatted = production(onHold.toJSON(), onHold);
    expect(formatted.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE' });
    expect(formatted.message).toMatch(/Asking again is safe/);
  });
});

describe('a production server', () => {
  const productionLog = capturingLogger();
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('errors_prod', { NODE_ENV: 'production', JWT_SECRET: randomBytes(32).toString('hex'), PASSWORD_HASH_COST: '15', RUN_WORKERS: 'false' }, { logger: productionLog.logger });
  });
  afterAll(() => server.stop());

  it('answers an unexpected failure with INTERNAL_SERVER_ERROR and a generic message only; the log has the cause', () => expectHiddenAndLogged(server, productionLog));

  it('answers malformed operations with Apollo’s codes and no stack trace', async () => {
    const api = new Api(server.url);
    const parse = await api.request('{ concerts { id ');
    expect(parse.errors?.[0]?.extensions).toEqual({ code: 'GRAPHQL_PARSE_FAILED' });
    const invalid = await api.request('{ concerts { nope } }');
    expect(invalid.errors?.[0]?.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
    const unauthenticated = await api.request('{ me { id } }');
    expect(unauthenticated.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
  });

  it('quotes a malformed ID in its answer cut short and escaped, never echoed in full', async () => {
    const api = new Api(server.url);
    const long = await api.request('query($id: ID!) { concert(id: $id) { id } }', { id: `x\u0007${'y'.repeat(90_000)}` });
    expect(long.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT' });
    expect(long.errors?.[0]?.message).toBe(`"x\\u0007${'y'.repeat(38)}…" is not a valid concert ID.`);
    const short = await api.request('query($id: ID!) { concert(id: $id) { id } }', { id: 'abc' });
    expect(short.errors?.[0]?.message).toBe('"abc" is not a valid concert ID.');
  });

  it('stops parsing a document past 1,000 tokens (validating one costs up to quadratic time); the introspection query passes', async () => {
    const api = new Api(server.url);
    const repeated = (fields: number) => `{ concerts { ${'id '.repeat(fields)}} }`;
    // Parsed, then refused by graphql-js's own bound on its overlapping-fields check.
    expect((await api.request(repeated(990))).errors?.[0]?.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
    // Refused while parsing (the one below the cap got as far as validation).
    const long = await api.request(repeated(1000));
    expect(long.errors?.[0]?.extensions).toEqual({ code: 'GRAPHQL_PARSE_FAILED' });
    expect((await api.request(getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true }))).errors).toBeUndefined();
  });
});

describe('a server outside development mode (NODE_ENV=test here)', () => {
  const testModeLog = capturingLogger();
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('errors_test_mode', { RUN_WORKERS: 'false' }, { logger: testModeLog.logger });
  });
  afterAll(() => server.stop());

  it('answers an unexpected failure with INTERNAL_SERVER_ERROR and a generic message: no SQL, table or stack; the log has the cause', () => expectHiddenAndLogged(server, testModeLog));
});

/** errors.md: a failure the service did not expect is logged with its cause; the client gets the code and a generic message only. */
async function expectHiddenAndLogged(server: TestServer, log: ReturnType<typeof capturingLogger>): Promise<void> {
  const fan = await signUp(new Api(server.url));
  const sql = server.app.orm.em.getConnection();
  await sql.execute('rename table point_transactions to point_transactions_away');
  try {
    const answer = await fan.api.request('{ me { pointHistory { amount } } }');
    expect(answer.errors?.[0]).toMatchObject({ message: 'Something went wrong on our side.', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(JSON.stringify(answer)).not.toMatch(/point_transactions|ER_NO_SUCH_TABLE|stacktrace|\.js:\d/);
  } finally {
    await sql.execute('rename table point_transactions_away to point_transactions');
  }
  const logged = log.lines().filter((line) => line.level >= ERROR_LEVEL);
  expect(JSON.stringify(logged)).toMatch(/point_transactions/);
}
