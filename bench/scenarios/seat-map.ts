import { createClient, type Client } from 'graphql-ws';
import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import WebSocket from 'ws';
import { runScript } from '../../src/redis';
import { PUBLISH_SEAT_CHANGE } from '../../src/redis/pubsub-scripts';
import { seatState, SeatStatus } from '../../src/seats/seat';
import { SEAT_LOG_IDLE_MS, SEAT_LOG_KEEP_MS } from '../../src/seats/seat-events';
import type { BenchContext, Scenario } from '../lib/context';
import type { Control } from '../lib/control';
import { postAcceptingGzip } from '../../support/graphql-client';
import { ErrorTally, load, type LoadResult, type LoadSpec } from '../lib/http';
import { errorRow, row, type Row } from '../lib/report';
import { ServerCost } from '../lib/server-cost';
import { fmtMs, fmtNumber, fmtRatio, median, timedRuns } from '../lib/util';

/** A stadium: the largest schedule a concert may have. */
const SEATS = 100_000;
/** Two seats in five sold: a map read in the middle of a sale. */
const SOLD_EVERY = 5;
const SOLD_OF_EVERY = 2;
const READS = 10;
/** The map as seats, and as the lists the web app reads. */
const READS_OF = {
  seats: 'query($id: ID!) { schedule(id: $id) { id seats { id number price status } } }',
  seatMap: 'query($id: ID!) { schedule(id: $id) { id seatMap { ids prices statuses } } }',
} as const;
type Shape = keyof typeof READS_OF;
/** Fans opening the map at once, as those a tick admits together do: each reads it twice. */
const TOGETHER = 20;
/** A fan's feed started again from the cursor of the last change it heard (the web app after a reconnect), per run. */
const RESUMES = 50;
/** Seat changes made while that fan's socket was down, each of another seat. */
const CHANGES_SINCE = 100;
const CURSOR = 'query($id: ID!) { schedule(id: $id) { seatChangesCursor } }';
const RESUME = 'subscription($id: ID!, $after: String) { seatChanged(scheduleId: $id, after: $after) { id status seatChangesCursor } }';

/** Announces `count` seats HELD as another replica would (one logged publish each): what a resumed feed is told. */
async function changeSeats(control: Control, concertId: number, scheduleId: number, seatIds: number[], count: number): Promise<void> {
  const { channels } = control.keys;
  for (let i = 0; i < count; i++) {
    const seat = seatState({ id: seatIds[i] as number, scheduleId, concertId, number: i + 1, price: 100 }, SeatStatus.HELD);
    await runScript(control.redis, PUBLISH_SEAT_CHANGE, { log: channels.seatLog(scheduleId) }, SEAT_LOG_KEEP_MS, SEAT_LOG_IDLE_MS, channels.seatChanged(scheduleId), JSON.stringify(seat));
  }
}

/** One seatChanged subscription from `after`, until it has told `changes` changes; resolves when done. */
function resumeOnce(socket: Client, scheduleId: number, after: string, changes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let told = 0;
    const stop = socket.subscribe(
      { query: RESUME, variables: { id: String(scheduleId), after } },
      {
        next: (message) => {
          if (message.errors) reject(new Error(JSON.stringify(message.errors)));
          else if (++told === changes) {
            stop();
            resolve();
          }
        },
        error: (error: unknown) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
        complete: () => reject(new Error(`seatChanged completed after ${told} changes`)),
      },
    );
  });
}

/** Sells two seats in five of the schedule straight in SQL, to one user and one payment (what is measured is reading them). */
async function sellPart(control: Control, userId: number, seatIds: number[]): Promise<number> {
  const sold = seatIds.filter((_id, i) => i % SOLD_EVERY < SOLD_OF_EVERY);
  const [{ insertId: paymentId }] = await control.sql.query<ResultSetHeader>('INSERT INTO payments (user_id, idempotency_key, request_hash, amount, balance) VALUES (?, ?, ?, ?, ?)', [userId, 'seat-map', 'bench', 0, 0]);
  for (let i = 0; i < sold.length; i += 5000) {
    await control.sql.query('INSERT INTO reservations (code, seat_id, user_id, payment_id, price) VALUES ?', [sold.slice(i, i + 5000).map((seatId) => [`sm-${seatId}`, seatId, userId, paymentId, 0])]);
  }
  return sold.length;
}

/**
 * The baseline: the same map read by hand in the bench process, without HTTP or GraphQL: the seats
 * read once and kept (they never change; the server keeps them too), the sold ones from MySQL
 * (mysql2) and the holds from Redis at each read, one status each, the answer's JSON.
 */
class MapByHand {
  private seats?: Promise<RowDataPacket[]>;

  constructor(
    private readonly control: Control,
    private readonly scheduleId: number,
  ) {}

