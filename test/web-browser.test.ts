import 'reflect-metadata';
import { existsSync, mkdirSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../support/graphql-client';
import { ENTER, LEAVE, ME, type Me } from '../support/operations';
import { logIn, signUpMany } from './support/client';
import { createConcert } from './support/fixtures';
import { ADMIN, startTestServer, type TestServer } from './support/harness';
import { ensureWebBuild } from './support/web-build';

/*
 * The fan web app in a real browser (Debian's Chromium driven by playwright-core), against the real
 * server: two fans in two browser contexts live the on-sale journey. With WEB_SCREENSHOTS=docs the
 * test also saves the README's screenshots (docs/web-waiting-room.png, docs/web-seat-map.png).
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = process.env.WEB_SCREENSHOTS;
const WAIT = { timeout: 10_000 };
/** A first render slower than this is a stalled page, not a slow machine. */
const STALLED_RENDER_MS = 3000;

let server: TestServer;
let browser: Browser;
let base: string;
/** The server side of every WebSocket, by the browser's user agent (each fan's context has its own). */
const sockets: { agent: string; socket: Duplex }[] = [];

interface Fan {
  context: BrowserContext;
  page: Page;
  /** Every URL the page requested (HTTP and WebSocket). */
  requests: string[];
  consoleErrors: string[];
}

async function openFan(name: string, viewport: { width: number; height: number }): Promise<Fan> {
  const context = await browser.newContext({ viewport, userAgent: `Mozilla/5.0 (X11; Linux x86_64) Chromium web-test fan-${name}` });
  const page = await context.newPage();
  const fan: Fan = { context, page, requests: [], consoleErrors: [] };
  page.on('request', (request) => fan.requests.push(request.url()));
  page.on('websocket', (socket) => fan.requests.push(socket.url()));
  page.on('console', (message) => {
    if (message.type() === 'error') fan.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => fan.consoleErrors.push(String(error)));
  return fan;
}

async function signUpInPage(fan: Fan, email: string) {
  const { page } = fan;
  await page.getByLabel('Email').fill(email);
  await page.getByLabel(/^Password/).fill('correct-horse');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByRole('button', { name: 'Log out' }).waitFor(WAIT);
}

async function chargeInPage(fan: Fan, amount: number) {
  await fan.page.getByLabel('Points to add').fill(String(amount));
  await fan.page.getByRole('button', { name: 'Charge points' }).click();
  await fan.page.getByTestId('points').filter({ hasText: amount.toLocaleString('en-US') }).waitFor(WAIT);
}

const seat = (fan: Fan, number: number) => fan.page.locator(`.seat-map [data-seat="${number}"]`);
const seatWithStatus = (fan: Fan, number: number, status: string) => fan.page.locator(`.seat-map [data-seat="${number}"][data-status="${status}"]`);
const position = (fan: Fan, text: string | RegExp) => fan.page.getByTestId('position').filter({ hasText: text });
const tokenOf = (fan: Fan) => fan.page.evaluate<string | null>("sessionStorage.getItem('ct:token')");

async function shoot(fan: Fan, name: string) {
  if (!SCREENSHOTS) return;
  const dir = path.resolve(__dirname, '..', SCREENSHOTS);
  mkdirSync(dir, { recursive: true });
  await fan.page.screenshot({ path: path.join(dir, name), fullPage: true });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (.ci/run does), or set CHROMIUM_PATH`);
  ensureWebBuild();
  [server, browser] = await Promise.all([
    startTestServer('web_browser', { HOLD_TTL_SECONDS: '120', ACTIVE_TTL_SECONDS: '120', MAX_HOLDS_PER_SCHEDULE: '2', LOGIN_ATTEMPTS_PER_15_MIN: '3' }),
    chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
    }),
  ]);
  base = new URL('/', server.url).toString();
  server.app.server.httpServer.on('upgrade', (request: { headers: Record<string, string | undefined> }, socket: Duplex) => {
    sockets.push({ agent: request.headers['user-agent'] ?? '', socket });
  });
});

/** Cuts a fan's WebSocket connections on the server side, as a restarting proxy or server would. */
function dropSockets(name: string): number {
  const mine = sockets.filter((s) => s.agent.endsWith(`fan-${name}`) && !s.socket.destroyed);
  for (const { socket } of mine) socket.destroy();
  return mine.length;
}

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('fan web app in Chromium', () => {
  it('serves / with a strict policy and long-cached hashed assets', async () => {
    const page = await fetch(base);
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toContain("connect-src 'self' ws: wss:");
    expect(csp).not.toContain('unsafe-inline');
    const html = await page.text();
    expect(html).not.toMatch(/<script>/);
    const scripts = [...html.matchAll(/src="([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts.length).toBe(1);
    const script = await fetch(new URL(scripts[0]!, base), { headers: { 'accept-encoding': 'gzip' } });
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await fetch(new URL('/assets/nope-123.js', base))).status).toBe(404);
  });

  it('two fans queue, get in in turn, hold, pay and watch each other’s seats live', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1, seatCount: 8, price: 100 });
    const api = new Api(server.url);
    const [a, b] = await Promise.all([openFan('a', { width: 1100, height: 900 }), openFan('b', { width: 375, height: 800 })]);

    // First render, as each page's own User Timing marks say (from navigation start): the app's shell,
    // then the concert read over GraphQL. A's visit is the server's first; B's is a first visit too
    // (a new browser context, nothing cached), on a warmed-up server. Measured and printed; the test
    // only catches a page that stalls: the time moves with the machine (Chromium shares two cores with
    // the server; from 0.7 to 1.3 s for the concert on one slow day), and speed is measured, not asserted.
    const firstRender = async (fan: Fan) => {
      await fan.page.goto(`${base}#/concerts/${concertId}`);
      await fan.page.locator('#concert-title').waitFor(WAIT);
      return fan.page.evaluate<number[]>("['ct:first-render', 'ct:concert-rendered'].map((name) => Math.round(performance.getEntriesByName(name)[0].startTime))");
    };
    const [coldShell, coldConcert] = await firstRender(a);
    const [shellMs, concertMs] = await firstRender(b);
    console.info(`web app first render: shell ${shellMs} ms, concert ${concertMs} ms (just-started server: ${coldShell} ms, ${coldConcert} ms)`);
    expect(shellMs).toBeLessThan(STALLED_RENDER_MS);
    expect(concertMs).toBeLessThan(STALLED_RENDER_MS);

    // Fan A signs up with the keyboard only; fan B with the mouse. Both charge points.
    await a.page.getByLabel('Email').focus();
    await a.page.keyboard.type(`a-${Date.now()}@example.test`);
    await a.page.keyboard.press('Tab');
    await a.page.keyboard.type('correct-horse');
    // Enter submits with the form's first button, Log in: a returning fan's Enter never creates an account.
    await a.page.keyboard.press('Enter');
    await a.page.getByRole('alert').filter({ hasText: 'do not match an account' }).waitFor(WAIT);
    await a.page.keyboard.press('Tab'); // Log in
    await a.page.keyboard.press('Tab'); // Sign up
    await a.page.keyboard.press('Enter');
    await a.page.getByRole('button', { name: 'Log out' }).waitFor(WAIT);
    // B first tries to log in without an account: the error is said in plain words.
    const bEmail = `b-${Date.now()}@example.test`;
    await b.page.getByLabel('Email').fill(bEmail);
    await b.page.getByLabel(/^Password/).fill('correct-horse');
    await b.page.getByRole('button', { name: 'Log in' }).click();
    await b.page.getByRole('alert').filter({ hasText: 'do not match an account' }).waitFor(WAIT);
    await signUpInPage(b, bEmail);
    await Promise.all([chargeInPage(a, 1000), chargeInPage(b, 1000)]);

    // A enters and is admitted (capacity 1); two other fans queue; B queues behind them.
    await a.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await a.page.locator('.your-turn').waitFor(WAIT);
    const [c, d] = await signUpMany(api, 2);
    await c!.api.data(ENTER, { id: concertId });
    await d!.api.data(ENTER, { id: concertId });
    await b.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await position(b, 'number 3').waitFor(WAIT);
    await shoot(b, 'web-waiting-room.png');

    // The line moves: B's position follows live.
    await c!.api.data(LEAVE, { id: concertId });
    await position(b, 'number 2').waitFor(WAIT);
    expect(await b.page.getByTestId('announcer').textContent()).toContain('number 2 in line');

    // B's socket drops: "reconnecting…" shows, the line moves meanwhile, and once back B still has its place.
    expect(dropSockets('b')).toBeGreaterThan(0);
    await b.page.getByTestId('reconnecting').waitFor(WAIT);
    await d!.api.data(LEAVE, { id: concertId });
    await b.page.getByTestId('reconnecting').waitFor({ state: 'detached', timeout: 15_000 });
    await position(b, 'next in line').waitFor(WAIT);

    // A holds seat 1 with the keyboard and sees it as theirs, with a countdown.
    await seat(a, 1).focus();
    await a.page.keyboard.press('Enter');
    await a.page.locator('.seat-map [data-seat="1"][data-look="MINE"]').waitFor(WAIT);
    await a.page.getByRole('button', { name: 'Release seat 1' }).first().waitFor(WAIT);
    await a.page.locator('.holds .countdown').filter({ hasText: /^[12]:\d\d$/ }).waitFor(WAIT);

    // A pays, but the answer is lost on the way back (the server did pay): the held seat stays on screen
    // with Pay. A retries with a double click: one request, the same idempotency key, the first payment
    // comes back, nothing is charged twice, and the ticket code is shown.
    let cut = false;
    await a.page.route('**/graphql', async (route) => {
      if (!cut && (route.request().postData() ?? '').includes('mutation Pay')) {
        cut = true;
        await route.fetch();
        await route.abort('connectionreset');
        return;
      }
      await route.continue();
    });
    await a.page.getByRole('button', { name: 'Pay 100 points' }).click();
    await a.page.getByRole('alert').filter({ hasText: 'Cannot reach the server' }).waitFor(WAIT);
    await a.page.unroute('**/graphql');
    await a.page.getByRole('button', { name: 'Pay 100 points' }).dblclick();
    const code = await a.page.locator('[data-testid="payment"] .ticket-code').first().textContent(WAIT);
    expect(code).toBeTruthy();
    const aMe = await api.as((await tokenOf(a))!).data<{ me: Me }>(ME, { limit: 10 });
    expect(aMe.me.pointHistory.filter((entry) => entry.kind === 'PAYMENT')).toHaveLength(1);
    expect(aMe.me.points).toBe(900);
    await a.page.getByTestId('points').filter({ hasText: '900' }).waitFor(WAIT);

    // Paying ended A's turn: B is admitted without a reload and sees seat 1 sold.
    await b.page.locator('.your-turn').waitFor(WAIT);
    await seatWithStatus(b, 1, 'RESERVED').waitFor(WAIT);
    expect(await seat(b, 2).getAttribute('data-status')).toBe('AVAILABLE');

    // The operator raises the capacity; A comes back in and holds seat 2: B's map shows it HELD, live.
    const admin = await logIn(api, ADMIN.email, ADMIN.password);
    await admin.api.data('mutation($id: ID!) { setMaxActiveUsers(concertId: $id, maxActiveUsers: 2) { id } }', { id: concertId });
    await a.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await a.page.locator('.your-turn').waitFor(WAIT);
    await seat(a, 2).click();
    await a.page.locator('.seat-map [data-seat="2"][data-look="MINE"]').waitFor(WAIT);
    await seatWithStatus(b, 2, 'HELD').waitFor(WAIT);
    expect(await seat(b, 2).isDisabled()).toBe(true);

    // A hold by B is "yours" on B's map; a rival's attempt on a held seat is refused in plain words.
    await seat(b, 3).click();
    await b.page.locator('.seat-map [data-seat="3"][data-look="MINE"]').waitFor(WAIT);
    await seatWithStatus(a, 3, 'HELD').waitFor(WAIT);
    // The seat counts follow: 1 sold, 2 held.
    await a.page.getByText('5 of 8 seats free').waitFor(WAIT);
    await shoot(a, 'web-seat-map.png');

    // B may hold two seats per show here (MAX_HOLDS_PER_SCHEDULE=2): the third is refused in plain words.
    await seat(b, 4).click();
    await b.page.locator('.seat-map [data-seat="4"][data-look="MINE"]').waitFor(WAIT);
    await seat(b, 5).click();
    await b.page.getByRole('alert').filter({ hasText: 'as many seats as allowed' }).waitFor(WAIT);
    expect(await seat(b, 5).getAttribute('data-status')).toBe('AVAILABLE');

    // The page fits a 375 px screen without sideways scrolling.
    expect(await b.page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);

    // A's tickets page lists the code.
    await a.page.getByRole('link', { name: 'My tickets', exact: true }).click();
    await a.page.locator('.ticket .ticket-code').filter({ hasText: code! }).waitFor(WAIT);

    // Logging out forgets the token and shows the log-in form again.
    await a.page.getByRole('button', { name: 'Log out' }).click();
    await a.page.getByRole('button', { name: 'Log in' }).waitFor(WAIT);
    expect(await tokenOf(a)).toBeNull();

    // Nothing left 127.0.0.1, and nothing was logged as an error.
    // The one error expected: Chromium's log line for the Pay request cut on purpose above.
    expectClean([a, b], (fan, text) => fan === a && text.includes('ERR_CONNECTION_RESET'));
    await Promise.all([a.context.close(), b.context.close()]);
  });

  it('a fan in the pre-queue sees the countdown to the opening, then gets in live when sales open', async () => {
    const fan = await openFan('p', { width: 375, height: 800 });
    await fan.page.goto(base);
    // Guessing a password: after LOGIN_ATTEMPTS_PER_15_MIN (3 here) failures the API says RATE_LIMITED
    // with retryAfterSeconds, and the page says how long to wait.
    const email = `p-${Date.now()}@example.test`;
    await fan.page.getByLabel('Email').fill(email);
    await fan.page.getByLabel(/^Password/).fill('wrong-password');
    const limited = fan.page.getByRole('alert').filter({ hasText: /^Too many attempts: try again in \d+ s\.$/ });
    for (let attempt = 0; attempt < 6 && (await limited.count()) === 0; attempt++) {
      await Promise.all([fan.page.waitForResponse((r) => r.url().endsWith('/graphql') && (r.request().postData() ?? '').includes('mutation LogIn')), fan.page.getByRole('button', { name: 'Log in' }).click()]);
      await fan.page.getByRole('alert').waitFor(WAIT);
    }
    await limited.waitFor(WAIT);
    await signUpInPage(fan, email); // signing up is not a failed log-in
    const { concertId } = await createConcert(server, { maxActiveUsers: 1, seatCount: 4, salesOpenAt: new Date(Date.now() + 3_000) });
    await fan.page.goto(`${base}#/concerts/${concertId}`);
    await fan.page.getByTestId('sales-open-in').filter({ hasText: /^Sales open in 0:0[1-3]$/ }).waitFor(WAIT);
    await fan.page.evaluate('window.ctNoReload = true');

    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await fan.page.getByTestId('prequeue').waitFor(WAIT);
    expect(await fan.page.getByTestId('prequeue').textContent()).toMatch(/random place/);
    expect(await fan.page.getByTestId('opens-in').textContent()).toMatch(/^0:0[1-3]$/);
    expect(await fan.page.getByTestId('announcer').textContent()).toContain('pre-queue');
    expect(await fan.page.getByTestId('position').count()).toBe(0); // no position before the draw

    // At the opening the draw puts the fan in line and, the only one, lets them in: no reload.
    await fan.page.locator('.your-turn').waitFor(WAIT);
    expect(await fan.page.getByTestId('prequeue').count()).toBe(0);
    expect(await fan.page.evaluate('window.ctNoReload')).toBe(true);
    await seatWithStatus(fan, 1, 'AVAILABLE').waitFor(WAIT);

    // A re-read of the fan's holds that fails (the server busy for a moment) keeps the cart, says so,
    // and is made again by itself.
    await seat(fan, 1).click();
    await fan.page.getByRole('button', { name: 'Pay 100 points' }).waitFor(WAIT);
    let failed = 0;
    await fan.page.route('**/graphql', async (route) => {
      if (failed < 2 && (route.request().postData() ?? '').includes('query MyHolds')) {
        failed += 1;
        await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ errors: [{ message: 'busy', extensions: { code: 'SERVICE_UNAVAILABLE' } }] }) });
      } else await route.continue();
    });
    await seat(fan, 2).click();
    await fan.page.getByRole('alert').filter({ hasText: 'briefly unavailable' }).waitFor(WAIT);
    expect(failed).toBeGreaterThan(0);
    expect(await fan.page.getByRole('button', { name: /^Pay \d+ points$/ }).count()).toBe(1);
    await fan.page.getByRole('button', { name: 'Pay 200 points' }).waitFor(WAIT);
    await fan.page.unroute('**/graphql');
    // The errors expected: Chromium's log lines for the rate-limited log-ins (answered 429; wrong passwords are answered 200).
    expectClean([fan], (_fan, text) => text.includes('status of 429'));
    await fan.context.close();
  });

  it('the last seat: a waiting fan sees admission pause, then the line close as sold out; a cancelled ticket is refunded, its seat comes back live and the line opens again', async () => {
    // Capacity 2, one seat: A and C get in, B waits behind them.
    const { concertId } = await createConcert(server, { maxActiveUsers: 2, seatCount: 1, price: 100 });
    const [a, b, c] = await Promise.all([openFan('sa', { width: 1100, height: 900 }), openFan('sb', { width: 375, height: 800 }), openFan('sc', { width: 1100, height: 900 })]);
    const stamp = Date.now();
    await Promise.all(
      [a, b, c].map(async (fan, i) => {
        await fan.page.goto(`${base}#/concerts/${concertId}`);
        await signUpInPage(fan, `s${i}-${stamp}@example.test`);
      }),
    );
    await chargeInPage(a, 1000);
    await a.page.getByTestId('concert-seats-left').filter({ hasText: '1 seat left' }).waitFor(WAIT);
    for (const fan of [a, c]) {
      await fan.page.getByRole('button', { name: 'Enter the waiting room' }).click();
      await fan.page.locator('.your-turn').waitFor(WAIT);
    }
    await b.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await position(b, 'next in line').waitFor(WAIT);
    await b.page.getByTestId('seats-left').filter({ hasText: '1 seat left' }).waitFor(WAIT);

    // A holds the last seat: nothing is free, nothing is sold, so B's admission pauses (said live).
    await seat(a, 1).click();
    await a.page.locator('.seat-map [data-seat="1"][data-look="MINE"]').waitFor(WAIT);
    await b.page.getByTestId('paused').filter({ hasText: 'All seats are held right now; admission resumes when one comes back' }).waitFor(WAIT);
    // The page's badge follows B's feed too (a fan in line never polls the concert): no seat free concert-wide.
    await b.page.locator('#concert-title .badge').filter({ hasText: 'All seats held right now' }).waitFor(WAIT);
    await seatWithStatus(c, 1, 'HELD').waitFor(WAIT);

    // A pays: every seat is sold, B's line closes live, and C (still ACTIVE) sees the seat sold.
    await a.page.getByRole('button', { name: 'Pay 100 points' }).click();
    const code = (await a.page.locator('[data-testid="payment"] .ticket-code').first().textContent(WAIT))!;
    await b.page.getByTestId('sold-out').filter({ hasText: 'Sold out — every seat is sold. You have left the line.' }).waitFor(WAIT);
    expect(await b.page.getByTestId('announcer').textContent()).toContain('Sold out');
    await b.page.getByTestId('sold-out-badge').waitFor(WAIT);
    expect(await b.page.getByRole('button', { name: 'Enter the waiting room' }).count()).toBe(0);
    await seatWithStatus(c, 1, 'RESERVED').waitFor(WAIT);
    await a.page.getByTestId('points').filter({ hasText: '900' }).waitFor(WAIT);
    // B's feed has ended: the socket nothing listens on closes (3 s later), and B's page does not take that for a lost connection.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    expect(await b.page.getByTestId('reconnecting').count()).toBe(0);

    // A cancels the ticket, confirming first: CANCELLED, the price back in the balance.
    await a.page.getByRole('link', { name: 'My tickets', exact: true }).click();
    const ticket = a.page.locator(`.ticket[data-ticket="${code}"]`);
    await ticket.getByRole('button', { name: 'Cancel ticket', exact: true }).click();
    await ticket.getByRole('button', { name: 'Keep it' }).click(); // changing one's mind changes nothing
    expect(await ticket.getAttribute('data-status')).toBe('CONFIRMED');
    await ticket.getByRole('button', { name: 'Cancel ticket', exact: true }).click();
    await ticket.getByRole('button', { name: 'Yes, cancel it' }).click();
    await a.page.locator(`.ticket[data-ticket="${code}"][data-status="CANCELLED"]`).waitFor(WAIT);
    await ticket.getByTestId('refund').filter({ hasText: '100 points are back' }).waitFor(WAIT);
    await a.page.getByTestId('points').filter({ hasText: '1,000' }).waitFor(WAIT);
    expect(await ticket.getByRole('button', { name: 'Cancel ticket', exact: true }).count()).toBe(0);

    // The seat is AVAILABLE again on C's live map, without reload.
    await seatWithStatus(c, 1, 'AVAILABLE').waitFor(WAIT);

    // Cancelling again is harmless: the same cancelled reservation, no second refund.
    const aApi = new Api(server.url).as((await tokenOf(a))!);
    const reservation = (await aApi.data<{ me: { reservations: { id: string }[] } }>('{ me { reservations { id } } }')).me.reservations[0]!;
    const again = await aApi.data<{ cancelReservation: { status: string } }>('mutation($id: ID!) { cancelReservation(reservationId: $id) { status } }', { id: reservation.id });
    expect(again.cancelReservation.status).toBe('CANCELLED');
    expect((await aApi.data<{ me: Me }>(ME, { limit: 10 })).me.points).toBe(1000);

    // B's page notices the concert is no longer sold out: B may enter again, and is let in.
    await b.page.getByRole('button', { name: 'Enter the waiting room' }).click(WAIT);
    await b.page.locator('.your-turn').waitFor(WAIT);
    await seatWithStatus(b, 1, 'AVAILABLE').waitFor(WAIT);

    expectClean([a, b, c]);
    await Promise.all([a.context.close(), b.context.close(), c.context.close()]);
  });

  it('a token the server no longer takes, on any page, sends the fan back to the log-in form saying why', async () => {
    const fan = await openFan('gone', { width: 1280, height: 900 });
    await fan.page.goto(base);
    await signUpInPage(fan, `gone-${Date.now()}@example.test`);
    // Settled first: a query still in flight (the account bar refetching after sign-up) would hit the
    // refused token before the tickets page does, and log the fan out by itself.
    await fan.page.waitForLoadState('networkidle');
    // The account is deleted behind the page's back: its token is refused from now on.
    const token = (await tokenOf(fan))!;
    const { sub } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sub: string };
    await server.app.orm.em.getConnection().execute('delete from users where id = ?', [sub]);
    // The tickets page asks for the fan's reservations (the account bar's own query is cached).
    await fan.page.getByRole('link', { name: 'My tickets', exact: true }).click();
    await fan.page.getByRole('heading', { name: 'Sign up or log in' }).waitFor(WAIT);
    await fan.page.getByText('Your session has ended. Please log in again.').waitFor(WAIT);
    expect(await tokenOf(fan)).toBeNull();
    expectClean([fan], (_fan, text) => text.includes('401') || text.includes('Failed to load resource'));
    await fan.context.close();
  });
});

/** Nothing left 127.0.0.1, and nothing was logged as an error (but what `allowed` says). */
function expectClean(fans: Fan[], allowed: (fan: Fan, text: string) => boolean = () => false) {
  const origin = new URL(base);
  for (const fan of fans) {
    for (const url of fan.requests) {
      if (url.startsWith('data:')) continue;
      expect(new URL(url).host, url).toBe(origin.host);
    }
    expect(fan.consoleErrors.filter((text) => !allowed(fan, text))).toEqual([]);
  }
}
