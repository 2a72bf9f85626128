import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../support/graphql-client';
import { CANCEL, ENTER, LEAVE, STATUS } from '../support/operations';
import { activeFans, charge, hold, pay, seatIds } from './support/booking';
import { signUpMany } from './support/client';
import { createConcert } from './support/fixtures';
import { startTestServer, type TestServer } from './support/harness';
import { HOLDS_OUTLAST_TURN, PLACE_ENDED_AWAY_MESSAGE, PLACE_LOST_MESSAGE, SEAT_BACK_MESSAGE } from '../web/src/logic/queue';
import { admittedWithRival, announced, answerWhenReleased, blockedFans, countRequests, dropSockets, expectClean, type Fan, focusedId, logInTab, newFanEntering, openFan, openTab, position, seat, signUpInPage, sockets, submitAuthForm, socketsOf, startBrowser, stopBrowser, tabShownAgain, tokenOf, userIdOf, WAIT, waitingBehindOne } from './support/browser';

/*
 * The fan web app in Chromium when the connection or the fan goes away: a socket down or blocked, a
 * network drop, other pages and reloads past the presence grace, holds that run out. Beside
 * web-browser.test.ts, on servers of its own with timings short enough to wait out.
 */

/**
 * The presence grace of a second server, for the test of a fan whose socket is down: above the page's
 * 15 s (±15%) between status checks over HTTP (web/src/ui/line-feeds.tsx) with room for a loaded
 * machine (20 s left 2.75 s, and a clean-clone run once lost a place), short enough to wait out.
 */
const PRESENCE_GRACE_SECONDS = 30;
/** How long a hold lasts on that second server, for the test of a hold that runs out. */
const QUICK_HOLD_TTL_SECONDS = 6;
/**
 * How long a hold's running out may take to be said: its TTL, the expiry tick, and the holds' re-read,
 * which comes at most every 5 s after the last (a clean-clone run, three browser files side by side,
 * once took longer than the TTL and 5 s).
 */
const HOLD_RUNS_OUT_WITHIN_MS = (QUICK_HOLD_TTL_SECONDS + 10) * 1000;
/** The presence grace of a third server, for the tests of a fan on other pages of the app: short enough to wait out twice. */
const SHORT_GRACE_SECONDS = 8;

let server: TestServer;
/**
 * A server with timings short enough to wait out: its fans lose their place after
 * PRESENCE_GRACE_SECONDS without a sign of presence, and holds run out after QUICK_HOLD_TTL_SECONDS.
 */
let quick: TestServer;
/** A server whose fans lose their place after SHORT_GRACE_SECONDS without a sign of presence. */
let shortGrace: TestServer;
/** How long a session lasts on a fourth server: told of a quarter of it ahead (web/src/logic/time.ts sessionWarningAt). */
const SHORT_SESSION_SECONDS = 24;
let shortSession: TestServer;
let base: string;

beforeAll(async () => {
  [server, quick, shortGrace, shortSession] = (await startBrowser([
    startTestServer('web_live', { HOLD_TTL_SECONDS: '120', ACTIVE_TTL_SECONDS: '120', MAX_HOLDS_PER_SCHEDULE: '2' }),
    startTestServer('web_presence', { PRESENCE_GRACE_SECONDS: String(PRESENCE_GRACE_SECONDS), HOLD_TTL_SECONDS: String(QUICK_HOLD_TTL_SECONDS) }),
    startTestServer('web_short_grace', { PRESENCE_GRACE_SECONDS: String(SHORT_GRACE_SECONDS) }),
    startTestServer('web_short_session', { JWT_TTL_SECONDS: String(SHORT_SESSION_SECONDS) }),
  ])) as [TestServer, TestServer, TestServer, TestServer];
  base = new URL('/', server.url).toString();
});

afterAll(() => stopBrowser([server, quick, shortGrace, shortSession]));

/** A concert of one seat, sold through the API: its buyer may cancel the ticket. */
async function soldOutConcert(): Promise<{ concertId: string; cancelTheTicket: () => Promise<unknown> }> {
  const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 1, seatCount: 1, price: 100 });
  const [buyer] = await activeFans(new Api(server.url), concertId, 1);
  const held = await hold(buyer!, (await seatIds(server, scheduleIds[0]!))[0]!);
  await charge(buyer!, 100);
  const payment = await pay(buyer!, [held.id], 'the-only-seat');
  return { concertId, cancelTheTicket: () => buyer!.api.data(CANCEL, { id: payment.reservations[0]!.id }) };
}

