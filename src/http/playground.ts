import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import express from 'express';
import { ImmutableAssets, sendImmutable } from './immutable-assets';

/*
 * An offline GraphiQL playground: the page and every script and stylesheet it loads come from this
 * server (the project's own node_modules), never from a CDN. The Content-Security-Policy on the page
 * enforces that: scripts, styles, fonts and images may only come from 'self' (fonts and icons are
 * data: URLs inside graphiql.min.css), and the page may only talk to this origin over HTTP and WebSocket.
 *
 * Globals exposed by the UMD builds: React, ReactDOM (react@18, react-dom@18), GraphiQL (graphiql@3.9,
 * the component, with GraphiQL.createFetcher from @graphiql/toolkit attached) and graphqlWs (graphql-ws@6).
 * createFetcher({ wsClient }) sends subscriptions over that graphql-ws client and everything else over HTTP.
 */

/** The directory of an installed package, resolved the way Node resolves it from this file. */
function packageDir(name: string): string {
  try {
    return path.dirname(require.resolve(`${name}/package.json`));
  } catch {
    // package.json not exported: resolve the main entry and walk up to the package.json that names it.
    let dir = path.dirname(require.resolve(name));
    for (;;) {
      const manifest = path.join(dir, 'package.json');
      if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === name) return dir;
      const parent = path.dirname(dir);
      if (parent === dir) throw new Error(`cannot find the package directory of ${name}`);
      dir = parent;
    }
  }
}

