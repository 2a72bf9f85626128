/**
 * Scripted abusers, played beside the fans: one hammers enterQueue, one hammers holdSeat, one opens
 * too many sockets. Each has its own account and address, so what the limits refuse is theirs.
 */
import type { GqlResponse } from '../../support/graphql-client';
import { ENTER, HOLD } from '../../support/operations';
import type { Stage } from './fan';
import { StatusSocket } from './status-socket';
import { sleep } from '../lib/util';

export interface AbuserResult {
  name: string;
  attempts: number;
  /** Answers by error code ('' = served). */
  answers: Record<string, number>;
}


async function hammer(name: string, token: string, ip: string, urls: string[], query: string, variables: Record<string, unknown>, untilMs: number): Promise<AbuserResult> {
  const result: AbuserResult = { name, attempts: 0, answers: {} };
  const lane = async (_: unknown, index: number) => {
    const url = urls[index % urls.length] as string;
    while (Date.now() < untilMs) {
      result.attempts++;
      let code = '';
      try {
        const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-forwarded-for': ip }, body: JSON.stringify({ query, variables }) });
        const body = (await response.json()) as GqlResponse<unknown>;
        code = body.errors?.[0]?.extensions?.code ?? '';
      } catch {
        code = 'NETWORK';
      }
      result.answers[code] = (result.answers[code] ?? 0) + 1;
      // Refused: a real abuser would not wait; this one only pauses a little not to starve the machine.
      if (code === 'RATE_LIMITED') await sleep(20);
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  return result;
}

async function socketHog(token: string, ip: string, wsUrl: string, concertId: string, sockets: number, holdMs: number): Promise<AbuserResult> {
  const result: AbuserResult = { name: `${sockets} sockets on one account`, attempts: sockets, answers: {} };
  const outcomes: string[] = Array.from({ length: sockets }, () => 'no answer');
  const hogs = outcomes.map((_, i) => {
    const socket = new StatusSocket(wsUrl, token, ip, concertId, {
      opened: () => undefined,
      acknowledged: () => undefined,
      status: () => (outcomes[i] = ''),
      ended: (reason) => (outcomes[i] = outcomes[i] === '' ? '' : reason),
    });
    socket.open();
    return socket;
  });
  await sleep(holdMs);
  for (const outcome of outcomes) result.answers[outcome] = (result.answers[outcome] ?? 0) + 1;
  for (const hog of hogs) hog.close();
  return result;
}

/** Plays the three abusers for `seconds` from the opening; resolves with what each got. */
export async function playAbusers(users: { id: number; token: string }[], stage: Stage, seconds: number): Promise<AbuserResult[]> {
  const [a, b, c] = users;
  if (!a || !b || !c) return [];
  const urls = stage.urls.map(({ url }) => url);
  const { wsUrl } = stage.urls[0] as { url: string; wsUrl: string };
  await sleep(stage.openAt - Date.now());
  const until = Date.now() + seconds * 1000;
  return Promise.all([
    hammer('enterQueue hammer (8 at once, across replicas)', a.token, '172.16.0.1', urls, ENTER, { id: stage.concertId }, until),
    hammer('holdSeat hammer (8 at once, across replicas, not ACTIVE)', b.token, '172.16.0.2', urls, HOLD, { seatId: '1' }, until),
    socketHog(c.token, '172.16.0.3', wsUrl, stage.concertId, 10, 10_000),
  ]);
}
