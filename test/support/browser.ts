import { existsSync, mkdirSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { Api } from '../../support/graphql-client';
import { ENTER } from '../../support/operations';
import { admit } from './booking';
import { signUpMany, type Account } from './client';
import { createConcert } from './fixtures';
import type { TestServer } from './harness';
import { ensureWebBuild } from './web-build';

/*
 * The fan web app in a real browser (Debian's Chromium driven by playwright-core), against real
 * servers: what the browser test files share. Each file launches its own Chromium (startBrowser) for
 * its own servers, so the files run side by side. With WEB_SCREENSHOTS=docs the tests also save the
 * README's screenshots (docs/web-waiting-room.png, docs/web-seat-map.png).
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = process.env.WEB_SCREENSHOTS;
export const WAIT = { timeout: 10_000 };

let browser: Browser | undefined;
/** The web app's address on the file's first server: where a fan's requests are expected to go (expectClean). */
let mainBase = '';
/** The server side of every WebSocket, by the browser's user agent (each fan's context has its own). */
export const sockets: { agent: string; socket: Duplex }[] = [];
/** Fans whose WebSocket upgrades are refused, by name: as behind a proxy that blocks WebSockets. */
export const blockedFans = new Set<string>();

/** Builds the web app if needed, starts the file's servers and Chromium side by side, and watches the servers' WebSocket upgrades. */
export async function startBrowser(servers: Promise<TestServer>[]): Promise<TestServer[]> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (.ci/run does), or set CHROMIUM_PATH`);
  ensureWebBuild();
  const [started, launched] = await Promise.all([
    Promise.all(servers),
    chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
    }),
  ]);
  browser = launched;
  mainBase = new URL('/', (started[0] as TestServer).url).toString();
  for (const target of started) watchUpgrades(target);
  return started;
}

export async function stopBrowser(servers: (TestServer | undefined)[]): Promise<void> {
  await browser?.close();
  await Promise.all(servers.map((server) => server?.stop()));
}

export interface Fan {
  context: BrowserContext;
  page: Page;
  /** Every URL the page requested (HTTP and WebSocket). */
  requests: string[];
  consoleErrors: string[];
}

export async function openFan(name: string, viewport: { width: number; height: number }): Promise<Fan> {
  const context = await (browser as Browser).newContext({ viewport, userAgent: `Mozilla/5.0 (X11; Linux x86_64) Chromium web-test fan-${name}` });
  return openTab(context);
}

/** Runs in each page: keeps every text the live region takes, so a test that misses one can say what came instead. */
const recordAnnouncements = `window.ctSaid = [];
new MutationObserver(() => {
  const text = document.querySelector('[data-testid="announcer"]')?.textContent ?? '';
  if (text !== window.ctSaid.at(-1)) window.ctSaid.push(text);
}).observe(document, { subtree: true, childList: true, characterData: true });`;

/** A page (a tab) in a fan's browser context, with its requests and console errors recorded. */
export async function openTab(context: BrowserContext): Promise<Fan> {
  const page = await context.newPage();
  await page.addInitScript(recordAnnouncements);
  const fan: Fan = { context, page, requests: [], consoleErrors: [] };
  page.on('request', (request) => fan.requests.push(request.url()));
  page.on('websocket', (socket) => fan.requests.push(socket.url()));
  page.on('console', (message) => {
    if (message.type() === 'error') fan.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => fan.consoleErrors.push(String(error)));
  return fan;
}

/** Fills the log-in form and presses one of its buttons. */
export async function submitAuthForm(fan: Fan, button: 'Log in' | 'Sign up', email: string, password = 'correct-horse') {
  await fan.page.getByLabel('Email').fill(email);
  await fan.page.getByLabel(/^Password/).fill(password);
  await fan.page.getByRole('button', { name: button }).click();
}

export async function signUpInPage(fan: Fan, email: string) {
  await submitAuthForm(fan, 'Sign up', email);
  await fan.page.getByRole('button', { name: 'Log out' }).waitFor(WAIT);
}

/**
 * A fan (in the browser, named `name`) second in a concert's line of `target`, behind one ACTIVE for
 * long (ACTIVE_IDLE_SECONDS is an hour in tests): number 1 in line, on the concert's page.
 */
export async function waitingBehindOne(target: TestServer, name: string): Promise<{ concertId: string; first: Account; fan: Fan }> {
  const { concertId } = await createConcert(target, { maxActiveUsers: 1, seatCount: 2 });
  const [first] = (await signUpMany(new Api(target.url), 1)) as [Account];
  await first.api.data(ENTER, { id: concertId });
  const fan = await newFanEntering(target, concertId, name);
  await position(fan, 'number 1 in line').waitFor(WAIT);
  return { concertId, first, fan };
}

/** A new fan (`name`) let in, in the browser, to a new concert of `target` for two, and a rival let in beside them through the API. */
export async function admittedWithRival(target: TestServer, name: string, seats: { seatCount: number; price: number }): Promise<{ concertId: string; scheduleIds: string[]; fan: Fan; rival: Account }> {
  const { concertId, scheduleIds } = await createConcert(target, { maxActiveUsers: 2, ...seats });
  const fan = await newFanEntering(target, concertId, name);
  await fan.page.locator('.your-turn').waitFor(WAIT);
  const [rival] = (await signUpMany(new Api(target.url), 1)) as [Account];
  await admit([rival], concertId);
  return { concertId, scheduleIds, fan, rival };
}

/**
 * Evaluates `expression` in the fan's page every `everyMs` from now: the returned function stops and
 * gives what it read each time (what a fan saw in between, not only before and after).
 */
export async function samplePage<T>(fan: Fan, expression: string, everyMs: number): Promise<() => Promise<T[]>> {
  await fan.page.evaluate(`window.ctSamples = []; window.ctSampler = setInterval(() => window.ctSamples.push(${expression}), ${everyMs})`);
  return async () => (await fan.page.evaluate('clearInterval(window.ctSampler), window.ctSamples')) as T[];
}

/** A new fan (`name`) on the page of a concert of `target`, signed up there, who has pressed "Enter the waiting room". */
export async function newFanEntering(target: TestServer, concertId: string, name: string, viewport = { width: 1100, height: 900 }, points = 0): Promise<Fan> {
  const fan = await openFan(name, viewport);
  await fan.page.goto(`${new URL('/', target.url).toString()}#/concerts/${concertId}`);
  await signUpInPage(fan, `${name}-${Date.now()}@example.test`);
  if (points > 0) await chargeInPage(fan, points);
  await fan.page.getByRole('button', { name: 'Enter the waiting room' }).click();
  return fan;
}

