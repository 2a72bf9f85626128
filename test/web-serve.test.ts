import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEB_APP_CSP, webAppRouter } from '../src/http/web-app';

/* How / is served, on a bare Express app and a made-up build (no database, no Vite). */

let built: string;
let urls: { built: string; missing: string };
const servers: import('node:http').Server[] = [];

function listen(app: express.Express): Promise<string> {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
    servers.push(server);
  });
}

beforeAll(async () => {
  built = mkdtempSync(path.join(tmpdir(), 'web-build-'));
  mkdirSync(path.join(built, 'assets'));
  writeFileSync(path.join(built, 'index.html'), '<!doctype html><script type="module" src="/assets/index-abc123.js"></script>');
  writeFileSync(path.join(built, 'assets', 'index-abc123.js'), 'console.log("app");'.repeat(100));
  const withBuild = express().use(webAppRouter(built));
  const withoutBuild = express().use(webAppRouter(path.join(built, 'missing')));
  urls = { built: await listen(withBuild), missing: await listen(withoutBuild) };
});

afterAll(() => {
  for (const server of servers) server.close();
  rmSync(built, { recursive: true, force: true });
});

describe('web app route', () => {
  it('serves index.html with the policy, revalidated on every visit', async () => {
    const response = await fetch(`${urls.built}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('content-security-policy')).toBe(WEB_APP_CSP);
    expect(WEB_APP_CSP).toMatch(/script-src 'self'(;|$)/);
    expect(WEB_APP_CSP).not.toMatch(/unsafe-inline|https?:/);
    // A browser revalidating (fetch() itself would add cache-control: no-cache to a conditional request).
    const etag = response.headers.get('etag');
    expect(etag).toBeTruthy();
    expect((await fetch(`${urls.built}/`, { headers: { 'if-none-match': etag!, 'cache-control': 'max-age=0' } })).status).toBe(304);
  });

  it('serves hashed assets gzipped and cached for a year; unknown names are 404', async () => {
    const asset = await fetch(`${urls.built}/assets/index-abc123.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toContain('text/javascript');
    expect(asset.headers.get('content-encoding')).toBe('gzip');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await asset.text()).toContain('console.log("app")');
    expect((await fetch(`${urls.built}/assets/index-zzz.js`)).status).toBe(404);
    expect((await fetch(`${urls.built}/assets/..%2Findex.html`)).status).toBe(404);
  });

  it('answers 503 with what to run when the app is not built, and keeps serving', async () => {
    const response = await fetch(`${urls.missing}/`);
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toContain('text/plain');
    expect(await response.text()).toContain('npm run build');
    expect((await fetch(`${urls.missing}/`)).status).toBe(503);
  });
  it('says hashed assets vary by Accept-Encoding, gzipped or not, so a shared cache never hands gzip to a client that did not ask for it', async () => {
    for (const encoding of ['gzip', 'identity']) {
      const asset = await fetch(`${urls.built}/assets/index-abc123.js`, { headers: { 'accept-encoding': encoding } });
      expect(asset.status).toBe(200);
      expect(asset.headers.get('vary') ?? '').toMatch(/accept-encoding/i);
      if (encoding === 'identity') expect(asset.headers.get('content-encoding')).toBeNull();
    }
  });

  it('serves an asset that appears after it was first asked for (a fresh build): a miss is not remembered', async () => {
    expect((await fetch(`${urls.built}/assets/later-def456.js`)).status).toBe(404);
    writeFileSync(path.join(built, 'assets', 'later-def456.js'), 'console.log("later");');
    const later = await fetch(`${urls.built}/assets/later-def456.js`);
    expect(later.status).toBe(200);
    expect(await later.text()).toContain('later');
  });
});
