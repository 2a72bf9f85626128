import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIPv6 } from 'node:net';
import cors from 'cors';
import express, { type ErrorRequestHandler, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import proxyaddr from 'proxy-addr';
import type { Logger } from '../logger';
import { sharedNow } from '../redis/clock';
import { UNREADABLE_REQUEST } from '../schema/format-error';

/**
 * Which hops X-Forwarded-For may name the client through. With TRUST_PROXY, only the nearest one: the
 * entry the proxy in front appended, the last in the header. Entries before it come from the client
 * and could be anything, so trusting them would let anyone pick the address the per-IP limits count.
 */
export function trustedProxies(trustProxy: boolean): (address: string, hop: number) => boolean {
  return trustProxy ? (_address, hop) => hop < 1 : () => false;
}

/**
 * The client as the per-address limits count it: an IPv4 address as it is (also when written as
 * IPv6, `::ffff:a.b.c.d`), an IPv6 address by its /64 network (`2001:db8:0:1::/64`). One household or
 * host gets a whole /64 and may take a new address from it for every request, so counting single
 * IPv6 addresses would limit nothing.
 */
export function limitedAddress(address: string): string {
  const host = withoutPort(address);
  const bare = host.split('%')[0] as string; // a zone index (fe80::1%eth0) names no other network
  if (!isIPv6(bare)) return host;
  const groups = ipv6Groups(bare);
  // ::ffff:0:0/96 is IPv4 written as IPv6, however it is spelled (::ffff:1.2.3.4, ::ffff:102:304…).
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    const [high = 0, low = 0] = groups.slice(6);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return `${groups.slice(0, 4).map((group) => group.toString(16)).join(':')}::/64`;
}

/**
 * The address without the port some proxies write into X-Forwarded-For (`1.2.3.4:5678`,
 * `[2001:db8::1]:443`): counted with it, every new connection of one client would be a new address.
 */
function withoutPort(address: string): string {
  const match = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(address) ?? /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  return match ? (match[1] as string) : address;
}

/** A valid IPv6 address (no zone index) as its eight 16-bit groups: `::` expanded, a dotted IPv4 tail as two groups. */
function ipv6Groups(address: string): number[] {
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  const [a = 0, b = 0, c = 0, d = 0] = dotted ? (dotted[2] as string).split('.').map(Number) : [];
  const text = dotted ? `${dotted[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}` : address;
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part ? part.split(':').map((group) => parseInt(group, 16)) : []);
  const before = parse(head);
  const after = parse(tail ?? '');
  return tail === undefined ? before : [...before, ...Array<number>(8 - before.length - after.length).fill(0), ...after];
}

/** The client's address as Express's req.ip would give it, for requests Express never sees (WebSocket upgrades). */
export function clientAddress(request: IncomingMessage, trust: (address: string, hop: number) => boolean): string {
  // A socket closed before its address was read has none (Node forgets it): one name for all of those.
  return proxyaddr(request, trust) || 'unknown';
}

/**
 * Security headers on every response. The Content-Security-Policy here suits what most routes send
 * (JSON, metrics, scripts): nothing may load, nothing may frame it. A page sets its own policy, which
 * replaces this one (the playground and the web app do).
 *
 * helmet decides the headers; they depend on nothing in the request, so its middleware runs once, at
 * start, and each response gets the list it wrote in one call. Run per request, helmet rebuilt the
 * same headers (the CSP string included) every time: about a tenth of a queueStatus request's CPU.
 */
export function securityHeaders(): RequestHandler {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader: (name: string, value: string) => headers.set(name, value),
    removeHeader: (name: string) => headers.delete(name),
  };
  const policy = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
    },
  });
  let ran = false;
  policy({} as IncomingMessage, recorder as unknown as ServerResponse, () => (ran = true));
  // helmet answers synchronously; a version that did not would leave responses without headers.
  if (!ran) throw new Error('helmet did not write its headers synchronously');
  return (_req, res, next) => {
    res.setHeaders(headers);
    next();
  };
}

/**
 * The Date header on the shared clock (sharedNow): web clients count holds and turns down against it,
 * and those deadlines are Redis's. Node's own header is this process's clock, off by however far it
 * has drifted from Redis's. Written once a second, as Node writes its own.
 */