export async function chargeInPage(fan: Fan, amount: number) {
  await fan.page.getByLabel('Points to add').fill(String(amount));
  await fan.page.getByRole('button', { name: 'Charge points' }).click();
  await fan.page.getByTestId('points').filter({ hasText: amount.toLocaleString('en-US') }).waitFor(WAIT);
}

/**
 * Answers the fan's requests whose body holds `which()` (read at each request) `ms` late: the server
 * has answered, the page hears it later. Other requests go as usual.
 */
export async function answerLate(fan: Fan, which: () => string, ms: number): Promise<void> {
  await fan.page.route('**/graphql', async (route) => {
    if (!(route.request().postData() ?? '').includes(which())) return route.continue();
    const response = await route.fetch();
    await new Promise((resolve) => setTimeout(resolve, ms));
    await route.fulfill({ response });
  });
}

/**
 * Holds back the answers to the fan's requests whose body holds `which`: each waits (the server has
 * answered) until the test's next `release()`. What the page does before an answer is then tested
 * with no race against a delay.
 */
export async function answerWhenReleased(fan: Fan, which: string): Promise<{ release: () => void }> {
  let release = () => {};
  const nextRelease = () => new Promise<void>((resolve) => (release = resolve));
  let released = nextRelease();
  await fan.page.route('**/graphql', async (route) => {
    if (!(route.request().postData() ?? '').includes(which)) return route.continue();
    const waitFor = released;
    const response = await route.fetch();
    await waitFor;
    await route.fulfill({ response });
  });
  return {
    release: () => {
      release();
      released = nextRelease();
    },
  };
}

/** Every text the live region took in this page, oldest first. */
export const announcements = async (fan: Fan) => (await fan.page.evaluate('window.ctSaid ?? []')) as string[];

/** Waits until the live region says `text` (it is written in an effect after the render that shows the change). */
export async function announced(fan: Fan, text: string): Promise<void> {
  try {
    await fan.page.getByTestId('announcer').filter({ hasText: text }).waitFor({ state: 'attached', ...WAIT });
  } catch (error) {
    const said = await announcements(fan).then((all) => all.slice(-8), () => ['(the page could not be read)']);
    throw new Error(`${String(error)}\nthe live region said, latest last: ${JSON.stringify(said)}`);
  }
}

/**
 * Answers the fan's first `times` requests of `operation` as the server busy (SERVICE_UNAVAILABLE),
 * with `data` as the server sends it then if given (a field it could not read nulls its parent), the
 * rest as usual; says how many it answered so.
 */
export async function busyFor(fan: Fan, operation: string, times: number, data?: Record<string, unknown>): Promise<() => number> {
  let failed = 0;
  await fan.page.route('**/graphql', async (route) => {
    if (failed < times && (route.request().postData() ?? '').includes(operation)) {
      failed += 1;
      await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ errors: [{ message: 'busy', extensions: { code: 'SERVICE_UNAVAILABLE' } }], ...(data ? { data } : {}) }) });
    } else await route.continue();
  });
  return () => failed;
}

