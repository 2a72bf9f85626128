import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Locator } from 'playwright-core';
import { Api } from '../support/graphql-client';
import { ENTER, LEAVE, ME, RELEASE, SET_SALES_OPEN_AT, type Me } from '../support/operations';
import { admit, charge, hold, pay, seatIds } from './support/booking';
import { logIn, signUpMany } from './support/client';
import { createConcert } from './support/fixtures';
import { ADMIN, databaseOf, startTestServer, type TestServer } from './support/harness';
import { lockUserRow, untilLockWait } from './support/mysql-locks';
import { NETWORK_BACK_MESSAGE } from '../web/src/logic/errors';
import { ACTIVE_SEAT_BACK_MESSAGE, HOLDS_OUTLAST_TURN, PAUSED_MESSAGE, SEAT_BACK_MESSAGE, SOLD_OUT_LEFT_LINE_MESSAGE, TURN_ENDED_MESSAGE } from '../web/src/logic/queue';
import { admittedWithRival, announced, announcements, answerLate, answerWhenReleased, busyFor, chargeInPage, cutNextAnswer, dropSockets, endTurn, expectClean, expectNothingSaidTwice, focusedId, holdBackPushes, logInTab, newFanEntering, openFan, position, samplePage, seat, seatWithStatus, shoot, signUpInPage, startBrowser, stopBrowser, submitAuthForm, tabShownAgain, tokenOf, userIdOf, WAIT, type Fan } from './support/browser';

/*
 * The fan web app in a real browser (Debian's Chromium driven by playwright-core), against the real
 * server: fans in browser contexts live the on-sale journey, from the first render to My tickets.
 * web-live.test.ts has the journeys that wait out a presence grace or a hold, beside this file.
 */

/**
 * A first render slower than this is a stalled page, not a slow machine: the three browser files start
 * side by side (three servers and Chromiums on two cores), which put one first render at 3.3 s in CI.
 */
const STALLED_RENDER_MS = 6000;

let server: TestServer;
let base: string;

beforeAll(async () => {
  [server] = (await startBrowser([
    startTestServer('web_browser', { HOLD_TTL_SECONDS: '120', ACTIVE_TTL_SECONDS: '120', MAX_HOLDS_PER_SCHEDULE: '2', LOGIN_ATTEMPTS_PER_15_MIN: '3' }),
  ])) as [TestServer];
  base = new URL('/', server.url).toString();
});