  async read(): Promise<number> {
    const { control, scheduleId } = this;
    this.seats ??= control.sql.query<RowDataPacket[]>('SELECT id, number, price FROM seats WHERE schedule_id = ? ORDER BY number', [scheduleId]).then(([rows]) => rows);
    const [seats, [sold], holds] = await Promise.all([
      this.seats,
      control.sql.query<RowDataPacket[]>('SELECT r.confirmed_seat_id AS id FROM reservations r JOIN seats s ON s.id = r.confirmed_seat_id WHERE s.schedule_id = ?', [scheduleId]),
      control.redis.zrangebyscore(control.keys.holds(scheduleId).expiry, Date.now(), '+inf'),
    ]);
    const reserved = new Set(sold.map((r) => Number(r.id)));
    const held = new Set(holds);
    const map = seats.map((s) => ({ id: String(s.id), number: s.number, price: s.price, status: reserved.has(Number(s.id)) ? 'RESERVED' : held.has(String(s.id)) ? 'HELD' : 'AVAILABLE' }));
    return JSON.stringify({ data: { schedule: { id: String(scheduleId), seats: map } } }).length;
  }
}

/**
 * Schedule.seats of a 100,000-seat schedule, two seats in five sold, read by an ACTIVE fan one at a
 * time (what a fan's turn starts with), against the same reads and the answer's JSON done by hand.
 */