function packageVersion(dir: string): string {
  return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

interface AssetSource {
  type: string;
  version: string;
  read(): Promise<Buffer>;
}

function assetSources(): Map<string, AssetSource> {
  const js = 'text/javascript; charset=utf-8';
  const css = 'text/css; charset=utf-8';
  // [served name, package, file inside the package, content type]
  const entries: [string, string, string, string][] = [
    ['react.production.min.js', 'react', 'umd/react.production.min.js', js],
    ['react-dom.production.min.js', 'react-dom', 'umd/react-dom.production.min.js', js],
    ['graphql-ws.min.js', 'graphql-ws', 'umd/graphql-ws.min.js', js],
    ['graphiql.min.js', 'graphiql', 'graphiql.min.js', js],
    ['graphiql.min.css', 'graphiql', 'graphiql.min.css', css],
  ];
  const sources = new Map<string, AssetSource>();
  for (const [name, pkg, relative, type] of entries) {
    const dir = packageDir(pkg);
    const file = path.join(dir, relative);
    if (!existsSync(file)) throw new Error(`playground asset missing: ${file}`);
    sources.set(name, { type, version: packageVersion(dir), read: () => readFile(file) });
  }
  // The page's own script, served as a file so the page's policy allows scripts from 'self' only.
  const boot = Buffer.from(bootScript());
  sources.set('boot.js', { type: js, version: createHash('sha256').update(boot).digest('hex').slice(0, 12), read: async () => boot });
  return sources;
}

/** The query editor's content on a first visit (GraphiQL keeps the user's own tabs afterwards). */
const DEFAULT_QUERY = `# Concert ticketing GraphQL playground
#
# 1. Sign up (or log in) and copy the token:
#      mutation {
#        signUp(email: "you@example.com", password: "long passphrase") {
#          token
#        }
#      }
# 2. Open "Headers" (below) and put:
#      {"Authorization":"Bearer <token>"}
#    Queries and mutations send it over HTTP,
#    subscriptions over the WebSocket.
# 3. Browse the schema with the Docs button (top left).

query Concerts {
  concerts {
    id
    title
    venue
  }
}
`;

/** JSON as a JavaScript literal (U+2028/U+2029 are line breaks in older engines' string literals). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function bootScript(): string {
  return `(function () {
  'use strict';
  // What earlier versions of this page kept in localStorage for good (a logIn's password in the
  // query and history, the Headers' token) is forgotten: it now lives in the tab's sessionStorage.
  try {
    Object.keys(window.localStorage).forEach(function (key) {
      if (key.indexOf('graphiql:') === 0) window.localStorage.removeItem(key);
    });
  } catch (e) {
    // Storage refused (a private mode): nothing was kept there either.
  }
  var HEADERS_KEY = 'graphiql:headers';
  // The headers GraphiQL last sent (the fetcher receives the parsed headers editor on every request,
  // including the schema introspection at load); null until the first request.
  var latestHeaders = null;

  function storedHeaders() {
    try {
      var raw = window.sessionStorage.getItem(HEADERS_KEY);
      return raw ? JSON.parse(raw) : null;
    } catch (e) {
      return null;
    }
  }

  function authorization() {
    var headers = latestHeaders || storedHeaders();
    if (!headers || typeof headers !== 'object') return undefined;
    for (var key in headers) {
      if (Object.prototype.hasOwnProperty.call(headers, key) && key.toLowerCase() === 'authorization' && typeof headers[key] === 'string') {
        return headers[key];
      }
    }
    return undefined;
  }

  var wsClient = graphqlWs.createClient({
    url: (location.protocol === 'https:' ? 'wss' : 'ws') + '://' + location.host + '/graphql',
    // Read on every (re)connect; lazy: the socket opens with the first subscription and closes after the last.
    connectionParams: function () {
      var value = authorization();
      return value ? { authorization: value } : {};
    },
    lazy: true
  });

  var baseFetcher = GraphiQL.createFetcher({ url: location.origin + '/graphql', wsClient: wsClient });
  function fetcher(params, options) {
    if (options) latestHeaders = options.headers || {};
    return baseFetcher(params, options);
  }

  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      shouldPersistHeaders: true,
      // The tab's storage, as the fan app keeps its token: a password typed into a logIn and a token
      // in Headers go with the tab, not into localStorage for good (shared by every page of this origin).
      storage: window.sessionStorage,
      defaultQuery: ${scriptJson(DEFAULT_QUERY)}
    })
  );
})();`;
}

const PLAYGROUND_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'self'",
].join('; ');

function pageHtml(sources: Map<string, AssetSource>): string {
  const href = (name: string) => {
    const source = sources.get(name);
    if (!source) throw new Error(`unknown playground asset ${name}`);
    // The version in the query string busts the year-long cache when a package is upgraded.
    return `/playground/${name}?v=${encodeURIComponent(source.version)}`;
  };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<link rel="icon" href="data:,">
<title>Concert ticketing · GraphQL playground</title>
<style>html, body { height: 100%; margin: 0; overflow: hidden; } #graphiql { height: 100vh; }</style>
<link rel="stylesheet" href="${href('graphiql.min.css')}">
</head>
<body>
<div id="graphiql">Loading the GraphQL playground…</div>
<noscript>The GraphQL playground needs JavaScript. The API itself is at POST /graphql.</noscript>
<script src="${href('react.production.min.js')}"></script>
<script src="${href('react-dom.production.min.js')}"></script>
<script src="${href('graphql-ws.min.js')}"></script>
<script src="${href('graphiql.min.js')}"></script>
<script src="${href('boot.js')}"></script>
</body>
</html>
`;
}

/**
 * GET /graphql from a browser (Accept includes text/html) → the GraphiQL page; anything else falls through
 * to the GraphQL handler. GET /playground/<asset> → the page's scripts and stylesheet, cached for a year.
 * Mount it before the GraphQL middleware.
 */
export function playgroundRouter(): express.Router {
  const sources = assetSources();
  const html = pageHtml(sources);
  const assets = new ImmutableAssets(async (name) => {
    const source = sources.get(name);
    return source && { type: source.type, body: await source.read() };
  });

  const router = express.Router();

  router.get('/graphql', (req, res, next) => {
    if (!(req.get('accept') ?? '').toLowerCase().includes('text/html')) {
      next();
      return;
    }
    res.set({
      'Content-Security-Policy': PLAYGROUND_CSP,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      Vary: 'Accept',
    });
    res.type('html').send(html);
  });

  router.get('/playground/:asset', async (req, res, next) => {
    try {
      const asset = await assets.get(req.params.asset);
      if (asset) sendImmutable(req, res, asset);
      else next();
    } catch (error) {
      next(error);
    }
  });

  return router;
}