afterAll(() => stopBrowser([server]));

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
    // Both fields are marked (the API does not say which was wrong); one edited is no longer.
    const invalid = (label: string | RegExp) => a.page.getByLabel(label).getAttribute('aria-invalid');
    expect([await invalid('Email'), await invalid(/^Password/)]).toEqual(['true', 'true']);
    await a.page.keyboard.press('Backspace');
    await a.page.keyboard.type('e');
    expect([await invalid('Email'), await invalid(/^Password/)]).toEqual(['true', null]);
    await a.page.keyboard.press('Tab'); // Log in
    await a.page.keyboard.press('Tab'); // Sign up
    await a.page.keyboard.press('Enter');
    await a.page.getByRole('button', { name: 'Log out' }).waitFor(WAIT);
    // B first tries to log in without an account: the error is said in plain words.
    const bEmail = `b-${Date.now()}@example.test`;
    await submitAuthForm(b, 'Log in', bEmail);
    await b.page.getByRole('alert').filter({ hasText: 'do not match an account' }).waitFor(WAIT);
    await signUpInPage(b, bEmail);
    await Promise.all([chargeInPage(a, 1000), chargeInPage(b, 1000)]);
    // An amount the API refuses is said in the server's words (its range), one that is not a whole
    // number before any request; the balance stays as it was.
    await a.page.getByLabel('Points to add').fill('0');
    await a.page.getByRole('button', { name: 'Charge points' }).click();
    await a.page.getByRole('alert').filter({ hasText: /^The amount must be a whole number from 1 to \d+\.$/ }).waitFor(WAIT);
    // The field refused is marked so, and described by why (its name stays its label).
    const amountField = a.page.getByLabel('Points to add');
    expect(await amountField.getAttribute('aria-invalid')).toBe('true');
    expect(await a.page.evaluate("document.getElementById(document.querySelector('[aria-label=\"Points to add\"]').getAttribute('aria-describedby')).textContent")).toMatch(/^The amount must be a whole number/);
    await a.page.getByLabel('Points to add').fill('2.5');
    expect(await amountField.getAttribute('aria-invalid')).toBeNull();
    await a.page.getByRole('button', { name: 'Charge points' }).click();
    await a.page.getByRole('alert').filter({ hasText: 'Enter the points to add as a whole number' }).waitFor(WAIT);
    await a.page.getByLabel('Points to add').fill('3000000000');
    await a.page.getByRole('button', { name: 'Charge points' }).click();
    await a.page.getByRole('alert').filter({ hasText: 'more points than one charge can add' }).waitFor(WAIT);
    // Edited, the amount is no longer the one refused: what was wrong with it goes.
    await a.page.getByLabel('Points to add').fill('500');
    await a.page.getByRole('alert').filter({ hasText: 'more points than one charge can add' }).waitFor({ state: 'detached', ...WAIT });
    await a.page.getByTestId('points').filter({ hasText: /^1,000 points$/ }).waitFor(WAIT);

    // Out of line (NONE, the feed has said so: the button to enter shows), A sees the seats free per show.
    await a.page.getByRole('button', { name: 'Enter the waiting room' }).waitFor(WAIT);
    await a.page.getByText('8 of 8 seats free').waitFor(WAIT);
    // And what a seat costs, before queueing for one (to charge enough points first).
    expect(await a.page.getByTestId('date-price').textContent()).toBe(' · 100 points a seat');

    // A enters and is admitted (capacity 1); two other fans queue; B queues behind them.
    await a.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await a.page.locator('.your-turn').waitFor(WAIT);
    const [c, d] = await signUpMany(api, 2);
    await c!.api.data(ENTER, { id: concertId });
    await d!.api.data(ENTER, { id: concertId });
    await b.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await position(b, 'number 3').waitFor(WAIT);
    // Waiting, the per-show counts are not kept fresh, so none is shown.
    expect(await b.page.getByText(/seats free/).count()).toBe(0);
    await shoot(b, 'web-waiting-room.png');

    // The line moves: B's position follows live.
    await c!.api.data(LEAVE, { id: concertId });
    await position(b, 'number 2').waitFor(WAIT);
    await announced(b, 'number 2 in line');

    // B's socket drops: "reconnecting…" shows, the line moves meanwhile, and once back B still has its place.
    expect(dropSockets('b')).toBeGreaterThan(0);
    await b.page.getByTestId('reconnecting').waitFor(WAIT);
    await d!.api.data(LEAVE, { id: concertId });
    await b.page.getByTestId('reconnecting').waitFor({ state: 'detached', timeout: 15_000 });
    await position(b, 'number 1 in line: you are next').waitFor(WAIT);

    // A holds seat 1 with the keyboard and sees it as theirs, with a countdown.
    await seat(a, 1).focus();
    await a.page.keyboard.press('Enter');
    await a.page.locator('.seat-map [data-seat="1"][data-look="MINE"]').waitFor(WAIT);
    // One control per name: the cart's release button, and the seat on the map named apart from it.
    await a.page.getByRole('button', { name: 'Release seat 1' }).waitFor(WAIT);
    await a.page.getByRole('button', { name: 'Seat 1, held by you: press to release it' }).waitFor(WAIT);
    await a.page.locator('.holds .countdown').filter({ hasText: /^[12]:\d\d$/ }).waitFor(WAIT);

    // B steps out of line: the per-show counts show again, read anew (seat 1 is held now, not free as
    // when B started waiting). B enters again, still next: nobody else waits.
    await b.page.getByRole('button', { name: 'Leave the waiting room' }).click();
    await b.page.getByText('7 of 8 seats free').waitFor(WAIT);
    await b.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await position(b, 'number 1 in line: you are next').waitFor(WAIT);

    // A pays, but the answer is lost on the way back (the server did pay): the held seat stays on screen
    // with Pay. A retries with a double click: one request, the same idempotency key, the first payment
    // comes back, nothing is charged twice, and the ticket code is shown.
    await cutNextAnswer(a, 'mutation Pay');
    await a.page.getByRole('button', { name: 'Pay 100 points' }).click();
    await a.page.getByRole('alert').filter({ hasText: 'press Pay again: it repeats the same payment, so you are never charged twice' }).waitFor(WAIT);
    await a.page.unroute('**/graphql');
    await a.page.getByRole('button', { name: 'Pay 100 points' }).dblclick();
    const code = await a.page.locator('[data-testid="payment"] .ticket-code').first().textContent(WAIT);
    expect(code).toBeTruthy();
    const aMe = await api.as((await tokenOf(a))!).data<{ me: Me }>(ME, { limit: 10 });
    expect(aMe.me.pointHistory.filter((entry) => entry.kind === 'PAYMENT')).toHaveLength(1);
    expect(aMe.me.points).toBe(900);
    await a.page.getByTestId('points').filter({ hasText: '900' }).waitFor(WAIT);

    // Another concert by its address alone (only the hash changes, the page stays): nothing of this
    // concert's page comes along, the payment card least of all.
    const other = await createConcert(server, { maxActiveUsers: 1, seatCount: 2 });
    await a.page.goto(`${base}#/concerts/${other.concertId}`);
    await a.page.getByText('2 of 2 seats free').waitFor(WAIT);
    expect(await a.page.getByTestId('payment').count()).toBe(0);
    await a.page.goto(`${base}#/concerts/${concertId}`);

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
    await a.page.getByRole('link', { name: 'My tickets' }).click();
    await a.page.locator('.ticket .ticket-code').filter({ hasText: code! }).waitFor(WAIT);

    // Logging out during a turn asks first (see web-live.test.ts); leaving as one logs out forgets the
    // token and shows the log-in form again.
    await a.page.getByRole('button', { name: 'Log out' }).click();
    await a.page.getByText('It is your turn to choose seats. Leave it as you log out?').waitFor(WAIT);
    await a.page.getByRole('button', { name: 'Leave and log out' }).click();
    await a.page.getByRole('button', { name: 'Log in' }).waitFor(WAIT);
    expect(await tokenOf(a)).toBeNull();

    // Nothing left 127.0.0.1, and nothing was logged as an error.
    // The one error expected: Chromium's log line for the Pay request cut on purpose above.
    for (const fan of [a, b]) await expectNothingSaidTwice(fan);
    expectClean([a, b], (fan, text) => fan === a && text.includes('ERR_CONNECTION_RESET'));
    await Promise.all([a.context.close(), b.context.close()]);
  });

  it('a fan in the pre-queue sees the countdown to the opening, then gets in live when sales open; a long title and venue wrap on a phone', async () => {
    // Logged in before this address runs out of sign-in attempts below: it brings the opening forward.
    const admin = await logIn(new Api(server.url), ADMIN.email, ADMIN.password);
    const fan = await openFan('p', { width: 375, height: 800 });
    await fan.page.goto(base);
    // Guessing a password: after LOGIN_ATTEMPTS_PER_15_MIN (3 here) failures the API says RATE_LIMITED
    // with retryAfterSeconds, and the page says how long to wait.
    const email = `p-${Date.now()}@example.test`;
    await fan.page.getByLabel('Email').fill(email);
    await fan.page.getByLabel(/^Password/).fill('wrong-password');
    const limited = fan.page.getByRole('alert').filter({ hasText: /^Too many attempts: try again in \d+ (s|minutes)\.$/ });
    for (let attempt = 0; attempt < 6 && (await limited.count()) === 0; attempt++) {
      await Promise.all([fan.page.waitForResponse((r) => r.url().endsWith('/graphql') && (r.request().postData() ?? '').includes('mutation LogIn')), fan.page.getByRole('button', { name: 'Log in' }).click()]);
      await fan.page.getByRole('alert').waitFor(WAIT);
    }
    await limited.waitFor(WAIT);
    await signUpInPage(fan, email); // signing up is not a failed log-in
    // Opening in 30 s, brought forward once the pre-queue is checked: a slow page cannot reach the
    // checks after the opening.
    // A title and venue of one long word each: wrapped, they leave the page 375 px wide (no sideways scrolling).
    const { concertId } = await createConcert(server, {
      maxActiveUsers: 1,
      seatCount: 4,
      salesOpenAt: new Date(Date.now() + 30_000),
      title: 'Supercalifragilisticexpialidociousphilharmonicorchestra Live',
      venue: 'Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogochhall',
    });
    await fan.page.goto(`${base}#/concerts/${concertId}`);
    await fan.page.getByTestId('sales-open-in').filter({ hasText: /^Sales open in 0:[12]\d$/ }).waitFor(WAIT);
    // The badges sit beside the heading, not in its name (which a countdown changed every second).
    expect(await fan.page.getByRole('heading', { level: 2, name: /Supercalifragilistic/ }).textContent()).toBe('Supercalifragilisticexpialidociousphilharmonicorchestra Live');
    const pageWidth = () => fan.page.evaluate<number>('document.documentElement.scrollWidth');
    expect(await pageWidth()).toBeLessThanOrEqual(375);
    await fan.page.evaluate('window.ctNoReload = true');

    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await fan.page.getByTestId('prequeue').waitFor(WAIT);
    expect(await fan.page.getByTestId('prequeue').textContent()).toMatch(/random place/);
    expect(await fan.page.getByTestId('opens-in').textContent()).toMatch(/^0:[12]\d$/);
    await announced(fan, 'pre-queue');
    expect(await fan.page.getByTestId('position').count()).toBe(0); // no position before the draw
    // The opening is put back 10 minutes: the badge by the title follows the fan's feed, like the countdown in the waiting room.
    await admin.api.data(SET_SALES_OPEN_AT, { id: concertId, at: new Date(Date.now() + 600_000).toISOString() });
    await fan.page.getByTestId('opens-in').filter({ hasText: /^(9:5\d|10:00)$/ }).waitFor(WAIT);
    await fan.page.getByTestId('sales-open-in').filter({ hasText: /^Sales open in (9:5\d|10:00)$/ }).waitFor(WAIT);
    // Said too: the countdown alone changes silently.
    await announced(fan, 'The opening has moved: sales now open on');
    // The two countdowns tick together (one clock for the page), never a second apart; the one in the
    // waiting room is a timer named in words for screen readers.
    const both = (await fan.page.evaluate(`(async () => {
      const read = (id) => document.querySelector('[data-testid="' + id + '"]')?.textContent ?? '';
      const samples = [];
      for (let i = 0; i < 12; i++) {
        samples.push([read('opens-in'), read('sales-open-in').replace('Sales open in ', '')]);
        await new Promise((resolve) => setTimeout(resolve, 230));
      }
      return samples;
    })()`)) as [string, string][];
    expect(both.filter(([room, badge]) => room !== badge)).toEqual([]);
    await fan.page.getByRole('timer', { name: /^(9 minutes( \d+ seconds?)?|10 minutes)$/ }).waitFor(WAIT);
    await admin.api.data(SET_SALES_OPEN_AT, { id: concertId, at: new Date(Date.now() + 1000).toISOString() });

    // At the opening the draw puts the fan in line and, the only one, lets them in: no reload.
    await fan.page.locator('.your-turn').waitFor(WAIT);
    expect(await fan.page.getByTestId('prequeue').count()).toBe(0);
    expect(await fan.page.evaluate('window.ctNoReload')).toBe(true);
    await seatWithStatus(fan, 1, 'AVAILABLE').waitFor(WAIT);
    expect(await pageWidth()).toBeLessThanOrEqual(375);

    // A re-read of the fan's holds that fails (the server busy for a moment) keeps the cart, says so,
    // and is made again by itself.
    await seat(fan, 1).click();
    await fan.page.getByRole('button', { name: 'Pay 100 points' }).waitFor(WAIT);
    const failed = await busyFor(fan, 'query MyHolds', 2);
    await seat(fan, 2).click();
    await fan.page.getByRole('alert').filter({ hasText: 'briefly unavailable' }).waitFor(WAIT);
    expect(failed()).toBeGreaterThan(0);
    expect(await fan.page.getByRole('button', { name: /^Pay \d+ points$/ }).count()).toBe(1);
    await fan.page.getByRole('button', { name: 'Pay 200 points' }).waitFor(WAIT);
    await fan.page.unroute('**/graphql');
    // So does a re-read of the concert (its counts, after the seats changed) answered as the server
    // does while Redis is away: the concert null, for a seat count it could not read. The page, the
    // cart and the turn stay (the page blanked to its error before).
    const nulled = await busyFor(fan, 'query ConcertDetail', 2, { concert: null });
    // The page is sampled every 50 ms from before the change until both answers came and a good one after.
    const stopSampling = await samplePage<boolean>(fan, "Boolean(document.querySelector('#concert-title') && document.querySelector('.your-turn') && document.querySelector('.seat-map'))", 50);
    await seat(fan, 2).click();
    await fan.page.getByRole('button', { name: 'Pay 100 points' }).waitFor(WAIT);
    await expect.poll(nulled, { timeout: 20_000 }).toBe(2);
    await fan.page.getByRole('alert').filter({ hasText: 'briefly unavailable' }).waitFor({ state: 'detached', ...WAIT });
    const shown = await stopSampling();
    expect(shown.length).toBeGreaterThan(20);
    expect(shown.filter((whole) => !whole)).toEqual([]);
    await fan.page.getByRole('button', { name: 'Pay 100 points' }).waitFor(WAIT);
    await fan.page.unroute('**/graphql');
    // The concert list, with the long title and venue, fits too.
    await fan.page.getByRole('link', { name: 'Concerts', exact: true }).click();
    await fan.page.locator(`a.button[href="#/concerts/${concertId}"]`).waitFor(WAIT);
    expect(await pageWidth()).toBeLessThanOrEqual(375);
    // The errors expected: Chromium's log lines for the rate-limited log-ins (answered 429; wrong passwords are answered 200).
    expectClean([fan], (_fan, text) => text.includes('status of 429'));
    await fan.context.close();
  });

  it('a fan who enters while every seat is held hears admission is paused, and, a free slot awaiting them, is told they get in a moment after a seat comes back, and does', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 2, seatCount: 1, price: 100 });
    const [holder] = await signUpMany(new Api(server.url), 1);
    await admit([holder!], concertId);
    const held = await hold(holder!, (await seatIds(server, scheduleIds[0]!))[0]!);
    const fan = await newFanEntering(server, concertId, 'free-slot');
    await fan.page.getByTestId('paused').waitFor(WAIT);
    // The API's estimate (the line's pace, with no slot counted free) would say minutes.
    expect(await fan.page.getByTestId('wait').textContent()).toBe('a moment once a seat comes back');
    // The pause is said on entering too (the page had read the counts at 0 before: it was left unsaid).
    await announced(fan, PAUSED_MESSAGE);
    await holder!.api.data(RELEASE, { holdId: held.id });
    await fan.page.locator('.your-turn').waitFor(WAIT);
    expectClean([fan]);
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
    await position(b, 'number 1 in line: you are next').waitFor(WAIT);
    await b.page.getByTestId('seats-left').filter({ hasText: '1 seat left' }).waitFor(WAIT);

    // A holds the last seat: nothing is free, nothing is sold, so B's admission pauses (said live).
    await seat(a, 1).click();
    await a.page.locator('.seat-map [data-seat="1"][data-look="MINE"]').waitFor(WAIT);
    await a.page.getByRole('timer', { name: /^hold ends in \d+:\d\d$/ }).waitFor(WAIT);
    // C, admitted too, is told nothing is free right now (the turn goes on).
    await c.page.getByTestId('active-paused').filter({ hasText: 'No seat is free right now' }).waitFor(WAIT);
    await announced(c, 'No seat is free right now');
    // Not to A, whose own hold is the last seat.
    expect(await a.page.getByTestId('active-paused').count()).toBe(0);
    await b.page.getByTestId('paused').filter({ hasText: 'All seats are held right now; admission resumes when one comes back' }).waitFor(WAIT);
    // The wait estimate counts from then, and says so.
    expect(await b.page.getByTestId('wait').textContent()).toMatch(/^(about \d+ minutes?|less than a minute) once a seat comes back$/);
    // The page's badge follows B's feed too (a fan in line never polls the concert): no seat free concert-wide.
    await b.page.locator('.title-line .badge').filter({ hasText: 'All seats held right now' }).waitFor(WAIT);
    await seatWithStatus(c, 1, 'HELD').waitFor(WAIT);

    // B's reads of the concert from now on (see below).
    let concertReads = 0;
    b.page.on('request', (request) => {
      if (request.postData()?.includes('query ConcertDetail')) concertReads += 1;
    });
    // A pays: every seat is sold, B's line closes live, and C (still ACTIVE) sees the seat sold.
    await a.page.getByRole('button', { name: 'Pay 100 points' }).click();
    const code = (await a.page.locator('[data-testid="payment"] .ticket-code').first().textContent(WAIT))!;
    // C, to whom every seat read held, is told the seat sold was the last one at once: its sale is
    // news enough to read the concert (the page's re-read, begun by A's hold a moment ago, would come
    // only 5 s after that hold).
    await c.page.getByTestId('active-sold-out').filter({ hasText: 'Sold out — every seat is sold. There is nothing left to choose.' }).waitFor({ timeout: 3000 });
    await b.page.getByTestId('sold-out').filter({ hasText: 'Sold out — every seat is sold.' }).waitFor(WAIT);
    await announced(b, 'Sold out — every seat is sold. You have left the line.');
    await b.page.getByTestId('sold-out-badge').waitFor(WAIT);
    expect(await b.page.getByRole('button', { name: 'Enter the waiting room' }).count()).toBe(0);
    await seatWithStatus(c, 1, 'RESERVED').waitFor(WAIT);
    // Aloud too, not when the turn ends.
    await announced(c, 'Sold out — every seat is sold. There is nothing left to choose.');
    await a.page.getByTestId('points').filter({ hasText: '900' }).waitFor(WAIT);
    // A bought the last seat: the line closing behind them does not replace the ticket code's announcement.
    await a.page.locator('.waiting-room[data-state="SOLD_OUT"]').waitFor(WAIT);
    await expect.poll(async () => a.page.getByTestId('announcer').textContent(), WAIT).toContain('Payment complete');
    // B, who waited, is told to keep the page open for a seat that may come back; not A, who bought the last one.
    await b.page.getByText('Tickets can still come back when fans cancel').waitFor(WAIT);
    expect(await a.page.getByText('Tickets can still come back when fans cancel').count()).toBe(0);
    // B's feed stays open past SOLD_OUT and will say when the concert sells again: B's page read the
    // concert once, out of the wait (for its dates' counts), and asks nothing more (it once read the
    // concert every 3 s, as every sold-out page would; with its feed taken for silent, it would read
    // it at once as well).
    // D opens the page only now: the place is read while the concert is sold out.
    const d = await openFan('sd', { width: 1100, height: 900 });
    await d.page.goto(`${base}#/concerts/${concertId}`);
    await signUpInPage(d, `s3-${stamp}@example.test`);
    await d.page.getByTestId('sold-out').waitFor(WAIT);
    await new Promise((resolve) => setTimeout(resolve, 4000));
    expect(concertReads).toBe(1);
    expect(await b.page.getByTestId('reconnecting').count()).toBe(0);

    // A cancels the ticket, confirming first: CANCELLED, the price back in the balance.
    await a.page.getByRole('link', { name: 'My tickets' }).click();
    const ticket = a.page.locator(`.ticket[data-ticket="${code}"]`);
    await ticket.getByRole('button', { name: 'Cancel ticket', exact: true }).click();
    await ticket.getByRole('button', { name: 'Keep it' }).click(); // changing one's mind changes nothing
    expect(await ticket.getAttribute('data-status')).toBe('CONFIRMED');
    await ticket.getByRole('button', { name: 'Cancel ticket', exact: true }).click();
    await ticket.getByRole('button', { name: 'Yes, cancel it' }).click();
    await a.page.locator(`.ticket[data-ticket="${code}"][data-status="CANCELLED"]`).waitFor(WAIT);
    // Its heading names the concert; the Cancelled badge stands beside it, not in its name.
    expect(await ticket.getByRole('heading').textContent()).not.toMatch(/Cancelled|Confirmed/);
    await ticket.getByText('Cancelled', { exact: true }).waitFor(WAIT);
    await ticket.getByTestId('refund').filter({ hasText: '100 points are back' }).waitFor(WAIT);
    await a.page.getByTestId('points').filter({ hasText: '1,000' }).waitFor(WAIT);
    expect(await ticket.getByRole('button', { name: 'Cancel ticket', exact: true }).count()).toBe(0);

    // The seat is AVAILABLE again on C's live map, without reload; C, told nothing was left, hears it
    // is free, and the page no longer says sold out.
    await seatWithStatus(c, 1, 'AVAILABLE').waitFor(WAIT);
    await announced(c, ACTIVE_SEAT_BACK_MESSAGE);
    expect(await c.page.getByTestId('active-sold-out').count()).toBe(0);

    // Cancelling again is harmless: the same cancelled reservation, no second refund.
    const aApi = new Api(server.url).as((await tokenOf(a))!);
    const reservation = (await aApi.data<{ me: { reservations: { id: string }[] } }>('{ me { reservations { id } } }')).me.reservations[0]!;
    const again = await aApi.data<{ cancelReservation: { status: string } }>('mutation($id: ID!) { cancelReservation(reservationId: $id) { status } }', { id: reservation.id });
    expect(again.cancelReservation.status).toBe('CANCELLED');
    expect((await aApi.data<{ me: Me }>(ME, { limit: 10 })).me.points).toBe(1000);

    // B's feed says the concert is no longer sold out: out of the closed line (NONE) without having
    // left anything, B is told, in the page and the live region, that a seat came back; the badge
    // follows at once, and the concert is read again for its dates' counts.
    await b.page.locator('.waiting-room[data-state="NONE"]').getByText(SEAT_BACK_MESSAGE).waitFor(WAIT);
    expect(await b.page.getByTestId('sold-out-badge').count()).toBe(0);
    await announced(b, SEAT_BACK_MESSAGE);
    await expect.poll(() => concertReads, WAIT).toBe(2);
    // So is D, whose page opened on the sold-out concert.
    await d.page.locator('.waiting-room[data-state="NONE"]').getByText(SEAT_BACK_MESSAGE).waitFor(WAIT);
    expect(await b.page.getByText('You are not in line for this concert.').count()).toBe(0);
    // B may enter again, and is let in.
    await b.page.getByRole('button', { name: 'Enter the waiting room' }).click(WAIT);
    await b.page.locator('.your-turn').waitFor(WAIT);
    // The turn starts with the seat on offer, whether or not the concert was read since it sold again.
    expect(await b.page.getByTestId('active-sold-out').count()).toBe(0);
    await seatWithStatus(b, 1, 'AVAILABLE').waitFor(WAIT);

    expectClean([a, b, c, d]);
    await Promise.all([a.context.close(), b.context.close(), c.context.close(), d.context.close()]);
  });

  it('answers lost or late: the balance is read again after a charge with no answer, an error goes once a later action works, and the turn ending after a payment does not cover its announcement', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1, seatCount: 5, price: 100 });
    const fan = await openFan('late', { width: 1100, height: 900 });
    await fan.page.goto(`${base}#/concerts/${concertId}`);
    await signUpInPage(fan, `late-${Date.now()}@example.test`);

    // The answer to a charge is lost (the server did charge): the page says the outcome is unknown and
    // reads the balance again, so the fan sees the points came instead of charging twice.
    await cutNextAnswer(fan, 'mutation ChargePoints');
    await fan.page.getByLabel('Points to add').fill('500');
    await fan.page.getByRole('button', { name: 'Charge points' }).click();
    await fan.page.getByRole('alert').filter({ hasText: /^The charge got no answer, so it may or may not have gone through/ }).waitFor(WAIT);
    await fan.page.getByTestId('points').filter({ hasText: '500' }).waitFor(WAIT);
    await fan.page.unroute('**/graphql');

    // Leaving, the answer is lost (the server did take the fan out): the error is said, the feed shows
    // the fan out of line, and once entering again works the error is gone.
    const roomAlert = fan.page.locator('.waiting-room [role="alert"]');
    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await fan.page.locator('.your-turn').waitFor(WAIT);
    await cutNextAnswer(fan, 'mutation LeaveQueue');
    await fan.page.getByRole('button', { name: 'Leave the waiting room' }).click();
    // (Already said as below if a read the leave set off was answered first.)
    await roomAlert.filter({ hasText: /Cannot reach the server\. Check your connection and try again\.|could not be reached then/ }).waitFor(WAIT);
    await fan.page.unroute('**/graphql');
    // Once the server answers again (a read of the concert, as when the tab is shown again), the note
    // says so rather than "check your connection": what failed is still to do.
    await tabShownAgain(fan);
    await roomAlert.filter({ hasText: NETWORK_BACK_MESSAGE }).waitFor(WAIT);
    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await fan.page.locator('.your-turn').waitFor(WAIT);
    await roomAlert.waitFor({ state: 'detached', ...WAIT });

    // Paying ends the turn; here the feed's NONE comes after the payment's answer (the socket held
    // back), and the announcement of the ticket code stays, not replaced by "no longer in the waiting room".
    await seat(fan, 1).click();
    await fan.page.getByRole('button', { name: 'Pay 100 points' }).waitFor(WAIT);
    const release = holdBackPushes('late');
    await fan.page.getByRole('button', { name: 'Pay 100 points' }).click();
    await fan.page.locator('[data-testid="payment"] .ticket-code').first().waitFor(WAIT);
    await announced(fan, 'Payment complete');
    // The payment worked, so the balance is the server's: the charge's warning has gone.
    await fan.page.getByRole('alert').filter({ hasText: 'The charge got no answer, so it may or may not have gone through' }).waitFor({ state: 'detached', ...WAIT });
    release();
    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).waitFor(WAIT);
    await expect.poll(async () => fan.page.getByTestId('announcer').textContent(), WAIT).toContain('Payment complete');

    // A payment whose answer is lost (the server did pay): the cart says it may have gone through, and
    // the turn it ended is not said lost ("Your turn has ended"); paying again shows the one payment.
    // Entering again, the last payment's card goes (its balance is no longer the fan's).
    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await fan.page.locator('.your-turn').waitFor(WAIT);
    expect(await fan.page.getByTestId('payment').count()).toBe(0);
    await seat(fan, 2).click();
    await cutNextAnswer(fan, 'mutation Pay');
    await fan.page.getByRole('button', { name: 'Pay 100 points' }).click();
    await fan.page.getByRole('alert').filter({ hasText: 'The payment got no answer, so it may or may not have gone through' }).waitFor(WAIT);
    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).waitFor(WAIT);
    expect(await fan.page.locator('.waiting-room').innerText()).not.toContain('Your turn has ended');
    await fan.page.unroute('**/graphql');
    await fan.page.getByRole('button', { name: 'Pay 100 points' }).click();
    await fan.page.locator('[data-testid="payment"] .ticket-code').first().waitFor(WAIT);

    // A payment whose answer is lost, and the page reloaded: once the page reads that the seat is no
    // longer held, it asks for that payment again with its key and shows it (charged once).
    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await fan.page.locator('.your-turn').waitFor(WAIT);
    await seat(fan, 3).click();
    await cutNextAnswer(fan, 'mutation Pay');
    await fan.page.getByRole('button', { name: 'Pay 100 points' }).click();
    await fan.page.getByRole('alert').filter({ hasText: 'The payment got no answer, so it may or may not have gone through' }).waitFor(WAIT);
    await fan.page.unroute('**/graphql');
    await fan.page.reload();
    await fan.page.locator('[data-testid="payment"] .ticket-code').first().waitFor(WAIT);
    await announced(fan, 'Payment complete');
    await fan.page.getByTestId('points').filter({ hasText: '200' }).waitFor(WAIT);

    // Reloaded while the payment waits on a slow commit (the fan's row locked elsewhere): the seat still
    // reads held, so the page shows it as it is; once the payment goes through (the turn ends, the holds
    // are read gone) it asks with the key and shows the payment.
    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await fan.page.locator('.your-turn').waitFor(WAIT);
    await seat(fan, 4).click();
    await fan.page.getByRole('button', { name: 'Pay 100 points' }).waitFor(WAIT);
    const database = databaseOf(server);
    const lock = await lockUserRow(database, await userIdOf(fan));
    try {
      await fan.page.getByRole('button', { name: 'Pay 100 points' }).click();
      await untilLockWait(database);
      await fan.page.reload();
      await fan.page.getByRole('button', { name: 'Pay 100 points' }).waitFor(WAIT);
    } finally {
      await lock.query('ROLLBACK');
      await lock.end();
    }
    await fan.page.locator('[data-testid="payment"] .ticket-code').first().waitFor(WAIT);
    await fan.page.getByTestId('points').filter({ hasText: '100' }).waitFor(WAIT);

    // Pay pressed on a hold released meanwhile on another device: the cart goes, saying why.
    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await fan.page.locator('.your-turn').waitFor(WAIT);
    await seat(fan, 5).click();
    await fan.page.getByRole('button', { name: 'Pay 100 points' }).waitFor(WAIT);
    const device = new Api(server.url, (await tokenOf(fan))!);
    const [held] = (await device.data<{ me: Me }>(ME)).me.holds;
    await device.data(RELEASE, { holdId: held!.id });
    await fan.page.getByRole('button', { name: 'Pay 100 points' }).click();
    // The cart goes once the holds are read again, and the note stays to say why.
    await expect.poll(() => fan.page.getByRole('button', { name: /^Pay / }).count(), WAIT).toBe(0);
    await fan.page.getByRole('alert').filter({ hasText: 'That hold has expired or was released' }).waitFor(WAIT);

    // The errors expected: Chromium's log lines for the answers cut on purpose.
    expectClean([fan], (_fan, text) => text.includes('ERR_CONNECTION_RESET'));
    await fan.context.close();
  });

  it('a payment with no answer keeps its seats: the map offers no release of them either (the cart offers none), a seat held since is released as any, and paying again pays the payment', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1, seatCount: 4, price: 100 });
    const fan = await openFan('unanswered', { width: 1100, height: 900 });
    await fan.page.goto(`${base}#/concerts/${concertId}`);
    await signUpInPage(fan, `unanswered-${Date.now()}@example.test`);
    await chargeInPage(fan, 1000);
    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await seat(fan, 1).click();
    await fan.page.getByRole('button', { name: 'Pay 100 points' }).waitFor(WAIT);
    // The payment never reaches the server: the connection drops as it is sent.
    let releases = 0;
    await fan.page.route('**/graphql', async (route) => {
      const body = route.request().postData() ?? '';
      if (body.includes('mutation ReleaseHold')) releases += 1;
      if (body.includes('mutation Pay')) return route.abort('connectionreset');
      return route.continue();
    });
    await fan.page.getByRole('button', { name: 'Pay 100 points' }).click();
    // Said so as to stay true once the server answers again (no "check your connection").
    await fan.page.getByRole('alert').filter({ hasText: /^The payment got no answer, so it may or may not have gone through\. To find out, press Pay again/ }).waitFor(WAIT);
    expect(await fan.page.getByRole('button', { name: 'Release seat 1' }).count()).toBe(0);
    // The map says the seat is in the payment, and pressing it releases nothing.
    const inPayment = fan.page.getByRole('button', { name: 'Seat 1, held by you: in your payment' });
    await inPayment.waitFor(WAIT);
    expect(await inPayment.getAttribute('aria-disabled')).toBe('true');
    await inPayment.click({ force: true });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(releases).toBe(0);
    expect(await seat(fan, 1).getAttribute('data-look')).toBe('MINE');
    // A seat held since is no part of that payment: the map releases it as any.
    await seat(fan, 2).click();
    const heldSince = fan.page.getByRole('button', { name: 'Seat 2, held by you: press to release it' });
    await heldSince.waitFor(WAIT);
    await heldSince.click();
    await seatWithStatus(fan, 2, 'AVAILABLE').waitFor(WAIT);
    expect(releases).toBe(1);
    // Paying again pays the payment's seat, as the cart says.
    await fan.page.unroute('**/graphql');
    await fan.page.getByRole('button', { name: 'Pay 100 points' }).click();
    await fan.page.locator('[data-testid="payment"] .ticket-code').first().waitFor(WAIT);
    expect(await fan.page.locator('[data-testid="payment"] .ticket-code').count()).toBe(1);
    expectClean([fan], (_fan, text) => text.includes('ERR_CONNECTION_RESET'));
    await fan.context.close();
  });

  it('a proxy in front answering for a server it cannot reach (a 502 page) is no answer: the page says so once, and the notice goes by itself once the server answers', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1, seatCount: 2 });
    const fan = await openFan('proxy', { width: 1100, height: 900 });
    await fan.page.goto(`${base}#/concerts/${concertId}`);
    await fan.page.locator('#concert-title').waitFor(WAIT);
    // The notice's live region is in the page, empty, before it says anything: most screen readers
    // do not read out a region inserted with its text.
    const region = fan.page.getByTestId('unreachable-region');
    expect(await region.getAttribute('role', WAIT)).toBe('status');
    expect(await region.textContent()).toBe('');
    await fan.page.route('**/graphql', (route) =>
      (route.request().postData() ?? '').includes('query ConcertDetail') ? route.fulfill({ status: 502, contentType: 'text/html', body: '<html><body>502 Bad Gateway</body></html>' }) : route.continue(),
    );
    // The concert is read again (as when the tab is shown again): the proxy's page comes back.
    await tabShownAgain(fan);
    await region.getByTestId('unreachable').waitFor(WAIT);
    expect(await fan.page.locator('.error').filter({ hasText: 'Cannot reach the server' }).count()).toBe(0);
    await fan.page.locator('#concert-title').waitFor(WAIT);
    // The server is reachable again; nothing else is asked of it, yet the page finds out by itself.
    await fan.page.unroute('**/graphql');
    await fan.page.getByTestId('unreachable').waitFor({ state: 'detached', timeout: 10_000 });
    expectClean([fan], (_fan, text) => text.includes('502'));
    await fan.context.close();
  });

  it('a payment answered "busy" is asked again with its key once its hold is gone: paid, its tickets show; not paid, the page says the hold went', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1, seatCount: 4, price: 100 });
    const fan = await newFanEntering(server, concertId, 'busy-pay', undefined, 1000);
    await fan.page.locator('.your-turn').waitFor(WAIT);
    await seat(fan, 1).click();
    // The server pays, but its answer says busy (as when MySQL did not confirm the commit in time).
    let answeredBusy = 0;
    await fan.page.route('**/graphql', async (route) => {
      if (answeredBusy > 0 || !(route.request().postData() ?? '').includes('mutation Pay')) return route.continue();
      answeredBusy += 1;
      await route.fetch();
      await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ errors: [{ message: 'busy', extensions: { code: 'SERVICE_UNAVAILABLE' } }], data: null }) });
    });
    await fan.page.getByRole('button', { name: 'Pay 100 points' }).click();
    await fan.page.locator('[data-testid="payment"] .ticket-code').first().waitFor(WAIT);
    await fan.page.getByTestId('points').filter({ hasText: '900' }).waitFor(WAIT);
    expect(await fan.page.locator('[role="alert"][data-code="SERVICE_UNAVAILABLE"]').count()).toBe(0);
    await fan.page.unroute('**/graphql');

    // Answered busy without paying, and the hold then released on another device: no "try again" with
    // nothing left to try, but what became of it.
    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await fan.page.locator('.your-turn').waitFor(WAIT);
    await seat(fan, 2).click();
    await fan.page.getByRole('button', { name: 'Pay 100 points' }).waitFor(WAIT);
    await busyFor(fan, 'mutation Pay', 1);
    await fan.page.getByRole('button', { name: 'Pay 100 points' }).click();
    await fan.page.locator('[role="alert"][data-code="SERVICE_UNAVAILABLE"]').waitFor(WAIT);
    await fan.page.unroute('**/graphql');
    const device = new Api(server.url).as((await tokenOf(fan))!);
    const { me } = await device.data<{ me: Me }>(ME);
    await device.data(RELEASE, { holdId: me.holds[0]!.id });
    await fan.page.locator('[role="alert"][data-code="HOLD_NOT_FOUND"]').waitFor(WAIT);
    expect(await fan.page.locator('[role="alert"][data-code="SERVICE_UNAVAILABLE"]').count()).toBe(0);
    await fan.page.getByTestId('points').filter({ hasText: '900' }).waitFor(WAIT);
    expectClean([fan]);
    await fan.context.close();
  });

  it('a fan holding or paying for the last seat is not told every seat is held, nor sold out while the payment is on its way', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1, seatCount: 1, price: 100 });
    const fan = await newFanEntering(server, concertId, 'last-seat', undefined, 100);
    await fan.page.locator('.your-turn').waitFor(WAIT);
    // Answers to `late` come 2.5 s late: the seat counts, pushed every 100 ms, say 0 left long before
    // the fan's holds, read again, say the last seat is their own hold (past the 1.5 s the page waits
    // before saying no seat is free).
    let late = 'query MyHolds';
    await answerLate(fan, () => late, 2_500);
    await seat(fan, 1).click();
    const pay = fan.page.getByRole('button', { name: 'Pay 100 points' });
    await pay.waitFor(WAIT);
    await fan.page.waitForTimeout(1_000);
    // The payment's answer late: seatChanged (RESERVED), the turn's end and SOLD_OUT come first.
    late = 'idempotencyKey';
    await pay.click();
    await fan.page.locator('[data-testid="payment"] .ticket-code').first().waitFor(WAIT);
    await announced(fan, 'Your ticket code is');
    await fan.page.waitForTimeout(500);
    expect((await announcements(fan)).filter((text) => /every seat|no seat is free/i.test(text))).toEqual([]);
    expectClean([fan]);
    await fan.context.close();
  });

  /**
   * A fan who held seat 1 of a new concert of `seatCount` seats (10 points each) in a turn, left, and is
   * back in line, first, behind a fan now admitted (the blocker); with the Pay button. With one seat,
   * held by the fan, admission pauses: nobody else is let in, and the fan waits first all the same.
   */
  async function backInLineHolding(name: string, seatCount: number) {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1, seatCount, price: 10 });
    const fan = await newFanEntering(server, concertId, name, undefined, 100);
    await fan.page.locator('.your-turn').waitFor(WAIT);
    await seat(fan, 1).click();
    const pay = fan.page.getByRole('button', { name: 'Pay 10 points' });
    await pay.waitFor(WAIT);
    // The turn ends with the seat held (said once its holds are read); another fan takes the slot.
    await fan.page.getByRole('button', { name: 'Leave the waiting room' }).click();
    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).waitFor(WAIT);
    const [blocker] = await signUpMany(new Api(server.url), 1);
    if (seatCount > 1) await admit([blocker!], concertId);
    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await position(fan, 'number 1').waitFor(WAIT);
    await announced(fan, 'You are number 1 in line');
    return { concertId, fan, pay, blocker: blocker! };
  }

  it('a fan back in line who pays for seats held in an earlier turn hears being let in as it happens, and the ticket codes last', async () => {
    const { concertId, fan, pay, blocker } = await backInLineHolding('pay-waiting', 3);
    // The payment's answer is held back; the fan is let in meanwhile. The blocker leaves once the
    // payment is in: a turn given before it commits is the one the payment ends.
    const answers = await answerWhenReleased(fan, 'idempotencyKey');
    const before = (await announcements(fan)).length;
    await pay.click();
    const device = new Api(server.url).as((await tokenOf(fan))!);
    await vi.waitFor(async () => expect((await device.data<{ me: Me }>(ME)).me.reservations).toHaveLength(1), { timeout: 5_000, interval: 50 });
    await blocker.api.data(LEAVE, { id: concertId });
    await fan.page.locator('.your-turn').waitFor(WAIT);
    await announced(fan, 'It is your turn');
    expect(await fan.page.locator('[data-testid="payment"]').count()).toBe(0);
    answers.release();
    await fan.page.locator('[data-testid="payment"] .ticket-code').first().waitFor(WAIT);
    await fan.page.waitForTimeout(500);
    const said = (await announcements(fan)).slice(before);
    expect(said.at(-1)).toMatch(/^Payment complete\. Your ticket code is TK-/);
    // That turn is the fan's (the payment, sent while waiting, did not end it): its end is said.
    await endTurn(server, fan, concertId);
    await announced(fan, TURN_ENDED_MESSAGE);
    expectClean([fan]);
    await fan.context.close();
  });

  it('a fan back in line who buys the last seat, held from an earlier turn, hears both that the line closed and the ticket code', async () => {
    const { fan, pay } = await backInLineHolding('last-waiting', 1);
    // The payment's answer is held back until the line has closed (SOLD_OUT) on the page.
    const answers = await answerWhenReleased(fan, 'idempotencyKey');
    await pay.click();
    await fan.page.locator('.waiting-room[data-state="SOLD_OUT"]').waitFor(WAIT);
    answers.release();
    await fan.page.locator('[data-testid="payment"] .ticket-code').first().waitFor(WAIT);
    // Said in the same moment: one sentence must not replace the other before it is read.
    await announced(fan, 'Your ticket code is');
    expect(await fan.page.getByTestId('announcer').textContent()).toContain(`${SOLD_OUT_LEFT_LINE_MESSAGE} Payment complete. Your ticket code is TK-`);
    // Together from the start, not the first sentence and then both (which would say it twice).
    await expectNothingSaidTwice(fan);
    expectClean([fan]);
    await fan.context.close();
  });

  it('a turn that ends while a payment is on its way, which is then refused, is said as the turn’s end, with the seat still payable', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1, seatCount: 2, price: 100 });
    const fan = await newFanEntering(server, concertId, 'ended-paying');
    await fan.page.locator('.your-turn').waitFor(WAIT);
    await seat(fan, 1).click();
    const pay = fan.page.getByRole('button', { name: 'Pay 100 points' });
    await pay.waitFor(WAIT);
    // Refused (no points), 2 s late; the turn ends meanwhile, as when it runs out.
    await answerLate(fan, () => 'idempotencyKey', 2_000);
    await pay.click();
    await endTurn(server, fan, concertId);
    await fan.page.locator('.waiting-room[data-state="NONE"]').waitFor(WAIT);
    await fan.page.getByRole('alert').filter({ hasText: 'You do not have enough points' }).waitFor(WAIT);
    await announced(fan, `${TURN_ENDED_MESSAGE} ${HOLDS_OUTLAST_TURN}`);
    expect(await fan.page.locator('.waiting-room').innerText()).toContain(TURN_ENDED_MESSAGE);
    expectClean([fan]);
    await fan.context.close();
  });

  it('"not enough points" goes once the fan has charged enough points, and paying then works; logging out leaves nothing of it in the live region', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1, seatCount: 1, price: 100 });
    const fan = await newFanEntering(server, concertId, 'short');
    await fan.page.locator('.your-turn').waitFor(WAIT);
    await seat(fan, 1).click();
    await fan.page.getByRole('button', { name: 'Pay 100 points' }).click();
    const note = fan.page.getByRole('alert').filter({ hasText: 'You do not have enough points' });
    await note.waitFor(WAIT);
    // Still short after a first charge: the note stays…
    await chargeInPage(fan, 60);
    await fan.page.waitForTimeout(300);
    expect(await note.count()).toBe(1);
    // …and goes once the balance covers the cart.
    await fan.page.getByLabel('Points to add').fill('40');
    await fan.page.getByRole('button', { name: 'Charge points' }).click();
    await fan.page.getByTestId('points').filter({ hasText: '100' }).waitFor(WAIT);
    // Said as well as shown.
    await announced(fan, '40 points added: you have 100 points.');
    await note.waitFor({ state: 'detached', ...WAIT });
    await fan.page.getByRole('button', { name: 'Pay 100 points' }).click();
    await fan.page.locator('[data-testid="payment"] .ticket-code').first().waitFor(WAIT);
    await announced(fan, 'Your ticket code is');
    // A shared computer: the next person must not find the ticket code in the page (a screen reader reads the region).
    await fan.page.getByRole('button', { name: 'Log out' }).click();
    await fan.page.getByRole('button', { name: 'Log in' }).first().waitFor(WAIT);
    expect(await fan.page.getByTestId('announcer').textContent()).toBe('');
    expectClean([fan]);
    await fan.context.close();
  });

  it('says in the page what is wrong with the form, an unknown concert once, keeps the focus on a seat held from the keyboard, and counts a hold down on the server’s clock when the browser’s is minutes fast', async () => {
    const fan = await openFan('skewed', { width: 1100, height: 900 });
    // This browser's clock runs 4 minutes fast: longer than the 2-minute hold, which it would take for lapsed at once.
    await fan.context.addInitScript(() => {
      const realNow = Date.now.bind(Date);
      Date.now = () => realNow() + 240_000;
    });
    await fan.page.goto(`${base}#/concerts/999999`);
    await fan.page.getByRole('alert').filter({ hasText: 'This concert does not exist.' }).waitFor(WAIT);
    expect(await fan.page.getByRole('alert').count()).toBe(1);
    // An ID that is no number at all (BAD_USER_INPUT) is no concert either: there is no form to check.
    await fan.page.goto(`${base}#/concerts/abc`);
    await fan.page.getByRole('alert').filter({ hasText: 'This concert does not exist.' }).waitFor(WAIT);
    expect(await fan.page.getByRole('alert').count()).toBe(1);

    // The server's own words, in the page (not a browser bubble, which also held back a log-in with a
    // password shorter than sign-up asks, as an admin's may be).
    const { concertId } = await createConcert(server, { maxActiveUsers: 5, seatCount: 2, price: 100 });
    await fan.page.goto(`${base}#/concerts/${concertId}`);
    await submitAuthForm(fan, 'Sign up', 'not-an-email');
    await fan.page.getByRole('alert').filter({ hasText: 'That is not a valid email address.' }).waitFor(WAIT);
    // The fields are marked and described by it (the server does not always say which of the two is wrong).
    expect(await fan.page.getByLabel('Email').getAttribute('aria-invalid')).toBe('true');
    expect(await fan.page.evaluate("document.getElementById(document.querySelector('input[name=email]').getAttribute('aria-describedby')).textContent")).toBe('That is not a valid email address.');
    const email = `skewed-${Date.now()}@example.test`;
    await submitAuthForm(fan, 'Sign up', email, 'short');
    await fan.page.getByRole('alert').filter({ hasText: 'The password must have at least 8 characters.' }).waitFor(WAIT);
    // Sent from the keyboard, the button keeps the focus through its request (a disabled one dropped it to the page).
    await fan.page.getByRole('button', { name: 'Sign up' }).focus();
    await fan.page.keyboard.press('Enter');
    await fan.page.getByRole('alert').filter({ hasText: 'The password must have at least 8 characters.' }).waitFor(WAIT);
    expect(await fan.page.evaluate<string | null>('document.activeElement?.textContent?.trim() ?? null')).toBe('Sign up');

    await signUpInPage(fan, email);
    // A charge the server refuses says why; sent again, while on its way, it does not say it again.
    await fan.page.getByLabel('Points to add').fill('0');
    await fan.page.getByRole('button', { name: 'Charge points' }).click();
    const refused = fan.page.getByRole('alert').filter({ hasText: 'The amount must be a whole number from 1 to' });
    await refused.waitFor(WAIT);
    await answerLate(fan, () => 'chargePoints', 1500);
    await fan.page.getByRole('button', { name: 'Charge points' }).click();
    await fan.page.waitForTimeout(500);
    expect(await refused.count()).toBe(0);
    await refused.waitFor(WAIT);
    // Edited, the amount is no longer the one refused: the refusal goes at once.
    await fan.page.getByLabel('Points to add').fill('1000');
    expect(await refused.count()).toBe(0);
    await fan.page.getByRole('button', { name: 'Charge points' }).click();
    await fan.page.getByTestId('points').filter({ hasText: '1,000' }).waitFor(WAIT);
    expect(await refused.count()).toBe(0);
    await fan.page.unroute('**/graphql');
    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    // Held from the keyboard, the seat keeps the focus: the next seat is one Tab away, not a walk from the top.
    await seat(fan, 1).focus();
    await fan.page.keyboard.press('Enter');
    await fan.page.locator('.seat-map [data-seat="1"][data-look="MINE"]').waitFor(WAIT);
    expect(await fan.page.evaluate<string | null>("document.activeElement?.getAttribute('data-seat') ?? null")).toBe('1');
    // Shown, with about the two minutes the server gave it, and payable.
    const countdown = fan.page.locator('.cart .countdown');
    await countdown.waitFor(WAIT);
    // Within the Date header's one-second grain of the server's clock.
    expect(await countdown.textContent()).toMatch(/^(2:0[01]|1:[45]\d)$/);
    await fan.page.getByRole('button', { name: 'Pay 100 points' }).click();
    await fan.page.locator('[data-testid="payment"] .ticket-code').first().waitFor(WAIT);
    expectClean([fan], (_fan, text) => text.includes('Failed to load resource'));
    await fan.context.close();
  });

  it('a stadium-sized map shows a page of seats at a time, each counting its free seats live; a concert of many dates shows one date’s map at a time', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5, seatCount: 1200, price: 100 });
    const fan = await newFanEntering(server, concertId, 'stadium', undefined, 1000);
    const map = fan.page.locator(`.seat-map[data-schedule="${scheduleIds[0]}"]`);
    await map.locator('[data-seat="1"]').waitFor(WAIT);
    expect(await map.locator('button.seat').count()).toBe(500);
    const pages = map.locator('select');
    expect(await pages.locator('option').allTextContents()).toEqual(['1–500 (500 free)', '501–1000 (500 free)', '1001–1200 (200 free)']);
    await pages.selectOption({ label: '1001–1200 (200 free)' });
    await map.locator('[data-seat="1001"]').waitFor(WAIT);
    expect(await map.locator('button.seat').count()).toBe(200);
    // Another fan's hold on this page is shown live, and counted.
    const [other] = await signUpMany(new Api(server.url), 1);
    await admit([other!], concertId);
    await hold(other!, (await seatIds(server, scheduleIds[0]!))[1149]!);
    await seatWithStatus(fan, 1150, 'HELD').waitFor(WAIT);
    await pages.locator('option', { hasText: '1001–1200 (199 free)' }).waitFor({ state: 'attached', ...WAIT });
    // The fan's own, from the keyboard: the arrows move within the page.
    await seat(fan, 1001).focus();
    await fan.page.keyboard.press('ArrowRight');
    await fan.page.keyboard.press('Enter');
    await map.locator('[data-seat="1002"][data-look="MINE"]').waitFor(WAIT);
    await pages.locator('option', { hasText: '1001–1200 (198 free, 1 yours)' }).waitFor({ state: 'attached', ...WAIT });
    // Back on the first page, the choice still says where the fan's seat is.
    await pages.selectOption({ index: 0 });
    await map.locator('[data-seat="1"]').waitFor(WAIT);
    expect(await pages.locator('option').allTextContents()).toEqual(['1–500 (500 free)', '501–1000 (500 free)', '1001–1200 (198 free, 1 yours)']);
    await fan.context.close();

    // Six dates: one map (one live feed) at a time, chosen by date.
    const many = await createConcert(server, { maxActiveUsers: 5, seatCount: 3, price: 100, schedules: 6 });
    const dates = await newFanEntering(server, many.concertId, 'dates', undefined, 1000);
    await dates.page.locator(`.seat-map[data-schedule="${many.scheduleIds[0]}"] [data-seat="1"]`).waitFor(WAIT);
    expect(await dates.page.locator('.seat-map').count()).toBe(1);
    await dates.page.getByLabel('Date').selectOption({ index: 4 });
    await dates.page.locator(`.seat-map[data-schedule="${many.scheduleIds[4]}"] [data-seat="3"]`).click();
    await dates.page.locator(`.seat-map[data-schedule="${many.scheduleIds[4]}"] [data-seat="3"][data-look="MINE"]`).waitFor(WAIT);
    expect(await dates.page.locator('.seat-map').count()).toBe(1);
    // Each date says its free seats, and the fan's own there.
    await dates.page.getByLabel('Date').locator('option', { hasText: '(2 free, 1 yours)' }).waitFor({ state: 'attached', ...WAIT });
    expect(await dates.page.getByLabel('Date').locator('option', { hasText: '(3 free)' }).count()).toBe(5);
    expectClean([dates]);
    await dates.context.close();
  });

  it('a seat held at the top of the page stays under the pointer as the cart appears above the map, so the next click holds the seat beside it', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1, seatCount: 200, price: 10 });
    const fan = await newFanEntering(server, concertId, 'steady-map', { width: 1100, height: 900 }, 100);
    await fan.page.locator('.your-turn').waitFor(WAIT);
    const first = fan.page.locator('.seat-map [data-seat="1"]');
    await first.waitFor(WAIT);
    // Where no browser anchors the scroll position: the page's top, the first seats in view.
    await fan.page.evaluate('window.scrollTo(0, 0)');
    const before = await first.boundingBox();
    const secondBefore = await fan.page.locator('.seat-map [data-seat="2"]').boundingBox();
    expect(before && before.y + before.height).toBeLessThan(900);
    await fan.page.mouse.click(before!.x + before!.width / 2, before!.y + before!.height / 2);
    await fan.page.getByRole('button', { name: 'Pay 10 points' }).waitFor(WAIT);
    expect((await first.boundingBox())?.y).toBeCloseTo(before!.y, 0);
    // The spot where seat 2 was before the cart came holds seat 2.
    await fan.page.mouse.click(secondBefore!.x + secondBefore!.width / 2, secondBefore!.y + secondBefore!.height / 2);
    await fan.page.getByRole('button', { name: 'Pay 20 points' }).waitFor(WAIT);
    expect(await fan.page.locator('.seat-map [data-look="MINE"]').evaluateAll((seats) => seats.map((seat) => seat.getAttribute('data-seat')))).toEqual(['1', '2']);
    // Paying at once, the press is no longer the seat's: the payment's card shows where it comes, in view.
    await fan.page.getByRole('button', { name: 'Pay 20 points' }).click();
    const paid = fan.page.getByRole('heading', { name: 'Payment complete' });
    await paid.waitFor(WAIT);
    await fan.page.waitForTimeout(300);
    expect((await paid.boundingBox())?.y).toBeGreaterThanOrEqual(0);
    expectClean([fan]);
    await fan.context.close();
  });

  it('a seat the fan holds is neither theirs nor someone else’s until the hold is answered, then theirs at once, not "held by someone else" until their holds are read again (a slow network); released, a rival’s hold of it is the rival’s, though a read from before the release still lists it', async () => {
    const { scheduleIds, fan, rival } = await admittedWithRival(server, 'own-hold', { seatCount: 4, price: 10 });
    // The tab's title says it too (a fan waiting in another tab sees the turn come).
    await expect.poll(() => fan.page.title(), WAIT).toMatch(/^Your turn · .* – Concert tickets$/);
    await seat(fan, 1).waitFor(WAIT);
    // A slow network: the hold's answer comes 0.8 s late (after the live feed's HELD), the fan's holds'
    // answers 2 s late (read by the server at once: what they say may be old by the time they come).
    let slowReads = 0;
    await fan.page.route('**/graphql', async (route) => {
      const body = route.request().postData() ?? '';
      const lateBy = body.includes('query MyHolds') ? 2000 : body.includes('holdSeat') ? 800 : 0;
      if (lateBy === 0) return route.continue();
      if (lateBy === 2000) slowReads += 1;
      const response = await route.fetch();
      await new Promise((resolve) => setTimeout(resolve, lateBy));
      await route.fulfill({ response }).catch(() => undefined);
    });
    // Seat 1's look, and whether the cart shows.
    const looks = await samplePage<string>(fan, 'document.querySelector(\'.seat-map [data-seat="1"]\')?.getAttribute("data-look") + (document.querySelector(".cart") ? " cart" : "")', 20);
    await seat(fan, 1).click();
    await fan.page.locator('.seat-map [data-seat="1"][data-look="HOLDING"]').waitFor({ timeout: 1500 });
    await fan.page.locator('.seat-map [data-seat="1"][data-look="MINE"]').waitFor({ timeout: 2500 });
    // Still before the holds' read answers: the cart has not come.
    expect(await fan.page.getByRole('button', { name: 'Pay 10 points' }).count()).toBe(0);
    await seat(fan, 1).click();
    await seatWithStatus(fan, 1, 'AVAILABLE').waitFor({ timeout: 1500 });
    await announced(fan, 'Seat 1 released: it is free for others again.');
    // A rival takes it at once; the fan's holds, read before the release, come after it.
    await hold(rival, (await seatIds(server, scheduleIds[0]!))[0]!);
    await seatWithStatus(fan, 1, 'HELD').waitFor(WAIT);
    await fan.page.waitForTimeout(2500);
    const seen = (await looks()).map((sample) => sample.split(' '));
    const released = seen.findIndex(([look], i) => look === 'AVAILABLE' && seen.slice(0, i).some(([before]) => before === 'MINE'));
    expect(released).toBeGreaterThan(0);
    expect(seen.slice(0, released).map(([look]) => look)).not.toContain('HELD');
    // Nor does the cart bring the released seat back.
    expect(seen.slice(released).map(([look]) => look)).not.toContain('MINE');
    expect(seen.slice(released).filter(([, cart]) => cart === 'cart')).toEqual([]);
    expect(seen.at(-1)?.[0]).toBe('HELD');
    expect(slowReads).toBeGreaterThan(0);
    await fan.page.unroute('**/graphql');
    expectClean([fan]);
    await fan.context.close();
  });

  it('a date’s count of free seats follows its open map live: another fan’s hold right after the fan’s own is counted at once, not at the next re-read, and the map’s last count stays when the turn ends', async () => {
    const { concertId, scheduleIds, fan, rival } = await admittedWithRival(server, 'live-count', { seatCount: 10, price: 10 });
    const dateLine = fan.page.locator('.schedules li').first();
    await seat(fan, 1).click();
    await dateLine.filter({ hasText: '9 of 10 seats free' }).waitFor(WAIT);
    // The fan's own hold made the page read the counts; re-reads wait 5 s after it.
    await hold(rival, (await seatIds(server, scheduleIds[0]!))[4]!);
    await seatWithStatus(fan, 5, 'HELD').waitFor(WAIT);
    await dateLine.filter({ hasText: '8 of 10 seats free' }).waitFor({ timeout: 1500 });
    // The turn ends and the map closes: its last count stands until the counts are read again, not
    // the read before it (which had '9 of 10', and the next re-read waits 5 s after it).
    const stopSampling = await samplePage<string>(fan, "document.querySelector('.schedules li')?.textContent ?? ''", 20);
    await endTurn(server, fan, concertId);
    await fan.page.locator('.seat-map').waitFor({ state: 'detached', ...WAIT });
    await fan.page.waitForTimeout(500);
    const counts = await stopSampling();
    expect(counts.filter((line) => line.includes('seats free') && !line.includes('8 of 10 seats free'))).toEqual([]);
    expectClean([fan]);
    await fan.context.close();
  });

  it('a fan holding a seat far down a large map on a phone has a bar at the foot of the screen that says what is held and takes them to the cart', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1, seatCount: 600, price: 10 });
    const fan = await newFanEntering(server, concertId, 'checkout-bar', { width: 375, height: 700 }, 100);
    await fan.page.locator('.your-turn').waitFor(WAIT);
    const bar = fan.page.getByRole('region', { name: 'Your held seats, in short' });
    // Nothing held: no bar.
    await seat(fan, 1).waitFor(WAIT);
    expect(await bar.count()).toBe(0);
    // A seat far down the map: the cart's Pay button, above the map, is out of sight; the bar says so.
    await seat(fan, 280).scrollIntoViewIfNeeded();
    await seat(fan, 280).click();
    await fan.page.locator('.seat-map [data-seat="280"][data-look="MINE"]').waitFor(WAIT);
    await bar.filter({ hasText: /^1 seat held · \d+:\d\d left/ }).waitFor(WAIT);
    const pay = fan.page.getByRole('button', { name: 'Pay 10 points' });
    expect(await pay.evaluate((button) => button.getBoundingClientRect().bottom < 0)).toBe(true);
    // It takes the fan to the cart, the focus on Pay; the Pay button in sight, the bar goes.
    await bar.getByRole('button', { name: 'Go to checkout' }).click();
    await bar.waitFor({ state: 'detached', ...WAIT });
    expect(await fan.page.evaluate<string | null>("document.activeElement?.getAttribute('aria-label') ?? null")).toBe('Pay 10 points');
    expect(await fan.page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await pay.click();
    await fan.page.locator('[data-testid="payment"]').waitFor(WAIT);
    expect(await bar.count()).toBe(0);
    expectClean([fan]);
    await fan.context.close();
  });

  it('a payment of seats on two dates names each seat with its date', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 1, seatCount: 2, price: 100, schedules: 2 });
    const fan = await newFanEntering(server, concertId, 'two-dates', undefined, 200);
    await fan.page.locator('.your-turn').waitFor(WAIT);
    for (const [i, scheduleId] of scheduleIds.entries()) {
      await fan.page.locator(`.seat-map[data-schedule="${scheduleId}"] [data-seat="1"]`).click();
      await fan.page.getByRole('button', { name: `Pay ${(i + 1) * 100} points` }).waitFor(WAIT);
      // The fan's own first hold is counted in the date's line at once, not at the next re-read 5 s on.
      if (i === 0) await fan.page.locator('.schedules li').first().filter({ hasText: '1 of 2 seats free' }).waitFor({ timeout: 2500 });
    }
    await fan.page.getByRole('button', { name: 'Pay 200 points' }).click();
    const tickets = fan.page.locator('[data-testid="payment"] .tickets li');
    await tickets.first().waitFor(WAIT);
    const lines = await tickets.allTextContents();
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(/^Seat 1 on .*2030.*: ticket code TK-/);
    expect(new Set(lines.map((line) => line.split(': ticket code')[0])).size).toBe(2);
    expectClean([fan]);
    await fan.context.close();
  });

  it('the progress bar starts at each entry into the line, and for each account in the tab', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1, seatCount: 2 });
    // One fan ACTIVE, three waiting.
    const ahead = await signUpMany(new Api(server.url), 4);
    for (const other of ahead) await other.api.data(ENTER, { id: concertId });
    const fan = await openFan('progress', { width: 1100, height: 900 });
    await fan.page.goto(`${base}#/concerts/${concertId}`);
    const stamp = Date.now();
    await signUpInPage(fan, `progress-${stamp}@example.test`);
    const progress = () => fan.page.locator('.waiting-room progress').getAttribute('value');
    const enterAt = async (place: number) => {
      await fan.page.getByRole('button', { name: 'Enter the waiting room' }).click();
      await position(fan, `number ${place} in line`).waitFor(WAIT);
    };

    await enterAt(4);
    expect(await progress()).toBe('20'); // 1 of 5 steps: a sliver
    await fan.page.getByRole('button', { name: 'Leave the waiting room' }).click();
    for (const other of ahead.slice(2)) await other.api.data(LEAVE, { id: concertId });
    // Entering again starts from the new place, not the first entry's.
    await enterAt(2);
    expect(await progress()).toBe('33');
    // So does another account in the same tab.
    await fan.page.getByRole('button', { name: 'Leave the waiting room' }).click();
    await fan.page.getByRole('button', { name: 'Log out' }).click();
    await signUpInPage(fan, `progress-2-${stamp}@example.test`);
    await enterAt(2);
    expect(await progress()).toBe('33');
    expectClean([fan]);
    await fan.context.close();
  });

  it('one failure shown in two places is one alert: a screen reader hears it once', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1, seatCount: 3, price: 100 });
    const [account] = await signUpMany(new Api(server.url), 1);
    const fan = await openFan('one-alert', { width: 1100, height: 900 });
    await logInTab(fan, account!.token);
    await fan.page.goto(`${base}#/concerts/${concertId}`);
    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await fan.page.locator('.your-turn').waitFor(WAIT);
    await seatWithStatus(fan, 1, 'AVAILABLE').waitFor(WAIT);
    await fan.page.getByLabel('Points to add').fill('100');
    // Every change the fan asks for is refused by the rate limit: a hold in the seat map, a charge in
    // the header, asked one right after the other (one failure, said once, is two notes said within 2 s).
    await fan.page.route('**/graphql', async (route) => {
      if (!(route.request().postData() ?? '').includes('mutation')) return route.continue();
      await route.fulfill({ status: 429, contentType: 'application/json', headers: { 'retry-after': '5' }, body: JSON.stringify({ errors: [{ message: 'slow down', extensions: { code: 'RATE_LIMITED', retryAfterSeconds: 5 } }] }) });
    });
    await seat(fan, 1).click();
    await fan.page.getByRole('button', { name: 'Charge points' }).click();
    const said = /^Too many attempts: try again in [1-5] s\.$/;
    await vi.waitFor(async () => expect(await fan.page.locator('.error').filter({ hasText: said }).count()).toBe(2), { timeout: 10_000, interval: 100 });
    // Both shown beside what they concern; one of them is the alert (two without the fix).
    expect(await fan.page.locator('[role="alert"]').filter({ hasText: said }).count()).toBe(1);
    // Not atomic: the countdown's ticks inside do not make it read the whole alert again.
    expect(await fan.page.locator('[role="alert"]').filter({ hasText: said }).getAttribute('aria-atomic')).toBe('false');
    // The wait counts down, in a timer (screen readers do not read its every second), and when it is
    // over both notes say so (the number stood still before).
    const counted = await fan.page.locator('.error [role="timer"]').allTextContents();
    expect(counted).toHaveLength(2);
    await vi.waitFor(async () => expect(await fan.page.locator('.error [role="timer"]').first().textContent()).not.toBe(counted[0]), { timeout: 3000, interval: 100 });
    await vi.waitFor(async () => expect(await fan.page.locator('.error').filter({ hasText: 'Too many attempts then; you may try again now.' }).count()).toBe(2), { timeout: 8000, interval: 200 });
    await fan.page.unroute('**/graphql');
    expectClean([fan], (_fan, text) => text.includes('status of 429'));
    await fan.context.close();
  });

  it('My tickets read while the server is busy: the page says so, tries again by itself and shows the list', async () => {
    const [account] = await signUpMany(new Api(server.url), 1);
    const fan = await openFan('tickets-busy', { width: 1100, height: 900 });
    await logInTab(fan, account!.token);
    const failed = await busyFor(fan, 'query MyTickets', 2);
    await fan.page.goto(`${base}#/tickets`);
    await fan.page.getByRole('alert').filter({ hasText: 'briefly unavailable' }).waitFor(WAIT);
    // No reload, no click: the read is made again until it answers (it stayed on the error before).
    await fan.page.getByText('No tickets yet.').waitFor(WAIT);
    expect(failed()).toBe(2);
    expect(await fan.page.getByRole('alert').filter({ hasText: 'briefly unavailable' }).count()).toBe(0);
    await fan.page.unroute('**/graphql');
    expectClean([fan]);
    await fan.context.close();
  });

  it('My tickets follows another device (tickets bought there show, with the balance, once the page is shown again); a show starting while it is open takes "Cancel ticket" away, and a question left open is answered with why, the focus on the ticket', async () => {
    const [account] = await signUpMany(new Api(server.url), 1);
    await charge(account!, 1000);
    const fan = await openFan('tickets-follow', { width: 1100, height: 900 });
    await logInTab(fan, account!.token);
    await fan.page.goto(`${base}#/tickets`);
    await fan.page.getByText('No tickets yet.').getByRole('link', { name: 'See the concerts' }).waitFor(WAIT);
    await fan.page.getByTestId('points').filter({ hasText: /^1,000 points$/ }).waitFor(WAIT);
    // Two tickets bought on another device, for a show starting 30 s from now: nothing tells the page;
    // shown again, it reads them and the balance.
    const startsAt = Date.now() + 30_000;
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 1, seatCount: 2, price: 100, startsAt: new Date(startsAt) });
    await admit([account!], concertId);
    const [first, second] = await seatIds(server, scheduleIds[0]!);
    const { reservations } = await pay(account!, [(await hold(account!, first!)).id, (await hold(account!, second!)).id], 'other-device');
    await tabShownAgain(fan);
    const [asked, untouched] = reservations.map((reservation) => fan.page.locator(`.ticket[data-ticket="${reservation.code}"]`)) as [Locator, Locator];
    await untouched.getByRole('button', { name: 'Cancel ticket', exact: true }).waitFor(WAIT);
    await fan.page.getByTestId('points').filter({ hasText: /^800 points$/ }).waitFor(WAIT);
    // One ticket's question is open as the show starts: the other's "Cancel ticket" goes by itself.
    await asked.getByRole('button', { name: 'Cancel ticket', exact: true }).click();
    await asked.getByRole('button', { name: 'Yes, cancel it' }).waitFor(WAIT);
    // The keyboard on the other's "Cancel ticket" as it goes: the focus goes to that ticket's heading, not the page's body.
    await untouched.getByRole('button', { name: 'Cancel ticket', exact: true }).focus();
    await untouched.getByText('This show has started: the ticket can no longer be cancelled.').waitFor({ timeout: 40_000 });
    expect(await untouched.getByRole('button', { name: 'Cancel ticket', exact: true }).count()).toBe(0);
    const focusedTicket = () => fan.page.evaluate<string | undefined>("document.activeElement?.tagName === 'H3' ? document.activeElement.closest('.ticket')?.dataset.ticket : document.activeElement?.tagName");
    await expect.poll(focusedTicket, WAIT).toBe(reservations[1]!.code);
    // Answered, the API refuses: said as an alert, and the focus goes to that ticket's heading. (Past
    // the start by the server's clock too: the page's estimate of it may run up to a second ahead.)
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, startsAt + 2000 - Date.now())));
    await asked.getByRole('button', { name: 'Yes, cancel it' }).click();
    await asked.getByRole('alert').filter({ hasText: 'This show has started: tickets can no longer be cancelled.' }).waitFor(WAIT);
    await expect.poll(focusedTicket, WAIT).toBe(reservations[0]!.code);
    expect(await fan.page.getByTestId('points').textContent()).toBe('800 points');
    expectClean([fan]);
    await fan.context.close();
  });

  it('dates that have started are not offered: said on their line, their seat map goes as they start, and a concert all of whose dates have started offers no place in line', async () => {
    const over = await createConcert(server, { maxActiveUsers: 1, seatCount: 2, startsAt: new Date(Date.now() - 3_600_000) });
    const [account] = await signUpMany(new Api(server.url), 1);
    const fan = await openFan('started', { width: 1100, height: 900 });
    await logInTab(fan, account!.token);
    await fan.page.goto(`${base}#/concerts/${over.concertId}`);
    await fan.page.getByTestId('all-started').filter({ hasText: 'Every date of this concert has started' }).waitFor(WAIT);
    await fan.page.locator('.schedules li').filter({ hasText: 'started: no longer on sale here' }).waitFor(WAIT);
    expect(await fan.page.getByRole('button', { name: 'Enter the waiting room' }).count()).toBe(0);
    // In line for a concert whose only date starts meanwhile: told at once, not "you will be let in"; free to leave.
    const starting = await createConcert(server, { maxActiveUsers: 1, seatCount: 2, startsAt: new Date(Date.now() + 20_000) });
    await admit(await signUpMany(new Api(server.url), 1), starting.concertId);
    await fan.page.goto(`${base}#/concerts/${starting.concertId}`);
    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await fan.page.locator('.waiting-room[data-state="WAITING"]').waitFor(WAIT);
    expect(await fan.page.getByTestId('all-started').count()).toBe(0);
    await fan.page.getByTestId('all-started').waitFor({ timeout: 40_000 });
    await announced(fan, 'Every date of this concert has started: its seats are no longer on sale here.');
    expect(await fan.page.locator('.waiting-room').textContent()).not.toContain('let in');
    await fan.page.getByRole('button', { name: 'Leave the waiting room' }).click();
    await fan.page.locator('.waiting-room[data-state="NONE"]').waitFor(WAIT);
    expect(await fan.page.getByRole('button', { name: 'Enter the waiting room' }).count()).toBe(0);
    // Let in for a concert whose first date starts during the turn: its map goes then, the other stays.
    const soon = await createConcert(server, { maxActiveUsers: 1, seatCount: 2, schedules: 2, startsAt: new Date(Date.now() + 20_000) });
    await fan.page.goto(`${base}#/concerts/${soon.concertId}`);
    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await fan.page.locator('.your-turn').waitFor(WAIT);
    await expect.poll(() => fan.page.locator('.seat-map').count(), WAIT).toBe(2);
    await expect.poll(() => fan.page.locator('.seat-map').count(), { timeout: 30_000 }).toBe(1);
    expect(await fan.page.locator('.schedules li').first().textContent()).toContain('started: no longer on sale here');
    expect(await fan.page.locator('.schedules li').nth(1).textContent()).not.toContain('started');
    expectClean([fan]);
    await fan.context.close();
  });

  it('the balance follows a refund after the page re-read it for a seat of the fan’s sold on another device', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 2, seatCount: 4, price: 100 });
    const [account] = await signUpMany(new Api(server.url), 1);
    await charge(account!, 1000);
    const fan = await openFan('refund-balance', { width: 1100, height: 900 });
    await logInTab(fan, account!.token);
    await fan.page.goto(`${base}#/concerts/${concertId}`);
    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    // A seat held in the page is paid on another device: the page hears it sold and reads the balance again.
    await seat(fan, 1).click();
    await fan.page.locator('.seat-map [data-seat="1"][data-look="MINE"]').waitFor(WAIT);
    await pay(account!, (await account!.api.data<{ me: Me }>(ME)).me.holds.map((held) => held.id), 'other-device');
    await fan.page.getByTestId('points').filter({ hasText: /^900 points$/ }).waitFor(WAIT);
    // In again, a seat bought in the page, and cancelled there: the refund shows in the balance.
    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await seat(fan, 2).click();
    await fan.page.getByRole('button', { name: 'Pay 100 points' }).click();
    const code = (await fan.page.locator('[data-testid="payment"] .ticket-code').first().textContent(WAIT))!;
    await fan.page.getByTestId('points').filter({ hasText: /^800 points$/ }).waitFor(WAIT);
    await fan.page.getByRole('link', { name: 'My tickets' }).click();
    const ticket = fan.page.locator(`.ticket[data-ticket="${code}"]`);
    await ticket.getByRole('button', { name: 'Cancel ticket', exact: true }).click();
    await ticket.getByRole('button', { name: 'Yes, cancel it' }).click();
    await ticket.getByTestId('refund').filter({ hasText: '100 points are back' }).waitFor(WAIT);
    await fan.page.getByTestId('points').filter({ hasText: /^900 points$/ }).waitFor(WAIT);
    expectClean([fan]);
    await fan.context.close();
  });

  it('the focus follows the keyboard user: past the header by the first Tab stop, to the page once logged in, to the turn once let in, to the payment once paid, to the page once the cart is emptied; a hold and a release are said aloud', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1, seatCount: 4, price: 100 });
    const fan = await openFan('focus', { width: 1100, height: 900 });
    await fan.page.goto(`${base}#/concerts/${concertId}`);
    const pressOn = async (name: string) => {
      await fan.page.getByRole('button', { name, exact: true }).focus();
      await fan.page.keyboard.press('Enter');
    };
    const focusGoesTo = (id: string) => expect.poll(() => focusedId(fan), WAIT).toBe(id);

    // The first Tab stop skips the header (and, logged out, the log-in form) to the page's heading.
    await fan.page.locator('#concert-title').waitFor(WAIT);
    await fan.page.keyboard.press('Tab');
    expect(await fan.page.evaluate<string | null>('document.activeElement?.textContent ?? null')).toBe('Skip to the page');
    await fan.page.keyboard.press('Enter');
    await focusGoesTo('concert-title');
    expect(new URL(fan.page.url()).hash).toBe(`#/concerts/${concertId}`);

    await fan.page.getByLabel('Email').fill(`focus-${Date.now()}@example.test`);
    await fan.page.getByLabel(/^Password/).fill('correct-horse');
    await pressOn('Sign up');
    await focusGoesTo('concert-title');
    await chargeInPage(fan, 1000);

    await pressOn('Enter the waiting room');
    await focusGoesTo('turn-title');
    // The outline nests as the page does: the line within the concert, the turn within the line, each
    // date's seats within the turn.
    await fan.page.locator('.seat-map h5').first().waitFor(WAIT);
    const outline = await fan.page.locator('main :is(h2, h3, h4, h5, h6)').evaluateAll((headings) => headings.map((h) => `${h.tagName} ${h.textContent?.trim()}`));
    expect(outline.map((line) => line.replace(/ .*/s, ''))).toEqual(['H2', 'H3', 'H4', 'H5']);
    expect(outline.slice(1, 3)).toEqual(['H3 Waiting room', 'H4 It is your turn: choose your seats.']);
    await seat(fan, 1).focus();
    await fan.page.keyboard.press('Enter');
    // The seat's new look and the cart are not read out: the hold is said (HOLD_TTL_SECONDS=120 here).
    await announced(fan, 'Seat 1 held for you, 100 points: pay within 2 minutes, or the hold runs out.');
    await pressOn('Release seat 1');
    await focusGoesTo('concert-title');
    await announced(fan, 'Seat 1 released: it is free for others again.');
    await seat(fan, 2).focus();
    await fan.page.keyboard.press('Enter');
    // Released from the map, as held there.
    await fan.page.locator('.seat-map [data-seat="2"][data-look="MINE"]').waitFor(WAIT);
    await fan.page.keyboard.press('Enter');
    await announced(fan, 'Seat 2 released: it is free for others again.');
    await fan.page.locator('.seat-map [data-seat="2"][data-look="AVAILABLE"]').waitFor(WAIT);
    await fan.page.keyboard.press('Enter');
    await pressOn('Pay 100 points');
    await focusGoesTo('paid-title');

    await pressOn('Log out');
    await focusGoesTo('auth-title');
    expectClean([fan]);
    await fan.context.close();
  });

  it('in-app navigation gives the focus to the new page’s heading and names the page in the title, Back gives it to the link the page was left from; the cancel question, once closed (Keep it, Escape), gives it back to the ticket', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1, seatCount: 4, price: 100 });
    // Newer ones: the concert is far down the list, below the fold.
    for (let i = 0; i < 12; i += 1) await createConcert(server, { maxActiveUsers: 1, seatCount: 1 });
    const fan = await openFan('pages', { width: 1100, height: 900 });
    const titled = async (prefix: string) => expect.poll(async () => (await fan.page.title()).startsWith(`${prefix} – `), WAIT).toBe(true);
    const follow = async (name: string, id: string, title: string) => {
      await fan.page.getByRole('link', { name, exact: true }).first().focus();
      await fan.page.keyboard.press('Enter');
      await expect.poll(() => focusedId(fan), WAIT).toBe(id);
      await titled(title);
    };
    await fan.page.goto(base);
    await fan.page.locator(`a.button[href="#/concerts/${concertId}"]`).waitFor(WAIT);
    await titled('Concerts');
    // Each card's link is named with its concert: a screen reader's list of links is a list of names.
    const cards = await fan.page.locator('ul.concerts > li.card').evaluateAll((items) => items.map((item) => [item.querySelector('h3')?.textContent, item.querySelector('a.button')?.textContent]));
    expect(cards.length).toBeGreaterThan(1);
    for (const [title, link] of cards) expect(link?.replace(/^(Get tickets|See the concert) for /, '')).toBe(title);
    // Logged out, "Get tickets" leads past the log-in form to the concert's own heading.
    await fan.page.locator(`a.button[href="#/concerts/${concertId}"]`).focus();
    await fan.page.keyboard.press('Enter');
    await expect.poll(() => focusedId(fan), WAIT).toBe('concert-title');
    const concertTitle = (await fan.page.locator('#concert-title').evaluate((h) => h.firstChild?.textContent ?? '')).trim();
    await titled(concertTitle);
    await follow('← All concerts', 'concerts-title', 'Concerts');
    // Back to a page left from a link, that link has the focus again, in view: in a long list, a keyboard
    // user goes on from where they were, not from its top.
    const focusedLink = () => fan.page.evaluate<string | null>("document.activeElement?.closest('a')?.getAttribute('href') ?? null");
    await fan.page.goBack();
    await fan.page.locator('#concert-title').waitFor(WAIT);
    await expect.poll(focusedLink, WAIT).toBe('#/');
    await fan.page.goBack();
    await expect.poll(focusedLink, WAIT).toBe(`#/concerts/${concertId}`);
    const where = await fan.page.evaluate<{ button: boolean; top: number; bottom: number; height: number }>(
      "(() => { const box = document.activeElement.getBoundingClientRect(); return { button: document.activeElement.matches('a.button'), top: box.top, bottom: box.bottom, height: innerHeight }; })()",
    );
    expect(where.button && where.top >= 0 && where.bottom <= where.height, JSON.stringify(where)).toBe(true);
    expect(await fan.page.evaluate<number>('scrollY')).toBeGreaterThan(0);
    await fan.page.goForward();
    await fan.page.locator('#concert-title').waitFor(WAIT);

    await signUpInPage(fan, `pages-${Date.now()}@example.test`);
    await chargeInPage(fan, 1000);
    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await seat(fan, 1).click();
    await fan.page.getByRole('button', { name: 'Pay 100 points' }).click();
    await follow('View all your tickets', 'tickets-title', 'My tickets');

    // The question closed, "Keep it" gives the focus back to "Cancel ticket"; "Yes, cancel it" to the ticket's heading.
    const ticket = fan.page.locator('.ticket').first();
    const focusIn = () => fan.page.evaluate<string | null>("document.activeElement?.closest('.ticket') ? document.activeElement.tagName + ' ' + document.activeElement.textContent : null");
    await ticket.getByRole('button', { name: 'Cancel ticket', exact: true }).focus();
    await fan.page.keyboard.press('Enter');
    await ticket.getByRole('button', { name: 'Keep it' }).press('Enter');
    await expect.poll(focusIn, WAIT).toBe('BUTTON Cancel ticket');
    // Escape keeps it too, as it closes the log-out question.
    await fan.page.keyboard.press('Enter');
    await ticket.getByRole('button', { name: 'Keep it' }).press('Escape');
    await expect.poll(focusIn, WAIT).toBe('BUTTON Cancel ticket');
    await fan.page.keyboard.press('Enter');
    await ticket.getByRole('button', { name: 'Yes, cancel it' }).press('Enter');
    await ticket.getByTestId('refund').waitFor(WAIT);
    await expect.poll(focusIn, WAIT).toMatch(/^H3 /);
    expectClean([fan]);
    await fan.context.close();
  });

  it('the concert list shows 24 concerts a page, newest first; "More concerts" adds the next, each page read on its own, with none lost when concerts are added meanwhile, and is as long when the fan comes back', async () => {
    const api = new Api(server.url);
    const listed = async () => (await api.data<{ concerts: { id: string }[] }>('{ concerts(order: NEWEST_FIRST) { id } }')).concerts.map((c) => c.id);
    for (let made = (await listed()).length; made < 55; made++) await createConcert(server, { seatCount: 1 });
    let all = await listed();
    const fan = await openFan('list', { width: 1100, height: 900 });
    const listReads: unknown[] = [];
    fan.page.on('request', (request) => {
      if (request.postData()?.includes('query Concerts')) listReads.push((JSON.parse(request.postData() as string) as { variables: unknown }).variables);
    });
    const shownIds = () => fan.page.locator('ul.concerts > li.card h3').evaluateAll((headings) => headings.map((h) => h.id.replace(/^concert-|-title$/g, '')));
    const focusedText = () => fan.page.evaluate<string | null>('document.activeElement?.textContent ?? null');
    await fan.page.goto(base);
    await expect.poll(shownIds, WAIT).toEqual(all.slice(0, 24));
    // Each page is its own request of 25 concerts at most (one more than it shows), not the whole list.
    expect(listReads).toEqual([{ limit: 25, after: null, order: 'NEWEST_FIRST' }]);
    // From the keyboard, More keeps the focus while more follow (a second Enter loads the next page, as
    // a second click does), and says what came in the live region.
    const more = fan.page.getByRole('button', { name: 'More concerts' });
    await more.focus();
    await fan.page.keyboard.press('Enter');
    await expect.poll(shownIds, WAIT).toEqual(all.slice(0, 48));
    await announced(fan, '24 more concerts shown.');
    await more.waitFor(WAIT);
    expect(await focusedText()).toBe('More concerts');
    expect(listReads[1]).toEqual({ limit: 25, after: all[23], order: 'NEWEST_FIRST' });

    // Concerts announced meanwhile push every page down: at the next refresh none falls between two pages.
    for (let i = 0; i < 3; i++) await createConcert(server, { seatCount: 1 });
    all = await listed();
    await tabShownAgain(fan);
    await expect.poll(shownIds, WAIT).toEqual(all.slice(0, 48));

    // The last page takes the focus to its first concert, the button gone.
    await fan.page.keyboard.press('Enter');
    await expect.poll(shownIds, WAIT).toEqual(all);
    await expect.poll(() => fan.page.evaluate<string | null>('document.activeElement?.closest("h3")?.id ?? null'), WAIT).toBe(`concert-${all[48]}-title`);
    expect(await more.count()).toBe(0);

    // To a concert of the last page and back: the list is as long as it was.
    await fan.page.locator(`#concert-${all[50]}-title a`).click();
    await fan.page.locator('#concert-title').waitFor(WAIT);
    await fan.page.goBack();
    await expect.poll(shownIds, WAIT).toEqual(all);
    expectClean([fan]);
    await fan.context.close();
  });

  /** A fan with 1,000 points let in to a new 4-seat concert (100 points a seat) who holds its seats 1 and 2, one after the other (the map takes one seat action at a time). */
  async function holdingTwoSeats(name: string): Promise<Fan> {
    const { concertId } = await createConcert(server, { maxActiveUsers: 2, seatCount: 4, price: 100 });
    const fan = await newFanEntering(server, concertId, name, undefined, 1000);
    await fan.page.locator('.your-turn').waitFor(WAIT);
    for (const number of [1, 2]) {
      await seat(fan, number).click();
      await fan.page.getByRole('button', { name: `Release seat ${number}` }).waitFor(WAIT);
    }
    return fan;
  }

  it('a seat the fan released on another device leaves the cart while the turn goes on; the other stays', async () => {
    const fan = await holdingTwoSeats('released-elsewhere');
    // Seat 1 is released on another device; no turn's end re-reads the holds here.
    const device = new Api(server.url, (await tokenOf(fan))!);
    const held = (await device.data<{ me: Me }>(ME)).me.holds.find((h) => h.seat.number === 1)!;
    await device.data(RELEASE, { holdId: held.id });
    await fan.page.getByRole('button', { name: 'Release seat 1' }).waitFor({ state: 'detached', ...WAIT });
    await fan.page.getByRole('button', { name: 'Pay 100 points' }).waitFor(WAIT);
    await fan.page.getByRole('button', { name: 'Release seat 2' }).waitFor(WAIT);
    expectClean([fan]);
    await fan.context.close();
  });

  it('a fan alone in line is told nobody else waits; with a fan behind, that one other fan waits', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1, seatCount: 2, price: 100 });
    const [holder, behind] = await signUpMany(new Api(server.url), 2);
    await admit([holder!], concertId);
    const fan = await newFanEntering(server, concertId, 'alone-in-line');
    await fan.page.getByTestId('position').filter({ hasText: 'number 1 in line' }).waitFor(WAIT);
    await fan.page.getByTestId('waiting').filter({ hasText: /^1$/ }).waitFor(WAIT);
    await fan.page.getByText('Nobody else is waiting.').waitFor(WAIT);
    await behind!.api.data(ENTER, { id: concertId });
    await fan.page.getByTestId('waiting').filter({ hasText: /^2$/ }).waitFor(WAIT);
    await fan.page.getByText('1 other fan is waiting too.').waitFor(WAIT);
    expectClean([fan]);
    await fan.context.close();
  });

  it('"holding as many seats as allowed" goes once the fan releases a seat from the cart', async () => {
    const fan = await holdingTwoSeats('hold-limit-note');
    await seat(fan, 3).click();
    const note = fan.page.locator('[data-code="HOLD_LIMIT_REACHED"]');
    await note.waitFor(WAIT);
    await fan.page.getByRole('button', { name: 'Release seat 1' }).click();
    await fan.page.getByRole('button', { name: 'Release seat 1' }).waitFor({ state: 'detached', ...WAIT });
    await note.waitFor({ state: 'detached', ...WAIT });
    await fan.context.close();
  });

  /** A fan whose turn has come, for a new concert of `seatCount` seats at 10 points each. */
  async function fanInTurn(name: string, seatCount: number, viewport?: { width: number; height: number }): Promise<Fan> {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1, seatCount, price: 10 });
    const fan = await newFanEntering(server, concertId, name, viewport, 100);
    await fan.page.locator('.your-turn').waitFor(WAIT);
    return fan;
  }

  it('the checkout bar counts down the hold that runs out first, of two held seconds apart', async () => {
    const fan = await fanInTurn('bar-soonest', 600, { width: 375, height: 700 });
    await seat(fan, 280).scrollIntoViewIfNeeded();
    await seat(fan, 280).click();
    await fan.page.locator('.seat-map [data-seat="280"][data-look="MINE"]').waitFor(WAIT);
    await fan.page.waitForTimeout(3_500);
    await seat(fan, 281).click();
    await fan.page.getByRole('region', { name: 'Your held seats, in short' }).filter({ hasText: /^2 seats held · \d+:\d\d left/ }).waitFor(WAIT);
    // Read at one moment: the bar's countdown and the cart's two (the cart is out of sight, still there).
    const read = (await fan.page.evaluate(`(() => ({
      bar: document.querySelector('.checkout-bar .countdown')?.textContent ?? '',
      cart: [...document.querySelectorAll('.cart [role="timer"]')].map((t) => t.textContent ?? ''),
    }))()`)) as { bar: string; cart: string[] };
    const seconds = (clock: string) => clock.split(':').reduce((sum, part) => sum * 60 + Number(part), 0);
    const cart = read.cart.map(seconds);
    expect(cart).toHaveLength(2);
    expect(Math.max(...cart) - Math.min(...cart)).toBeGreaterThanOrEqual(2);
    expect(seconds(read.bar)).toBe(Math.min(...cart));
    expectClean([fan]);
    await fan.context.close();
  });

  it('a fan in the pre-queue may leave it, and is then offered the entry again', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1, seatCount: 4, salesOpenAt: new Date(Date.now() + 600_000) });
    const fan = await newFanEntering(server, concertId, 'prequeue-leave');
    await fan.page.getByTestId('prequeue').waitFor(WAIT);
    await fan.page.getByRole('button', { name: 'Leave the waiting room' }).click(WAIT);
    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).waitFor(WAIT);
    expect(await fan.page.getByTestId('prequeue').count()).toBe(0);
    expectClean([fan]);
    await fan.context.close();
  });

  /** Holds back the fan's requests whose body holds `which` before they reach the server, until `send()`. */
  async function holdBackRequests(fan: Fan, which: string): Promise<{ send: () => void }> {
    let send = () => {};
    const sent = new Promise<void>((resolve) => (send = resolve));
    await fan.page.route('**/graphql', async (route) => {
      if ((route.request().postData() ?? '').includes(which)) await sent;
      await route.fallback();
    });
    return { send };
  }

  /** Counts the fan's requests whose body holds `which` (each then goes on as it would). */
  async function countRequests(fan: Fan, which: string): Promise<() => number> {
    let count = 0;
    await fan.page.route('**/graphql', async (route) => {
      if ((route.request().postData() ?? '').includes(which)) count += 1;
      await route.fallback();
    });
    return () => count;
  }

  it('a seat of the fan’s whose release is on its way looks theirs, not “being held for you”, then free', async () => {
    const fan = await fanInTurn('releasing-look', 4);
    await seat(fan, 1).click();
    await fan.page.locator('.seat-map [data-seat="1"][data-look="MINE"]').waitFor(WAIT);
    const release = await holdBackRequests(fan, 'mutation ReleaseHold');
    await seat(fan, 1).click();
    await fan.page.locator('.seat-map [data-seat="1"][aria-busy="true"]').waitFor(WAIT);
    await fan.page.waitForTimeout(300);
    expect(await seat(fan, 1).getAttribute('data-look')).toBe('MINE');
    release.send();
    await seatWithStatus(fan, 1, 'AVAILABLE').waitFor(WAIT);
    await fan.page.locator('.seat-map [data-seat="1"][data-look="AVAILABLE"]').waitFor(WAIT);
    expectClean([fan]);
    await fan.context.close();
  });

  it('a Release pressed in the cart while the payment is on its way sends nothing (it is only aria-disabled), and the payment pays the seat', async () => {
    const fan = await fanInTurn('release-while-paying', 4);
    await seat(fan, 1).click();
    const payButton = fan.page.getByRole('button', { name: 'Pay 10 points' });
    await payButton.waitFor(WAIT);
    const payment = await holdBackRequests(fan, 'mutation Pay');
    const releases = await countRequests(fan, 'mutation ReleaseHold');
    await payButton.click();
    await fan.page.locator('button.pay[aria-busy="true"]').waitFor(WAIT);
    await fan.page.getByRole('button', { name: 'Release seat 1' }).click({ force: true });
    await fan.page.waitForTimeout(500);
    expect(releases()).toBe(0);
    payment.send();
    await fan.page.locator('[data-testid="payment"] .ticket-code').first().waitFor(WAIT);
    expectClean([fan]);
    await fan.context.close();
  });

  it('an amount below the 32-bit range is refused in the page as one above it is, and never sent', async () => {
    const fan = await openFan('charge-negative-huge', { width: 1100, height: 900 });
    await fan.page.goto(base);
    await signUpInPage(fan, `charge-negative-huge-${Date.now()}@example.test`);
    const charges = await countRequests(fan, 'mutation ChargePoints');
    await fan.page.getByLabel('Points to add').fill('-3000000000');
    await fan.page.getByRole('button', { name: 'Charge points' }).click();
    await fan.page.getByRole('alert').filter({ hasText: 'more points than one charge can add' }).waitFor(WAIT);
    expect(charges()).toBe(0);
    expectClean([fan]);
    await fan.context.close();
  });
});