export const seatMap: Scenario = {
  name: 'seatMap',
  title: 'Schedule.seats of a 100,000-seat schedule, one read at a time, vs the same reads by hand (mysql2, ioredis, JSON)',
  async run(ctx: BenchContext): Promise<Row[]> {
    const { control, options } = ctx;
    await control.resetRedis();
    // One bench user reads the map over and over: what is measured is a read's cost, not the account's budget.
    const server = await ctx.server('seatMap', { SEAT_MAP_FIELDS_PER_MINUTE: '0' });
    try {
      const [fan] = await control.users(1);
      if (!fan) throw new Error('no bench user');
      const { concertId, scheduleId, seatIds } = await control.concert(10, SEATS);
      const sold = await sellPart(control, fan.id, seatIds);
      await control.admit(concertId, [fan.id]);
      ctx.log(`${fmtNumber(SEATS)} seats, ${fmtNumber(sold)} sold`);

      const tally = new ErrorTally();
      const bytes: Record<Shape, number> = { seats: 0, seatMap: 0 };
      const mapRequest = { query: READS_OF.seatMap, variables: { id: String(scheduleId) } };
      /** `amount` reads of the map as `shape` by the fan over `connections` connections. */
      const loadMap = (shape: Shape, spec: Pick<LoadSpec, 'connections' | 'amount' | 'acceptGzip' | 'onResponse'>): Promise<LoadResult> =>
        load({ url: server.url, body: () => JSON.stringify({ query: READS_OF[shape], variables: mapRequest.variables }), token: () => fan.token, ...spec });
      const readMaps = (shape: Shape, measured: boolean): Promise<LoadResult> =>
        loadMap(shape, {
          connections: 1,
          amount: READS,
          onResponse: (_i, status, text) => {
            bytes[shape] = text.length;
            if (measured) tally.see(status, text);
          },
        });
      const mapByHand = new MapByHand(control, scheduleId);
      const byHand = () => timedRuns(Array.from({ length: READS }), 1, () => mapByHand.read());
      await readMaps('seats', false);
      await readMaps('seatMap', false);
      await byHand();
      const results: Record<Shape, LoadResult[]> = { seats: [], seatMap: [] };
      const costs: Record<Shape, ServerCost> = { seats: new ServerCost(), seatMap: new ServerCost() };
      const rawResults: { tps: number; cpuMs: number }[] = [];
      // As a browser asks for it (gzip), one at a time: what compressing the answer adds.
      const gzipCost = new ServerCost();
      const gzipBytes: number[] = [];
      const readGzipped = () =>
        loadMap('seatMap', {
          connections: 1,
          amount: READS,
          acceptGzip: true,
          onResponse: (_i, status, text) => {
            if (status !== 200) tally.see(status, text);
          },
        });
      const togetherCost = new ServerCost();
      const togetherResults: LoadResult[] = [];
      const readTogether = () => loadMap('seatMap', { connections: TOGETHER, amount: 2 * TOGETHER, onResponse: (_i, status, text) => tally.see(status, text) });
      const resumeCost = new ServerCost();
      const resumeMs: number[] = [];
      const socket = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${fan.token}` }, retryAttempts: 0 });
      const readCursor = async () => {
        const response = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${fan.token}` }, body: JSON.stringify({ query: CURSOR, variables: { id: String(scheduleId) } }) });
        return ((await response.json()) as { data: { schedule: { seatChangesCursor: string } } }).data.schedule.seatChangesCursor;
      };
      for (let run = 0; run < options.runs; run++) {
        const raw = await byHand();
        rawResults.push(raw);
        for (const shape of ['seats', 'seatMap'] as const) {
          const go = () => costs[shape].measure(server, () => readMaps(shape, true));
          const result = run === 0 ? await ctx.profiled(server, shape, go) : await go();
          results[shape].push(result);
          ctx.detail('seatMap', `run ${run + 1}, ${shape}: ${fmtNumber(result.rps * 60)} maps a minute (${fmtMs(1000 / result.rps)} each) | by hand ${fmtNumber(raw.tps * 60)} a minute (${fmtMs(1000 / raw.tps)}, ${raw.cpuMs.toFixed(0)} ms of CPU)`);
        }
        await gzipCost.measure(server, readGzipped);
        gzipBytes.push((await postAcceptingGzip(server.url, mapRequest, fan.token)).body.length);
        const together = await togetherCost.measure(server, readTogether);
        togetherResults.push(together);
        ctx.detail('seatMap', `run ${run + 1}, seatMap by ${TOGETHER} fans at once: ${fmtNumber(together.rps * 60)} maps a minute`);
        // A fan's socket drops; seats change meanwhile; the feed starts again from its last cursor.
        const cursor = await readCursor();
        await changeSeats(control, concertId, scheduleId, seatIds.slice(run * CHANGES_SINCE), CHANGES_SINCE);
        const started = performance.now();
        await resumeCost.measure(server, async () => {
          for (let i = 0; i < RESUMES; i++) await resumeOnce(socket, scheduleId, cursor, CHANGES_SINCE);
          return { responses: RESUMES };
        });
        resumeMs.push((performance.now() - started) / RESUMES);
        ctx.detail('seatMap', `run ${run + 1}, resume: ${RESUMES} feeds started again from a cursor, each told the ${CHANGES_SINCE} changes since, ${fmtMs(resumeMs.at(-1)!)} each`);
      }
      await socket.dispose();
      const rows: Row[] = [];
      for (const shape of ['seats', 'seatMap'] as const) {
        const ratio = median(results[shape].map((r, i) => r.rps / (rawResults[i] as { tps: number }).tps));
        ctx.detail('seatMap', `one read of Schedule.${shape} costs ≈ ${costs[shape].summary()}; its answer is ${fmtNumber(bytes[shape])} bytes`);
        rows.push(
          row({
            scenario: `seatMap (Schedule.${shape})`,
            metric: 'throughput, one at a time',
            result: `${median(results[shape].map((r) => r.rps * 60)).toFixed(0)} maps/min`,
            baseline: `${median(rawResults.map((r) => r.tps * 60)).toFixed(0)} maps/min (by hand)`,
            ratio: fmtRatio(ratio),
          }),
          row({ scenario: `seatMap (Schedule.${shape})`, metric: 'server CPU a map', result: `${costs[shape].cpuMs().toFixed(0)} ms`, baseline: `${median(rawResults.map((r) => r.cpuMs)).toFixed(0)} ms (bench CPU, by hand)` }),
        );
      }
      ctx.detail('seatMap', `one read of Schedule.seatMap asking for gzip costs ≈ ${gzipCost.summary()}; its answer is ~${fmtNumber(median(gzipBytes))} bytes gzipped`);
      rows.push(
        row({
          scenario: 'seatMap (Schedule.seatMap, gzipped)',
          metric: 'server CPU a map, one at a time, vs not compressed',
          result: `${gzipCost.cpuMs().toFixed(0)} ms (~${fmtNumber(median(gzipBytes))} bytes)`,
          baseline: `${costs.seatMap.cpuMs().toFixed(0)} ms (not compressed, same run)`,
          ratio: fmtRatio(gzipCost.cpuMs() / costs.seatMap.cpuMs()),
        }),
      );
      ctx.detail('seatMap', `one read of Schedule.seatMap by ${TOGETHER} fans at once costs ≈ ${togetherCost.summary()}`);
      rows.push(
        row({
          scenario: `seatMap (Schedule.seatMap, ${TOGETHER} fans at once)`,
          metric: 'server CPU a map, vs one at a time',
          result: `${togetherCost.cpuMs().toFixed(0)} ms (${median(togetherResults.map((r) => r.rps * 60)).toFixed(0)} maps/min)`,
          baseline: `${costs.seatMap.cpuMs().toFixed(0)} ms (one at a time, same run)`,
          ratio: fmtRatio(togetherCost.cpuMs() / costs.seatMap.cpuMs()),
        }),
      );
      ctx.detail('seatMap', `one feed started again from a cursor costs ≈ ${resumeCost.summary()}`);
      rows.push(
        row({
          scenario: 'seatMap (a feed resumed from a cursor)',
          metric: `server CPU a resume (${CHANGES_SINCE} changes since), vs a seatMap read`,
          result: `${resumeCost.cpuMs().toFixed(2)} ms (${fmtMs(median(resumeMs))} each)`,
          baseline: `${costs.seatMap.cpuMs().toFixed(0)} ms (a seatMap read, same run)`,
          ratio: fmtRatio(resumeCost.cpuMs() / costs.seatMap.cpuMs()),
        }),
      );
      ctx.detail('seatMap', `answers: ${tally.summary()}`);
      if (tally.errors > 0 || tally.ok !== (2 * READS + 2 * TOGETHER) * options.runs) rows.push(errorRow('seatMap', `unexpected answers: ${tally.summary()}`));
      return rows;
    } finally {
      await ctx.stopServer(server);
    }
  },
};