describe('fan web app in Chromium, when the connection or the fan goes away', () => {
  it(
    'a fan in line keeps the place while the live connection is down, asking over HTTP: a socket that never connects, or one down past the presence grace',
    async () => {
      const quickBase = new URL('/', quick.url).toString();
      const { concertId } = await createConcert(quick, { maxActiveUsers: 1, seatCount: 4 });
      // Someone is ACTIVE (for long: ACTIVE_IDLE_SECONDS is an hour in tests), so the two fans wait.
      const api = new Api(quick.url);
      const [first] = await signUpMany(api, 1);
      await first!.api.data(ENTER, { id: concertId });

      // One fan's WebSocket never connects (a proxy blocks them); the other's connects.
      blockedFans.add('never');
      const [never, dropped] = await Promise.all([openFan('never', { width: 375, height: 800 }), openFan('dropped', { width: 1100, height: 900 })]);
      const stamp = Date.now();
      for (const fan of [never, dropped]) {
        await fan.page.goto(`${quickBase}#/concerts/${concertId}`);
        await signUpInPage(fan, `${fan === never ? 'never' : 'dropped'}-${stamp}@example.test`);
        await fan.page.getByRole('button', { name: 'Enter the waiting room' }).click(WAIT);
        await fan.page.getByTestId('position').waitFor(WAIT);
      }
      await never.page.getByTestId('reconnecting').waitFor(WAIT);
      expect(await dropped.page.getByTestId('reconnecting').count()).toBe(0);

      // The other's socket drops and cannot come back for longer than the grace.
      blockedFans.add('dropped');
      expect(dropSockets('dropped')).toBeGreaterThan(0);
      await dropped.page.getByTestId('reconnecting').filter({ hasText: 'your place in line is kept' }).waitFor(WAIT);
      await new Promise((resolve) => setTimeout(resolve, (PRESENCE_GRACE_SECONDS + 4) * 1000));

      // Both are still in line, as the server says (asked only now, past the grace) and the pages show.
      for (const fan of [never, dropped]) {
        const status = await api.as((await tokenOf(fan))!).data<{ queueStatus: { state: string } }>(STATUS, { id: concertId });
        expect(status.queueStatus.state).toBe('WAITING');
        await fan.page.getByTestId('position').waitFor(WAIT);
      }

      // The socket comes back: the notice goes, and the place is shown live again.
      blockedFans.delete('dropped');
      await dropped.page.getByTestId('reconnecting').waitFor({ state: 'detached', timeout: 15_000 });
      await dropped.page.getByTestId('position').waitFor(WAIT);

      // The errors expected: Chromium's log lines for the refused and cut WebSockets.
      expectClean([never, dropped], (_fan, text) => text.startsWith('WebSocket connection to'), quickBase);
      blockedFans.clear();
      await Promise.all([never.context.close(), dropped.context.close()]);
    },
    (PRESENCE_GRACE_SECONDS + 60) * 1000,
  );

  it('a sold-out concert’s page whose socket never connects asks for the concert itself, and offers a place once a cancellation brings a seat back', async () => {
    const { concertId, cancelTheTicket } = await soldOutConcert();

    // No feed can say the concert sells again: the page asks, every 15 s.
    blockedFans.add('closed-line');
    const fan = await openFan('closed-line', { width: 1100, height: 900 });
    let concertReads = 0;
    fan.page.on('request', (request) => {
      if (request.postData()?.includes('query ConcertDetail')) concertReads += 1;
    });
    await fan.page.goto(`${base}#/concerts/${concertId}`);
    await signUpInPage(fan, `closed-line-${Date.now()}@example.test`);
    await fan.page.locator('.waiting-room[data-state="SOLD_OUT"]').waitFor(WAIT);
    const readsWhenSoldOut = concertReads;

    await cancelTheTicket();
    // Within the 15 s between reads, and room for a loaded machine.
    await fan.page.getByTestId('sold-out').getByText(SEAT_BACK_MESSAGE).waitFor({ timeout: 30_000 });
    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).waitFor(WAIT);
    expect(concertReads).toBeGreaterThan(readsWhenSoldOut);
    // The badge follows that read, not the status the page read before (nothing keeps it current).
    await fan.page.getByTestId('sold-out-badge').waitFor({ state: 'detached', timeout: 2000 });
    expect(await fan.page.title()).not.toContain('Sold out');

    expectClean([fan], (_fan, text) => text.startsWith('WebSocket connection to'));
    blockedFans.clear();
    await fan.context.close();
  });

  it('a sold-out page whose feed an older server ended after SOLD_OUT (a rolling deploy), while the socket stays up for another line, reads the concert itself and offers a place once a seat comes back', async () => {
    const { concertId, cancelTheTicket } = await soldOutConcert();
    // Another concert, whose line the fan waits in: its feed keeps the socket up.
    const other = await createConcert(server, { maxActiveUsers: 1, seatCount: 2 });
    await (await signUpMany(new Api(server.url), 1))[0]!.api.data(ENTER, { id: other.concertId });

    const fan = await openFan('older-server', { width: 1100, height: 900 });
    // Between the page and the server: a feed that says SOLD_OUT is ended, as servers before this one did.
    await fan.page.routeWebSocket(/\/graphql$/, (page) => {
      const upstream = page.connectToServer();
      upstream.onMessage((message) => {
        page.send(message);
        if (typeof message !== 'string') return;
        const frame = JSON.parse(message) as { id?: string; type: string; payload?: { data?: { queueStatus?: { state: string } } } };
        if (frame.type !== 'next' || frame.payload?.data?.queueStatus?.state !== 'SOLD_OUT') return;
        page.send(JSON.stringify({ id: frame.id, type: 'complete' }));
        upstream.send(JSON.stringify({ id: frame.id, type: 'complete' }));
      });
    });
    await fan.page.goto(`${base}#/concerts/${other.concertId}`);
    await signUpInPage(fan, `older-server-${Date.now()}@example.test`);
    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await position(fan, 'number 1 in line').waitFor(WAIT);
    await fan.page.goto(`${base}#/concerts/${concertId}`);
    await fan.page.locator('.waiting-room[data-state="SOLD_OUT"]').waitFor(WAIT);

    await cancelTheTicket();
    // Its first read within 15 s, then every 15 s, and room for a loaded machine; the feed then starts
    // again, and says NONE.
    await fan.page.locator('.waiting-room[data-state="NONE"]').getByText(SEAT_BACK_MESSAGE).waitFor({ timeout: 35_000 });
    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).waitFor(WAIT);
    // The socket stayed up all along (the other line's feed).
    expect(await fan.page.getByTestId('reconnecting').count()).toBe(0);

    expectClean([fan]);
    await fan.context.close();
  }, 90_000);

  it('a concert page whose every read went unanswered reads it again as soon as the server answers, not at the end of its backoff', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1, seatCount: 2 });
    const fan = await openFan('never-loaded', { width: 1100, height: 900 });
    // The server out of reach: the page's reads and its reach probe get no answer.
    let concertReads = 0;
    await fan.page.route(/\/(graphql|healthz)$/, (route) => {
      if ((route.request().postData() ?? '').includes('query ConcertDetail')) concertReads += 1;
      return route.abort('connectionrefused');
    });
    await fan.page.goto(`${base}#/concerts/${concertId}`);
    await fan.page.getByTestId('unreachable').waitFor(WAIT);
    // Four reads in a row unanswered (about 1, 2 and 4 s apart): the next would come about 8 s later.
    await expect.poll(() => concertReads, { timeout: 15_000, interval: 50 }).toBe(4);
    await fan.page.unroute(/\/(graphql|healthz)$/);
    // The reach probe (every 3 s) finds the server back; the concert is read at once.
    await fan.page.locator('#concert-title').waitFor({ timeout: 6000 });
    await fan.page.getByTestId('unreachable').waitFor({ state: 'detached', timeout: 1000 });

    expectClean([fan], (_fan, text) => text.includes('ERR_CONNECTION_REFUSED'));
    await fan.context.close();
  });

  it('a short network drop keeps the concert page, the cart with its held seat, the seat map and the place in line, which all work again once back', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1, seatCount: 4, price: 100 });
    const [a, b] = await Promise.all([openFan('offline-a', { width: 1100, height: 900 }), openFan('offline-b', { width: 375, height: 800 })]);
    const stamp = Date.now();
    for (const fan of [a, b]) {
      await fan.page.goto(`${base}#/concerts/${concertId}`);
      await signUpInPage(fan, `${fan === a ? 'offline-a' : 'offline-b'}-${stamp}@example.test`);
      await fan.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    }
    await position(b, 'number 1 in line').waitFor(WAIT);
    await seat(a, 1).click();
    await a.page.getByRole('button', { name: 'Pay 100 points' }).waitFor(WAIT);

    // The network goes; the page reads the concert again meanwhile (as when the tab is shown again; also
    // 5 s after A's hold, and every 30 s): it fails, and the page says so once, at its top, not beside
    // each read that failed (the concert's, the holds'), keeping what it showed.
    await Promise.all([a.context.setOffline(true), b.context.setOffline(true)]);
    const offlineAt = Date.now();
    for (const fan of [a, b]) {
      await fan.page.getByTestId('reconnecting').waitFor(WAIT);
      await tabShownAgain(fan);
      await fan.page.getByTestId('unreachable').filter({ hasText: 'Cannot reach the server. This page keeps trying by itself' }).waitFor(WAIT);
      await fan.page.locator('#concert-title').waitFor(WAIT);
    }
    const unreachableSaid = (fan: Fan) => fan.page.locator('.error').filter({ hasText: 'Cannot reach the server' }).count();
    expect(await unreachableSaid(a)).toBe(0);
    expect(await a.page.getByRole('button', { name: 'Release seat 1' }).count()).toBe(1);
    expect(await a.page.locator('.seat-map [data-seat="1"][data-look="MINE"]').count()).toBe(1);
    expect(await position(b, 'number 1 in line').count()).toBe(1);
    // A seat pressed meanwhile is not held, and the seat map says why (until the connection is back,
    // below): once, not also above the concert and the cart as the reads it sets off fail too.
    await seat(a, 2).click();
    const seatMapSays = a.page.locator('.seat-map .error').filter({ hasText: 'Cannot reach the server' });
    await seatMapSays.waitFor(WAIT);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await unreachableSaid(a)).toBe(1);
    // B's waiting room keeps asking over HTTP, and says the server does not answer, with what it means
    // for the place: the page's own notice then gives way to it (one message about it at a time).
    await b.page.getByTestId('reconnecting').filter({ hasText: 'not answering' }).waitFor({ timeout: 15_000 });
    await b.page.getByTestId('unreachable').waitFor({ state: 'detached', ...WAIT });

    // Back: the browser says so, and the page asks at once (its socket's backoff is up to 10 s after a
    // cut this long): the live feeds return, the reads' notes go (the page reads again by itself: no
    // "please try again" for what the fan never did), and all works.
    // 18 s off: the socket's tries after 1, 2, 4 and 8 s failed, and its next waits 10 s.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, offlineAt + 18_000 - Date.now())));
    await Promise.all([a.context.setOffline(false), b.context.setOffline(false)]);
    const soon = { timeout: 5_000 };
    for (const fan of [a, b]) await fan.page.getByTestId('reconnecting').waitFor({ state: 'detached', ...soon });
    for (const fan of [a, b]) await expect.poll(() => fan.page.getByRole('alert').count(), soon).toBe(0);
    await seatMapSays.waitFor({ state: 'detached', ...soon });
    for (const fan of [a, b]) await fan.page.getByTestId('unreachable').waitFor({ state: 'detached', ...soon });
    await seat(a, 2).click();
    await a.page.getByRole('button', { name: 'Pay 200 points' }).waitFor(WAIT);
    await position(b, 'number 1 in line').waitFor(WAIT);

    // The errors expected: Chromium's log lines for the requests and sockets that found no network.
    expectClean([a, b], (_fan, text) => text.includes('ERR_INTERNET_DISCONNECTED') || text.startsWith('WebSocket connection to'));
    await Promise.all([a.context.close(), b.context.close()]);
  });

  it('an admitted fan whose socket dropped reads the per-schedule counts again once back, and the seat map goes on from its last change: a seat held meanwhile shows', async () => {
    const { scheduleIds, fan, rival } = await admittedWithRival(server, 'counts-back', { seatCount: 4, price: 100 });
    const counts = fan.page.locator('.schedules li');
    await counts.filter({ hasText: '4 of 4 seats free' }).waitFor(WAIT);
    await fan.page.locator('.seat-map [data-seat="4"][data-look="AVAILABLE"]').waitFor(WAIT);
    const mapReads = countRequests(fan, 'query ScheduleSeats');
    // The socket drops; a seat is held meanwhile, a change the page's feeds never hear.
    await fan.context.setOffline(true);
    await fan.page.getByTestId('reconnecting').waitFor(WAIT);
    await hold(rival, (await seatIds(server, scheduleIds[0]!))[3]!);
    await fan.context.setOffline(false);
    await fan.page.getByTestId('reconnecting').waitFor({ state: 'detached', timeout: 15_000 });
    await fan.page.locator('.seat-map [data-seat="4"][data-look="HELD"]').waitFor(WAIT);
    // Told by the feed, started again from the cursor of the last change it heard: the map was not read again.
    expect(mapReads()).toBe(0);
    // Read again once back (it stayed at 4 until the next live change).
    await counts.filter({ hasText: '3 of 4 seats free' }).waitFor({ timeout: 10_000 });
    expectClean([fan], (_fan, text) => text.includes('ERR_INTERNET_DISCONNECTED') || text.startsWith('WebSocket connection to'));
    await fan.context.close();
  });

  it('a fan in line reading My tickets is told, in words and at the top of the page, that their turn has come, with a link to the concert, and once it ends that the seats held can still be paid for', async () => {
    const { concertId, first, fan } = await waitingBehindOne(server, 'news');
    await fan.page.getByRole('link', { name: 'My tickets' }).click();
    await fan.page.getByRole('heading', { name: 'My tickets' }).waitFor(WAIT);
    expect(await fan.page.getByTestId('line-news').count()).toBe(0);

    // The fan ahead leaves: the next tick lets this one in, while My tickets shows.
    await first.api.data(LEAVE, { id: concertId });
    const news = fan.page.getByTestId('line-news').filter({ hasText: 'It is your turn: you can choose seats now.' });
    await news.waitFor(WAIT);
    await announced(fan, 'It is your turn');
    // Named by the concert's title, and a way to it.
    await news.filter({ hasText: 'Fixture Concert: It is your turn' }).waitFor(WAIT);
    await news.getByRole('link', { name: 'Open the concert' }).click();
    await fan.page.locator('.your-turn').waitFor(WAIT);
    expect(await fan.page.getByTestId('line-news').count()).toBe(0);

    // Holding a seat, the fan reads My tickets again, and the turn ends from another device: the news
    // says the held seat can still be paid for, as the concert's page would.
    await seat(fan, 1).click();
    await fan.page.getByRole('button', { name: /^Pay / }).waitFor(WAIT);
    await fan.page.getByRole('link', { name: 'My tickets' }).click();
    await fan.page.getByRole('heading', { name: 'My tickets' }).waitFor(WAIT);
    await new Api(server.url).as((await tokenOf(fan))!).data(LEAVE, { id: concertId });
    await fan.page.getByTestId('line-news').filter({ hasText: HOLDS_OUTLAST_TURN }).waitFor(WAIT);
    await announced(fan, HOLDS_OUTLAST_TURN);
    // Dismissed from the keyboard, the notice goes and the page's heading takes the focus (not <body>).
    await fan.page.getByTestId('line-news').getByRole('button', { name: 'Dismiss' }).press('Enter');
    await fan.page.getByTestId('line-news').waitFor({ state: 'detached', ...WAIT });
    expect(await focusedId(fan)).toBe('tickets-title');
    expectClean([fan]);
    await fan.context.close();
  });

  it('a fan in line who leaves the concert page and comes back at once is not told "Reconnecting…", and asks nothing over HTTP; the line’s length grows behind them live', async () => {
    const { concertId, fan } = await waitingBehindOne(server, 'back');

    // The feed runs on while the fan is in line, whatever page shows: back on the concert, the place shows at once.
    const statusChecks = countRequests(fan, 'query QueueStatusNow');
    await fan.page.getByRole('link', { name: '← All concerts' }).click();
    await fan.page.getByRole('heading', { name: 'Concerts', exact: true }).waitFor(WAIT);
    await fan.page.goBack();
    await position(fan, 'number 1 in line').waitFor(WAIT);
    // Past the first check over HTTP of a feed taken for down (3 s, +15% at most).
    await new Promise((resolve) => setTimeout(resolve, 4500));
    expect(await fan.page.getByTestId('reconnecting').count()).toBe(0);
    expect(statusChecks()).toBe(0);

    // Two fans join behind: the line's length reaches the page though the fan's place does not move (the
    // server pushes it at most every 5 s).
    for (const other of await signUpMany(new Api(server.url), 2)) await other.api.data(ENTER, { id: concertId });
    await fan.page.getByTestId('waiting').filter({ hasText: /^3$/ }).waitFor({ timeout: 10_000 });
    expect(await position(fan, 'number 1 in line').count()).toBe(1);
    expectClean([fan]);
    await fan.context.close();
  });

  it('a fan in line who logs out is asked first: stay, log out keeping the place, or leave the line and log out', async () => {
    const { concertId, first, fan } = await waitingBehindOne(server, 'log-out');
    const token = (await tokenOf(fan))!;
    const stateOnServer = async () => (await new Api(server.url, token).data<{ queueStatus: { state: string; position: number | null } }>(STATUS, { id: concertId })).queueStatus;
    const question = fan.page.getByRole('group', { name: 'Log out?' });
    const focusedText = () => fan.page.evaluate<string | undefined>('document.activeElement?.textContent?.trim()');

    // Asked, the safe answer focused; Escape closes the question and gives the focus back.
    await fan.page.getByRole('button', { name: 'Log out' }).click();
    await question.filter({ hasText: 'You are in line. Leave it as you log out?' }).waitFor(WAIT);
    expect(await focusedText()).toBe('Stay logged in');
    // What each answer does is read with the focused one.
    expect(await fan.page.evaluate<string>("document.getElementById(document.activeElement.getAttribute('aria-describedby')).textContent")).toMatch(/^You are in line\. Leave it as you log out\?/);
    await fan.page.keyboard.press('Escape');
    await question.waitFor({ state: 'detached', ...WAIT });
    expect(await focusedText()).toBe('Log out');
    expect(await tokenOf(fan)).toBe(token);

    // Logged out keeping the place: the server still has it.
    await fan.page.getByRole('button', { name: 'Log out' }).click();
    await fan.page.getByRole('button', { name: 'Log out, keep my place' }).click();
    await fan.page.getByRole('button', { name: 'Log in' }).waitFor(WAIT);
    expect(await tokenOf(fan)).toBeNull();
    // Long enough for a leave sent by mistake to have landed.
    await fan.page.waitForTimeout(1000);
    expect(await stateOnServer()).toEqual(expect.objectContaining({ state: 'WAITING', position: 1 }));

    // Back in the tab, the place shows; leaving as one logs out takes the fan out of the line.
    await fan.page.evaluate(`sessionStorage.setItem('ct:token', ${JSON.stringify(token)})`);
    await fan.page.reload();
    await position(fan, 'number 1 in line').waitFor(WAIT);
    await fan.page.getByRole('button', { name: 'Log out' }).click();
    await question.filter({ hasText: 'You are in line. Leave it as you log out?' }).waitFor(WAIT);
    // The question follows the line while it is open: let in meanwhile, the fan is asked about the turn.
    await first.api.data(LEAVE, { id: concertId });
    await question.filter({ hasText: 'It is your turn to choose seats. Leave it as you log out?' }).waitFor(WAIT);
    // The leave's answer held back (the server has it): the question stays on screen meanwhile, saying
    // what happens, and the page logs out without the answer, once it has waited its 3 s for it.
    const answers = await answerWhenReleased(fan, 'LeaveQueue');
    await fan.page.getByRole('button', { name: 'Leave and log out' }).click();
    await fan.page.getByText('Leaving the line and logging out…').waitFor(WAIT);
    expect(await fan.page.getByRole('button', { name: 'Log out', exact: true }).count()).toBe(0);
    await fan.page.getByRole('button', { name: 'Log in' }).waitFor(WAIT);
    answers.release();
    expect(await tokenOf(fan)).toBeNull();
    expect((await stateOnServer()).state).toBe('NONE');
    expectClean([fan]);
    await fan.context.close();
  });

  it(
    'a fan in line keeps the place on other pages, and through a reload, past the presence grace; a place lost while away is said plainly on coming back, in the live region too',
    async () => {
      const shortBase = new URL('/', shortGrace.url).toString();
      const { concertId, fan } = await waitingBehindOne(shortGrace, 'away');
      const api = new Api(shortGrace.url);
      const pastGrace = () => new Promise((resolve) => setTimeout(resolve, (SHORT_GRACE_SECONDS + 3) * 1000));

      // On My tickets past the grace, then on the list, reloaded, past it again: still in line, as the
      // server says (asked only now) and the page shows.
      await fan.page.getByRole('link', { name: 'My tickets' }).click();
      await fan.page.getByText('No tickets yet.').waitFor(WAIT);
      await pastGrace();
      await fan.page.getByRole('link', { name: 'Concerts', exact: true }).click();
      await fan.page.reload();
      await fan.page.getByRole('heading', { name: 'Concerts', exact: true }).waitFor(WAIT);
      await pastGrace();
      const status = await api.as((await tokenOf(fan))!).data<{ queueStatus: { state: string } }>(STATUS, { id: concertId });
      expect(status.queueStatus.state).toBe('WAITING');
      await fan.page.locator(`a.button[href="#/concerts/${concertId}"]`).click();
      await position(fan, 'number 1 in line').waitFor(WAIT);
      await announced(fan, 'You are number 1 in line');

      // On My tickets, the fan's connection goes (a laptop asleep) past the grace: the place goes. Back
      // online, the feed hears NONE (over a socket opened again, or over HTTP when its check answers
      // first) and, the fan being out of line, stops; no socket stays open.
      await fan.page.getByRole('link', { name: 'My tickets' }).click();
      expect(dropSockets('away')).toBeGreaterThan(0);
      const socketsOpened = () => sockets.filter((s) => s.agent.endsWith('fan-away')).length;
      const openedBefore = socketsOpened();
      await fan.context.setOffline(true);
      await pastGrace();
      await fan.context.setOffline(false);
      const checksOnline = countRequests(fan, 'query QueueStatusNow');
      await expect.poll(() => socketsOpened() > openedBefore || checksOnline() > 0, { timeout: 20_000 }).toBe(true);
      await expect.poll(() => socketsOf('away').length, { timeout: 20_000 }).toBe(0);
      // Back on the concert, the first status is NONE: the page says the place was lost, and so does the
      // live region, which said "number 1 in line" before (last; with "Connection is back" if the socket
      // opened in the same moment).
      await fan.page.getByRole('link', { name: 'Concerts', exact: true }).click();
      await fan.page.locator(`a.button[href="#/concerts/${concertId}"]`).click();
      await fan.page.locator('.waiting-room[data-state="NONE"]').getByText(PLACE_LOST_MESSAGE).waitFor(WAIT);
      await expect.poll(async () => (await fan.page.getByTestId('announcer').textContent())?.endsWith(PLACE_LOST_MESSAGE), WAIT).toBe(true);

      // The errors expected: Chromium's log lines for the requests and sockets that found no network.
      expectClean([fan], (_fan, text) => text.includes('ERR_INTERNET_DISCONNECTED') || text.startsWith('WebSocket connection to'), shortBase);
      await fan.context.close();
    },
    (SHORT_GRACE_SECONDS + 3) * 3000 + 60_000,
  );

  it('a fan who closes the tab and comes back in a new one is told, past the presence grace and on whatever page it opens, that the place ended while no page was open, and finds it kept within it', async () => {
    const shortBase = new URL('/', shortGrace.url).toString();
    const { concertId, fan } = await waitingBehindOne(shortGrace, 'closed');
    const token = (await tokenOf(fan))!;
    // A new tab of the same browser, logged in (a tab's session is its own), then on the concert's page.
    const newTab = async () => {
      const tab = await openTab(fan.context);
      await logInTab(tab, token);
      return tab;
    };
    const visit = async (tab: Fan) => {
      await tab.page.goto(`${shortBase}#/concerts/${concertId}`);
      return tab;
    };
    // Back at once: the place as it was. The tab is made before the old one closes, so that only the
    // page's load counts against the grace (opening a tab took seconds in a loaded CI run).
    const soon = await newTab();
    await fan.page.close();
    await visit(soon);
    await position(soon, 'number 1 in line').waitFor(WAIT);
    // Back past the grace: said plainly, on the page and aloud, not merely "not in line" (nor "lost":
    // how it ended, a grace passing or a leave on another device, this browser did not see).
    await soon.page.close();
    await new Promise((resolve) => setTimeout(resolve, (SHORT_GRACE_SECONDS + 3) * 1000));
    // Said on whatever page the new tab opens first (the concert list here), which follows the place
    // the closed tab left to it; then on the concert's page too.
    const late = await newTab();
    await late.page.goto(shortBase);
    await late.page.getByTestId('line-news').filter({ hasText: PLACE_ENDED_AWAY_MESSAGE }).waitFor(WAIT);
    await announced(late, PLACE_ENDED_AWAY_MESSAGE);
    await late.page.getByTestId('line-news').getByRole('link', { name: 'Open the concert' }).click();
    await late.page.locator('.waiting-room[data-state="NONE"]').getByText(PLACE_ENDED_AWAY_MESSAGE).waitFor(WAIT);
    expectClean([late], () => false, shortBase);
    await fan.context.close();
  });

  it('leaving the line while holding a seat is said once, with the seat still payable', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1, seatCount: 2, price: 100 });
    const fan = await newFanEntering(server, concertId, 'leaver');
    await announced(fan, 'It is your turn');
    await seat(fan, 1).click();
    await fan.page.getByRole('button', { name: 'Release seat 1' }).waitFor(WAIT);
    // The hold is said a moment after the button shows it (the sentences of one moment are said
    // together, see announcer.tsx): heard before the count starts.
    await announced(fan, 'Seat 1 held for you');
    // Each sentence the live region says is a new node (see announcer.tsx): they are counted.
    await fan.page.evaluate("window.said = []; new MutationObserver(() => window.said.push(document.querySelector('[data-testid=announcer]').textContent)).observe(document.querySelector('[data-testid=announcer]'), { childList: true })");
    await fan.page.getByRole('button', { name: 'Leave the waiting room' }).click();
    await announced(fan, `You are no longer in the waiting room. ${HOLDS_OUTLAST_TURN}`);
    await fan.page.locator('.waiting-room[data-state="NONE"]').getByText(HOLDS_OUTLAST_TURN).waitFor(WAIT);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await fan.page.evaluate<string[]>('window.said')).toEqual([`You are no longer in the waiting room. ${HOLDS_OUTLAST_TURN}`]);
    expectClean([fan]);
    await fan.context.close();
  });

  it('a session about to end is said ahead, with a way to log in again at once that keeps the turn and the held seat', async () => {
    const { concertId } = await createConcert(shortSession, { maxActiveUsers: 1, seatCount: 4, price: 10 });
    const email = `session-${Date.now()}@example.test`;
    const fan = await openFan('session-end', { width: 1100, height: 900 });
    await fan.page.goto(`${new URL('/', shortSession.url).toString()}#/concerts/${concertId}`);
    await signUpInPage(fan, email);
    const signedUpAt = Date.now();
    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await fan.page.locator('.your-turn').waitFor(WAIT);
    await seat(fan, 2).click();
    await fan.page.getByRole('button', { name: 'Release seat 2' }).waitFor(WAIT);
    expect(await fan.page.getByTestId('session-ending').count()).toBe(0);
    // A quarter of the session's 24 s before its end: said, with the time left.
    const note = fan.page.getByTestId('session-ending');
    await note.waitFor({ timeout: SHORT_SESSION_SECONDS * 1000 });
    expect(Date.now() - signedUpAt).toBeGreaterThan(((SHORT_SESSION_SECONDS * 3) / 4 - 3) * 1000);
    await announced(fan, 'Your session is about to end: log in again now to keep your place in line and your held seats.');
    expect(await note.getByRole('timer').textContent()).toMatch(/^0:0[0-6]$/);
    await note.getByRole('button', { name: 'Log in again' }).click();
    await fan.page.getByText('Log in again to go on: your place in line and your held seats wait a short while.').waitFor(WAIT);
    await submitAuthForm(fan, 'Log in', email);
    // Back, the turn and the held seat are there: nothing was left.
    await fan.page.locator('.your-turn').waitFor(WAIT);
    await fan.page.getByRole('button', { name: 'Release seat 2' }).waitFor(WAIT);
    expect(await fan.page.getByTestId('session-ending').count()).toBe(0);
    expectClean([fan], () => false, new URL('/', shortSession.url).toString());
    await fan.context.close();
  });

  /** A new fan in the quick server's (short holds) new concert of `seatCount` seats, who has entered its line (and is let in at once). */
  async function admittedOnQuick(name: string, viewport: { width: number; height: number }, seatCount: number) {
    const quickBase = new URL('/', quick.url).toString();
    const { concertId } = await createConcert(quick, { maxActiveUsers: 1, seatCount, price: 100 });
    const fan = await newFanEntering(quick, concertId, name, viewport);
    return { fan, quickBase };
  }

  it('a hold that runs out is said in the page and in the live region, until the fan holds another seat or enters the line again', async () => {
    const { fan, quickBase } = await admittedOnQuick('lapse', { width: 1100, height: 900 }, 3);
    const release = async (number: number) => {
      await fan.page.getByRole('button', { name: `Release seat ${number}` }).click();
      await fan.page.getByRole('button', { name: `Release seat ${number}` }).waitFor({ state: 'detached', ...WAIT });
    };
    await seat(fan, 2).click();
    await fan.page.getByRole('button', { name: 'Release seat 2' }).waitFor(WAIT);
    // A second hold, made later: still in the cart when the first runs out. Halfway through the first's
    // 6 s: 3 s to make it while the first lives, 3 s to hear the first run out before the second does.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await seat(fan, 1).click();
    await fan.page.getByRole('button', { name: 'Release seat 1' }).waitFor(WAIT);
    const ranOut = 'Your hold on seat 2 ran out, so the seat is free for others again.';
    await fan.page.getByTestId('hold-ran-out').filter({ hasText: ranOut }).waitFor({ timeout: HOLD_RUNS_OUT_WITHIN_MS });
    await announced(fan, ranOut);
    expect(await fan.page.getByRole('button', { name: 'Release seat 2' }).count()).toBe(0);
    // The second runs out 3 s later: said in its turn, and added to the note (not in its place).
    await fan.page.getByTestId('hold-ran-out').filter({ hasText: 'Your holds on seats 1 and 2 ran out, so the seats are free for others again.' }).waitFor({ timeout: HOLD_RUNS_OUT_WITHIN_MS });
    await announced(fan, 'Your hold on seat 1 ran out, so the seat is free for others again.');
    // Fewer holds than when it was said, then another seat held: the note goes, and stays gone once
    // the cart is empty again (released here; paid alike).
    await seat(fan, 3).click();
    await fan.page.getByTestId('hold-ran-out').waitFor({ state: 'detached', ...WAIT });
    await release(3);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await fan.page.getByTestId('hold-ran-out').count()).toBe(0);
    // Said again for another hold, the note is of that turn: entering the line again ends it.
    await seat(fan, 3).click();
    await fan.page.getByTestId('hold-ran-out').filter({ hasText: 'seat 3 ran out' }).waitFor({ timeout: HOLD_RUNS_OUT_WITHIN_MS });
    await fan.page.getByRole('button', { name: 'Leave the waiting room' }).click();
    await fan.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await fan.page.getByTestId('hold-ran-out').waitFor({ state: 'detached', ...WAIT });
    expectClean([fan], () => false, quickBase);
    await fan.context.close();
  });

  it('focus on a released seat’s button goes to Pay, focus put elsewhere stays when a hold runs out, and focus lost by a hold running out goes to the note saying so, where the cart was, without scrolling', async () => {
    const { fan, quickBase } = await admittedOnQuick('idle', { width: 375, height: 500 }, 40);
    const titleOnScreen = () => fan.page.evaluate<boolean>("document.getElementById('concert-title').getBoundingClientRect().bottom > 0");
    const holdRunsOut = async (number: number) => {
      await fan.page.getByTestId('hold-ran-out').filter({ hasText: `seat ${number} ran out` }).waitFor({ timeout: HOLD_RUNS_OUT_WITHIN_MS });
      await fan.page.getByRole('button', { name: `Release seat ${number}` }).waitFor({ state: 'detached', ...WAIT });
    };

    // Released from the keyboard, the button goes, and its focus to Pay (the cart still has seat 2).
    await seat(fan, 1).click();
    await fan.page.getByRole('button', { name: 'Release seat 1' }).waitFor(WAIT);
    await seat(fan, 2).click();
    await fan.page.getByRole('button', { name: 'Release seat 2' }).waitFor(WAIT);
    await fan.page.getByRole('button', { name: 'Release seat 1' }).focus();
    await fan.page.keyboard.press('Enter');
    await fan.page.getByRole('button', { name: 'Release seat 1' }).waitFor({ state: 'detached', ...WAIT });
    await expect.poll(() => fan.page.evaluate<string | null>("document.activeElement?.getAttribute('aria-label') ?? null"), WAIT).toMatch(/^Pay \d+ points$/);
    // The fan then puts the focus elsewhere (a seat). Seconds later seat 2's hold runs out and the
    // cart goes: the focus stays where the fan put it.
    await seat(fan, 5).focus();
    await fan.page.evaluate('window.scrollTo(0, document.body.scrollHeight)');
    expect(await titleOnScreen()).toBe(false);
    await holdRunsOut(2);
    expect(await seat(fan, 5).evaluate((element) => element === element.ownerDocument.activeElement)).toBe(true);
    expect(await titleOnScreen()).toBe(false);

    // The focus on a Release button whose hold runs out is lost then: the note saying so takes it (not
    // the page's heading, at its top), and the page stays where the fan has it.
    await seat(fan, 3).click();
    await fan.page.getByRole('button', { name: 'Release seat 3' }).focus();
    await fan.page.evaluate('window.scrollTo(0, document.body.scrollHeight)');
    expect(await titleOnScreen()).toBe(false);
    await holdRunsOut(3);
    await expect.poll(() => focusedId(fan), WAIT).toBe('hold-ran-out');
    expect(await fan.page.locator('#hold-ran-out').textContent()).toContain('seat 3 ran out');
    expect(await titleOnScreen()).toBe(false);
    expectClean([fan], () => false, quickBase);
    await fan.context.close();
  });

  it('a seat map is one Tab stop, walked with the arrow keys; the focus ring and the input borders stand out at 3:1 at least; seat states look apart in forced colours', async () => {
    const { fan, quickBase } = await admittedOnQuick('arrows', { width: 1100, height: 900 }, 40);
    await seat(fan, 1).waitFor(WAIT);
    const focusedSeat = () => fan.page.evaluate<string | null>("document.activeElement?.getAttribute('data-seat') ?? null");
    const seatBox = (number: number) =>
      fan.page.evaluate<{ top: number; left: number }>(`(({ offsetTop, offsetLeft }) => ({ top: offsetTop, left: offsetLeft }))(document.querySelector('.seat-map [data-seat="${number}"]'))`);
    // Forty seats, one of them in the Tab order: the first free one.
    expect(await fan.page.locator('.seat-map button.seat').count()).toBe(40);
    expect(await fan.page.locator('.seat-map button.seat[tabindex="0"]').count()).toBe(1);
    expect(await seat(fan, 1).getAttribute('tabindex')).toBe('0');
    await seat(fan, 1).focus();
    await fan.page.keyboard.press('ArrowRight');
    expect(await focusedSeat()).toBe('2');
    // Down: the seat right below, in the next row of the grid as laid out.
    await fan.page.keyboard.press('ArrowDown');
    const below = Number(await focusedSeat());
    const [from, to] = [await seatBox(2), await seatBox(below)];
    expect(to.left).toBe(from.left);
    expect(to.top).toBeGreaterThan(from.top);
    await fan.page.keyboard.press('Control+End');
    expect(await focusedSeat()).toBe('40');
    await fan.page.keyboard.press('ArrowRight');
    expect(await focusedSeat()).toBe('40');
    // Tab leaves the map (no walk through forty seats); Shift+Tab comes back to the seat last focused.
    await fan.page.keyboard.press('Tab');
    expect(await focusedSeat()).toBeNull();
    await fan.page.keyboard.press('Shift+Tab');
    expect(await focusedSeat()).toBe('40');

    // Contrast against what surrounds them (WCAG 1.4.11): the focus ring of a seat and of a field, and a field's border.
    const contrastOf = (selector: string, property: 'outlineColor' | 'borderTopColor') =>
      fan.page.evaluate<number>(`(() => {
        const channel = (value) => (value <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4);
        const luminance = (color) => {
          const [r, g, b] = color.match(/\\d+(\\.\\d+)?/g).map(Number).map((value) => channel(value / 255));
          return 0.2126 * r + 0.7152 * g + 0.0722 * b;
        };
        const element = document.querySelector(${JSON.stringify(selector)});
        // What shows behind it: the nearest background painted (the root's, if none).
        let behind = element.parentElement;
        while (behind.parentElement && getComputedStyle(behind).backgroundColor === 'rgba(0, 0, 0, 0)') behind = behind.parentElement;
        const [a, b] = [luminance(getComputedStyle(element).${property}), luminance(getComputedStyle(behind).backgroundColor)];
        return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      })()`);
    expect(await contrastOf('.seat-map button.seat:focus-visible', 'outlineColor')).toBeGreaterThanOrEqual(3);
    await fan.page.getByLabel('Points to add').focus();
    await fan.page.keyboard.press('Shift+Tab');
    await fan.page.keyboard.press('Tab');
    expect(await contrastOf('input:focus-visible', 'outlineColor')).toBeGreaterThanOrEqual(3);
    expect(await contrastOf('input', 'borderTopColor')).toBeGreaterThanOrEqual(3);

    // In forced colours (backgrounds and shadows dropped), the four states of the legend still look apart.
    await fan.page.emulateMedia({ forcedColors: 'active' });
    const looks = await fan.page.evaluate<string[]>(
      "['available', 'mine', 'held', 'reserved'].map((state) => { const style = getComputedStyle(document.querySelector('.legend .seat-' + state)); return [style.borderTopStyle, style.borderTopWidth, style.backgroundColor].join(' '); })",
    );
    expect(new Set(looks).size).toBe(4);
    // In a dark high-contrast theme, the ring on the fan's own seat (whose colours are not forced) still shows.
    await fan.page.emulateMedia({ forcedColors: 'active', colorScheme: 'dark' });
    await seat(fan, 1).click();
    await fan.page.locator('.seat-map [data-seat="1"][data-look="MINE"]').waitFor(WAIT);
    await seat(fan, 2).focus();
    await fan.page.keyboard.press('ArrowLeft');
    expect(await focusedSeat()).toBe('1');
    expect(await contrastOf('.seat-map button.seat-mine:focus-visible', 'outlineColor')).toBeGreaterThanOrEqual(3);
    expectClean([fan], () => false, quickBase);
    await fan.context.close();
  });

  it('a token the server no longer takes, on any page, sends the fan back to the log-in form saying why', async () => {
    const fan = await openFan('gone', { width: 1280, height: 900 });
    await fan.page.goto(base);
    await signUpInPage(fan, `gone-${Date.now()}@example.test`);
    // Settled first: a query still in flight (the account bar refetching after sign-up) would hit the
    // refused token before the tickets page does, and log the fan out by itself.
    await fan.page.waitForLoadState('networkidle');
    // The account is deleted behind the page's back: its token is refused from now on.
    await server.app.orm.em.getConnection().execute('delete from users where id = ?', [await userIdOf(fan)]);
    // The tickets page asks for the fan's reservations (the account bar's own query is cached).
    await fan.page.getByRole('link', { name: 'My tickets' }).click();
    await fan.page.getByRole('heading', { name: 'Sign up or log in' }).waitFor(WAIT);
    await fan.page.getByText('Your session has ended. Please log in again.').waitFor(WAIT);
    expect(await tokenOf(fan)).toBeNull();
    expectClean([fan], (_fan, text) => text.includes('401') || text.includes('Failed to load resource'));
    await fan.context.close();
  });
});