export function sharedClockDate(): RequestHandler {
  let second = -1;
  let header = '';
  return (_req, res, next) => {
    const now = sharedNow();
    if (Math.floor(now / 1000) !== second) {
      second = Math.floor(now / 1000);
      header = new Date(now).toUTCString();
    }
    res.setHeader('Date', header);
    next();
  };
}

/**
 * Every answer of /graphql is `cache-control: no-store`: one fan's own state (place in line, holds,
 * balance) or a catalogue whose counts move every second. Set before anything answers, so the
 * refusals made before Apollo runs (405, 413, 415, malformed JSON, a batch, its CSRF check) carry it
 * as its answers do. A page served there (the playground's) sets its own.
 */
export function notStored(): RequestHandler {
  return (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  };
}

/**
 * CORS for /graphql: only the configured origins (none by default, so browsers on other sites are
 * refused). A bare OPTIONS, no preflight (it names no method to come), is a method other than GET or
 * POST, refused as the others are (405), not answered as a preflight.
 */
export function corsFor(origins: readonly string[]): RequestHandler {
  const preflights = cors({ origin: [...origins], methods: ['GET', 'POST'], allowedHeaders: ['content-type', 'authorization', 'apollo-require-preflight'], maxAge: 600 });
  return (req, res, next) => {
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] === undefined) return refuseMethod(res);
    preflights(req, res, next);
  };
}

/** A request that is not one usable GraphQL operation, refused before Apollo: errors.md's code for it. */
const badRequest = (status: number, message: string) => ({ status, body: { errors: [{ message, extensions: { code: UNREADABLE_REQUEST } }] } });

/**
 * JSON bodies up to `limit`, one operation each. A POST that is not JSON is refused here, with a code,
 * rather than by Apollo's CSRF check; so is a batch (a JSON array): each operation counts against the
 * rate limits on its own, and one request must not carry a hundred.
 */
export function jsonBody(limit: string): RequestHandler[] {
  return [
    express.json({ limit }),
    (req, res, next) => {
      if (req.method !== 'POST') return next();
      const refused =
        req.body === undefined
          ? badRequest(415, 'Send the operation as JSON, with content-type: application/json.')
          : Array.isArray(req.body)
            ? badRequest(400, 'Batched requests are not accepted: send one operation per request.')
            : undefined;
      if (!refused) return next();
      res.status(refused.status).json(refused.body);
    },
  ];
}

/**
 * /graphql takes GET and POST (and the CORS preflight, answered before this). Any other method is 405
 * here, with or without a body: left to Apollo, one without a content-type met its CSRF check first
 * and came back 400.
 */
export function graphqlMethods(): RequestHandler {
  return (req, res, next) => {
    if (req.method === 'GET' || req.method === 'POST') return next();
    refuseMethod(res);
  };
}

/** Written out whole: answered by the main app (a bare OPTIONS, in corsFor), res.json would add an ETag. */
function refuseMethod(res: Response): void {
  res
    .status(405)
    .set({ allow: 'GET, POST', 'content-type': 'application/json; charset=utf-8' })
    .end(JSON.stringify(badRequest(405, 'Use GET or POST for /graphql.').body));
}

interface HttpError {
  status?: unknown;
  type?: unknown;
}

/**
 * The answer to a request Express refused before GraphQL saw it (body-parser's errors: too large,
 * malformed JSON, an unknown charset): its status and GRAPHQL_PARSE_FAILED. Anything else is our fault: logged,
 * and answered as INTERNAL_SERVER_ERROR without details.
 */
export function requestErrors(logger: Logger, limit: string): ErrorRequestHandler {
  return (error: unknown, _req, res, next) => {
    if (res.headersSent) return next(error);
    const { status, type } = (error ?? {}) as HttpError;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const message =
        type === 'entity.too.large'
          ? `The request body is over ${limit}.`
          : type === 'entity.parse.failed'
            ? 'The request body is not valid JSON.'
            : type === 'charset.unsupported' || type === 'encoding.unsupported'
              ? 'Send the body as UTF-8 JSON, uncompressed or gzip/deflate.'
              : 'The request could not be read.';
      const answer = badRequest(status, message);
      res.status(answer.status).json(answer.body);
      return;
    }
    logger.error({ err: error }, 'unexpected error');
    res.status(500).json({ errors: [{ message: 'Something went wrong on our side.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
  };
}
