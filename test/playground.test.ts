import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/harness';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer('playground', { RUN_WORKERS: 'false' });
});
afterAll(() => server.stop());

describe('playground', () => {
  it('serves GraphiQL from the project’s own packages, loading nothing from elsewhere', async () => {
    const page = await fetch(server.url, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(csp).not.toMatch(/https?:/);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
    expect(assets.length).toBeGreaterThanOrEqual(4);
    for (const asset of assets) {
      // Same origin only (a data: icon is inline, not a load).
      expect(asset.startsWith('/') || asset.startsWith('data:')).toBe(true);
      if (asset.startsWith('data:')) continue;
      const response = await fetch(new URL(asset, server.url));
      expect(response.status, asset).toBe(200);
      expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    }
    expect(html).toMatch(/graphiql/i);
    // Every script is a file: no inline script the policy would have to allow.
    expect(html).not.toMatch(/<script>/);
    const boot = assets.find((asset) => asset.includes('boot.js'));
    expect(await (await fetch(new URL(boot!, server.url))).text()).toContain('createClient'); // subscriptions over graphql-ws
  });

  it('leaves POST and non-browser GET /graphql to the API', async () => {
    const post = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
    expect(await post.json()).toEqual({ data: { __typename: 'Query' } });
  });
});