describe('GraphiQL playground in Chromium (GET /graphql)', () => {
  it('runs a query, a mutation with the Authorization header, and a subscription over the WebSocket, all from this server', async () => {
    const { concertId } = await createConcert(server);
    const [account] = await signUpMany(new Api(server.url), 1);
    const fan = await openFan('playground', { width: 1280, height: 800 });
    // GraphiQL keeps its editors in the tab's sessionStorage: each operation is put there before the page loads.
    const run = async (operation: string, expected: RegExp) => {
      const headers = JSON.stringify({ Authorization: `Bearer ${account!.token}` });
      await fan.context.addInitScript(`sessionStorage.setItem('graphiql:query', ${JSON.stringify(operation)}); sessionStorage.setItem('graphiql:headers', ${JSON.stringify(headers)}); localStorage.setItem('graphiql:queries', '["kept by an earlier version"]');`);
      await fan.page.goto(new URL('/graphql', base).toString());
      await fan.page.getByRole('button', { name: /Execute query/ }).click(WAIT);
      await expect.poll(async () => fan.page.locator('.result-window').innerText(), WAIT).toMatch(expected);
    };
    // One concert, not the list: the result pane draws only the lines in view, and earlier tests' concerts push this one out of it.
    await run(`{ concert(id: "${concertId}") { id } }`, new RegExp(`"id": "${concertId}"`));
    await run('mutation { chargePoints(amount: 7) { points } }', /"points": 7/);
    await run(`subscription { queueStatus(concertId: "${concertId}") { concertId state } }`, /"state": "NONE"/);
    expect(fan.requests.some((url) => url.startsWith('ws://'))).toBe(true);
    // Nothing of it (a logIn's password, the token in Headers) outlives the tab in localStorage, and
    // what an earlier version kept there is gone.
    expect(await fan.page.evaluate<string[]>("Object.keys(localStorage).filter((key) => key.startsWith('graphiql:'))")).toEqual([]);
    expectClean([fan]);
    await fan.context.close();
  });
});