export const seat = (fan: Fan, number: number) => fan.page.locator(`.seat-map [data-seat="${number}"]`);
export const seatWithStatus = (fan: Fan, number: number, status: string) => fan.page.locator(`.seat-map [data-seat="${number}"][data-status="${status}"]`);
export const position = (fan: Fan, text: string | RegExp) => fan.page.getByTestId('position').filter({ hasText: text });
export const tokenOf = (fan: Fan) => fan.page.evaluate<string | null>("sessionStorage.getItem('ct:token')");
/** The signed-in fan's user id, from their token's subject. */
export const userIdOf = async (fan: Fan) => (JSON.parse(Buffer.from((await tokenOf(fan))!.split('.')[1]!, 'base64url').toString()) as { sub: string }).sub;
export const focusedId = (fan: Fan) => fan.page.evaluate<string | null>('document.activeElement?.id || null');
/** What the page does when its tab is shown again: it re-reads the concert (web/src/ui/concerts.tsx, useRefresh). */
export const tabShownAgain = (fan: Fan) => fan.page.evaluate("document.dispatchEvent(new Event('visibilitychange'))");

/** Counts the fan's requests from now on whose body contains `operation` ("query QueueStatusNow"). */
export function countRequests(fan: Fan, operation: string): () => number {
  let count = 0;
  fan.page.on('request', (request) => {
    if ((request.postData() ?? '').includes(operation)) count += 1;
  });
  return () => count;
}

export async function shoot(fan: Fan, name: string) {
  if (!SCREENSHOTS) return;
  const dir = path.resolve(__dirname, '..', '..', SCREENSHOTS);
  mkdirSync(dir, { recursive: true });
  await fan.page.screenshot({ path: path.join(dir, name), fullPage: true });
}

/** Records each WebSocket upgrade by user agent, and refuses a blocked fan's before the server answers it. */
function watchUpgrades(target: TestServer) {
  target.app.server.httpServer.prependListener('upgrade', (request: { headers: Record<string, string | undefined> }, socket: Duplex) => {
    const agent = request.headers['user-agent'] ?? '';
    if ([...blockedFans].some((name) => agent.endsWith(`fan-${name}`))) socket.destroy();
    else sockets.push({ agent, socket });
  });
}

export const socketsOf = (name: string) => sockets.filter((s) => s.agent.endsWith(`fan-${name}`) && !s.socket.destroyed).map((s) => s.socket);

/** Cuts a fan's WebSocket connections on the server side, as a restarting proxy or server would. */
export function dropSockets(name: string): number {
  const mine = socketsOf(name);
  for (const socket of mine) socket.destroy();
  return mine.length;
}

/** Holds back what the server sends on a fan's WebSockets (a slow link) until the returned function is called. */
export function holdBackPushes(name: string): () => void {
  const mine = socketsOf(name);
  expect(mine.length).toBeGreaterThan(0);
  for (const socket of mine) socket.cork();
  return () => {
    for (const socket of mine) socket.uncork();
  };
}

/** Lets the fan's next request whose body contains `operation` reach the server, then cuts its answer on the way back (the server did act). */
export async function cutNextAnswer(fan: Fan, operation: string) {
  let cut = false;
  await fan.page.route('**/graphql', async (route) => {
    if (!cut && (route.request().postData() ?? '').includes(operation)) {
      cut = true;
      await route.fetch();
      await route.abort('connectionreset');
      return;
    }
    await route.continue();
  });
}


/** Nothing left the server's origin (127.0.0.1), and nothing was logged as an error (but what `allowed` says). */
export function expectClean(fans: Fan[], allowed: (fan: Fan, text: string) => boolean = () => false, serverBase = mainBase) {
  const origin = new URL(serverBase);
  for (const fan of fans) {
    for (const url of fan.requests) {
      if (url.startsWith('data:')) continue;
      expect(new URL(url).host, url).toBe(origin.host);
    }
    expect(fan.consoleErrors.filter((text) => !allowed(fan, text))).toEqual([]);
  }
}

/**
 * No text the live region took was followed by one that only adds to it: the region is atomic, so a
 * screen reader would read the first sentence again.
 */
export async function expectNothingSaidTwice(fan: Fan): Promise<void> {
  const said = await announcements(fan);
  expect(said.filter((text, i) => i > 0 && said[i - 1] !== '' && text.startsWith(`${said[i - 1]} `))).toEqual([]);
}

/** Ends the fan's turn (ACTIVE slot) in the concert on the server, as when it runs out. */
export async function endTurn(server: TestServer, fan: Fan, concertId: string): Promise<void> {
  await server.app.services.queue.endActive(Number(await userIdOf(fan)), Number(concertId), Date.now() + 60_000);
}

/** Logs the tab in as the token's account before its pages load (each tab's session is its own, as in the app). */
export async function logInTab(fan: Fan, token: string): Promise<void> {
  await fan.page.addInitScript(`sessionStorage.setItem('ct:token', ${JSON.stringify(token)})`);
}
