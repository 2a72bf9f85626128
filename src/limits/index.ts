import type { Counter } from 'prom-client';
import { Cluster } from 'ioredis';
import type { RedisClient, RedisKeys } from '../redis';
import { AnonymousSockets } from './anonymous-sockets';
import { SilentRedis, WindowCounter } from './counter';
import { LoginThrottle } from './login-throttle';
import { SignUpLimit } from './sign-up-limit';
import { SeatMapBudget } from './seat-map-budget';
import { OpeningSockets } from './opening-sockets';
import { OperationLimits } from './operation-limits';
import { SocketLeases, socketLeaseMs } from './socket-leases';
import { SocketMessageLimit } from './socket-messages';
import { SocketOperationCap } from './socket-operations';

export { refusal, OperationLimits } from './operation-limits';
export { LoginThrottle } from './login-throttle';
export { SignUpLimit } from './sign-up-limit';
export { SeatMapBudget } from './seat-map-budget';
export { SocketLeases, type SocketLease } from './socket-leases';
export { SocketOperationCap } from './socket-operations';
export type { MessageBudget } from './socket-messages';
export type { Verdict } from './counter';

export interface LimitSettings {
  perAccountPerMinute: number;
  perIpPerMinute: number;
  loginAttemptsPer15Min: number;
  signUpsPerIpPerHour: number;
  socketsPerAccount: number;
  /** SEAT_MAP_FIELDS_PER_MINUTE (0: off). */
  seatMapFieldsPerMinute: number;
  /** PRESENCE_GRACE_SECONDS: a dead replica's sockets stop counting well within it. */
  presenceGraceSeconds: number;
  operationWindowSeconds: number;
  loginWindowSeconds: number;
  signUpWindowSeconds: number;
}

export interface Limits {
  operations: OperationLimits;
  logIns: LoginThrottle;
  signUps: SignUpLimit;
  seatMaps: SeatMapBudget;
  sockets: SocketLeases;
  anonymousSockets: AnonymousSockets;
  openingSockets: OpeningSockets;
  operationsPerSocket: SocketOperationCap;
  messagesPerSocket: SocketMessageLimit;
}

/** Sockets without a valid token per client address and replica (see AnonymousSockets). */
const ANONYMOUS_SOCKETS_PER_ADDRESS = 20;
/**
 * Sockets per client address and replica that have not sent connection_init yet (each is closed
 * after 3 s without one): at least this many, and more when RATE_LIMIT_IP_PER_MINUTE allows an
 * address more than 1,200 operations a minute (a twelfth of it, five seconds' worth, at once). A
 * fan's socket is in that state for a round trip, so many at once from one address is a script;
 * without this, sockets that never sent it escaped the cap above (judged at connection_init) and one
 * address kept thousands open. Higher than that cap: a NAT's fans reconnecting together after a
 * replica died must not be turned away.
 */
const OPENING_SOCKETS_PER_ADDRESS = 100;
const openingSocketsPerAddress = (perIpPerMinute: number) => (perIpPerMinute === 0 ? Infinity : Math.max(OPENING_SOCKETS_PER_ADDRESS, Math.ceil(perIpPerMinute / 12)));

/** The abuse limits (contract: service.md, Abuse limits), all counted in Redis under `keys`. */
export function createLimits(redis: RedisClient, keys: RedisKeys, settings: LimitSettings, refusals: Counter<'limit'>): Limits {
  const silence = redis instanceof Cluster ? undefined : new SilentRedis(redis);
  const counter = (name: ConstructorParameters<typeof WindowCounter>[1], prefix: string, max: number, windowSeconds: number, blockInMemory = true) =>
    new WindowCounter(redis, name, prefix, max, windowSeconds, refusals, blockInMemory, silence);
  return {
    operations: new OperationLimits(
      counter('account', keys.limits.account, settings.perAccountPerMinute, settings.operationWindowSeconds),
      counter('ip', keys.limits.ip, settings.perIpPerMinute, settings.operationWindowSeconds),
      // On a Cluster the two counts live on different nodes: one not answering says nothing of the other.
      !(redis instanceof Cluster),
    ),
    // Counted before the password is checked and given back when it was right: no block from memory.
    logIns: new LoginThrottle(
      counter('login_email', keys.limits.loginEmail, settings.loginAttemptsPer15Min, settings.loginWindowSeconds, false),
      counter('login_ip', keys.limits.loginIp, settings.loginAttemptsPer15Min, settings.loginWindowSeconds, false),
    ),
    // Given back when no account was made: no block from memory.
    signUps: new SignUpLimit(counter('sign_up_ip', keys.limits.signUpIp, settings.signUpsPerIpPerHour, settings.signUpWindowSeconds, false)),
    seatMaps: new SeatMapBudget(counter('seat_maps', keys.limits.seatMaps, settings.seatMapFieldsPerMinute, settings.operationWindowSeconds)),
    sockets: new SocketLeases(redis, keys, settings.socketsPerAccount, socketLeaseMs(settings.presenceGraceSeconds), refusals),
    // A per-address limit: off with the others (RATE_LIMIT_IP_PER_MINUTE=0), as a tester driving many sockets from one address expects.
    anonymousSockets: new AnonymousSockets(settings.perIpPerMinute === 0 ? Infinity : ANONYMOUS_SOCKETS_PER_ADDRESS, refusals),
    openingSockets: new OpeningSockets(new AnonymousSockets(openingSocketsPerAddress(settings.perIpPerMinute), refusals, 'opening_sockets')),
    operationsPerSocket: new SocketOperationCap(refusals),
    messagesPerSocket: new SocketMessageLimit(refusals),
  };
}
