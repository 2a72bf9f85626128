import { createHash, timingSafeEqual } from 'node:crypto';
import { Router } from 'express';
import type { MysqlProbe } from '../database/mysql-probe';
import { redisServes, type RedisClient } from '../redis';
import type { Registry } from 'prom-client';
import { outcomeWithin } from '../time-limit';

const CHECK_TIMEOUT_MS = 1000;

async function answers(check: () => Promise<unknown>): Promise<boolean> {
  return (await outcomeWithin(Promise.resolve().then(check), CHECK_TIMEOUT_MS)) === 'fulfilled';
}

/** The token of "Bearer <token>" (the scheme in any letter case, as RFC 7235 has it), else ''. */
const presentedToken = (header: string | undefined) => /^bearer +(.+)$/i.exec(header?.trim() ?? '')?.[1] ?? '';
/** Compared in constant time (as digests, so the lengths say nothing either). */
const sameSecret = (given: string, expected: string) => timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest());

/**
 * /healthz (the process runs), /readyz (MySQL and Redis answer: route traffic here), /metrics
 * (Prometheus; with a METRICS_TOKEN only for a scraper that sends it: the figures say how a sale goes).
 */
export function healthRouter(mysql: MysqlProbe, redis: RedisClient, registry: Registry, metricsToken: string): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const [mysqlOk, redisOk] = await Promise.all([mysql.answers(CHECK_TIMEOUT_MS), answers(() => redisServes(redis))]);
    res.status(mysqlOk && redisOk ? 200 : 503).json({ status: mysqlOk && redisOk ? 'ready' : 'unavailable', mysql: mysqlOk ? 'up' : 'down', redis: redisOk ? 'up' : 'down' });
  });
  router.get('/metrics', async (req, res) => {
    if (metricsToken !== '' && !sameSecret(presentedToken(req.get('authorization')), metricsToken)) {
      res.status(401).set('WWW-Authenticate', 'Bearer realm="metrics"').json({ error: 'GET /metrics needs the METRICS_TOKEN bearer token.' });
      return;
    }
    res.type(registry.contentType).send(await registry.metrics());
  });
  return router;
}
