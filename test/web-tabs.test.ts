import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../support/graphql-client';
import { CANCEL, ENTER, LEAVE, RELEASE } from '../support/operations';
import { admit, charge, hold, pay, seatIds } from './support/booking';
import { signUpMany } from './support/client';
import { createConcert } from './support/fixtures';
import { startTestServer, type TestServer } from './support/harness';
import { HOLDS_OUTLAST_TURN, TURN_ENDED_MESSAGE } from '../web/src/logic/queue';
import { announced, announcements, answerLate, answerWhenReleased, chargeInPage, countRequests, endTurn, expectClean, logInTab, openFan, openTab, seat, seatWithStatus, signUpInPage, startBrowser, stopBrowser, tokenOf, userIdOf, WAIT, type Fan } from './support/browser';

/*
 * The fan web app in a real browser, as one account in two tabs of one browser: what one tab does
 * (a hold, a payment, a ticket bought or cancelled) and what it hears, told to the other. Beside
 * web-browser.test.ts (one tab a fan) and web-live.test.ts, with its own server.
 */

let server: TestServer;
let base: string;

beforeAll(async () => {
  [server] = (await startBrowser([startTestServer('web_tabs', { HOLD_TTL_SECONDS: '120', ACTIVE_TTL_SECONDS: '120', MAX_HOLDS_PER_SCHEDULE: '2' })])) as [TestServer];
  base = new URL('/', server.url).toString();
});

afterAll(() => stopBrowser([server]));

/** Records in `window.ctTold` what the account's other tabs tell this one (the kinds of news, in order). */
async function hearOtherTabs(tab: Fan): Promise<void> {
  await tab.page.evaluate("window.ctTold = []; new BroadcastChannel('concert-tickets').onmessage = (event) => window.ctTold.push(event.data.what);");
}

/**
 * Past the seconds in which the line's news may still be an unanswered payment's (a NONE after its
 * answer), as `tab` counts them: from the word of it the paying tab sends (hearOtherTabs first), the
 * page's 3 s (UNANSWERED_SETTLE_MS), and 1.5 s more.
 */
async function pastUnansweredPayment(tab: Fan): Promise<void> {
  await expect.poll(() => tab.page.evaluate<string[]>('window.ctTold'), WAIT).toContain('payUnanswered');
  await tab.page.waitForTimeout(4_500);
}

describe('fan web app in Chromium, one account in two tabs', () => {
  it('two tabs of one account: a seat held in one is the fan’s in the other, with its cart, and paid there, the other’s cart and balance follow; other fans’ seats and another account’s tab ask for nothing', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 2, seatCount: 4, price: 100 });
    const one = await openFan('tabs', { width: 1100, height: 900 });
    const two = await openTab(one.context);
    // A tab of another account in the same browser: it hears the fan's tabs, and ignores them.
    const stranger = await openTab(one.context);
    await one.page.goto(`${base}#/concerts/${concertId}`);
    await signUpInPage(one, `tabs-${Date.now()}@example.test`);
    await chargeInPage(one, 1000);
    // Logged in there too (with the first tab's token: this address may have used up its log-in attempts above).
    await logInTab(two, (await tokenOf(one))!);
    await two.page.goto(`${base}#/concerts/${concertId}`);
    await two.page.getByTestId('points').filter({ hasText: '1,000' }).waitFor(WAIT);
    const api = new Api(server.url);
    const [someoneElse, rival] = await signUpMany(api, 2);
    await logInTab(stranger, someoneElse!.token);
    await stranger.page.goto(`${base}#/concerts/${concertId}`);
    await stranger.page.getByRole('button', { name: 'Enter the waiting room' }).waitFor(WAIT);
    const strangerReads = countRequests(stranger, 'query M'); // MyHolds and Me

    await one.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await one.page.locator('.your-turn').waitFor(WAIT);
    await two.page.locator('.your-turn').waitFor(WAIT);

    // Another fan, let in too, holds and releases a seat, and buys another: nothing for this fan's tabs to read again
    // (past the 5 s a re-read waits for more changes).
    const tabsReads = [countRequests(one, 'query M'), countRequests(two, 'query M')];
    await charge(rival!, 1000);
    await admit([rival!], concertId);
    const seatId = await seatIds(server, scheduleIds[0]!);
    await rival!.api.data(RELEASE, { holdId: (await hold(rival!, seatId[3]!)).id });
    await pay(rival!, [(await hold(rival!, seatId[2]!)).id], 'rival'); // which ends the rival's turn
    await seatWithStatus(two, 3, 'RESERVED').waitFor(WAIT);
    await new Promise((resolve) => setTimeout(resolve, 5500));
    expect(tabsReads.map((reads) => reads())).toEqual([0, 0]);

    await seat(one, 1).click();
    await one.page.locator('.seat-map [data-seat="1"][data-look="MINE"]').waitFor(WAIT);
    await two.page.getByRole('button', { name: 'Seat 1, held by you: press to release it' }).waitFor(WAIT);
    await two.page.getByRole('button', { name: 'Release seat 1' }).waitFor(WAIT);

    // Paid in the first tab, the seat is no longer held in the second: the turn's end there never says
    // (page or live region) that it can still be paid for, and the page does not call it a turn lost
    // (the first tab tells it of the payment).
    await two.page.evaluate(`new MutationObserver(() => { if (document.body.textContent.includes('${HOLDS_OUTLAST_TURN}')) window.holdsOutlastTurnSaid = true; }).observe(document.body, { subtree: true, childList: true, characterData: true })`);
    await one.page.getByRole('button', { name: 'Pay 100 points' }).click();
    await one.page.locator('[data-testid="payment"] .ticket-code').first().waitFor(WAIT);
    await two.page.getByTestId('points').filter({ hasText: '900' }).waitFor(WAIT);
    await two.page.getByRole('button', { name: 'Release seat 1' }).waitFor({ state: 'detached', ...WAIT });
    // It says where the seat went (its cart just emptied before), and the paying tab does not.
    const paidThere = 'Seat 1 was paid for in another tab: it is yours now.';
    await two.page.getByTestId('paid-elsewhere').filter({ hasText: paidThere }).waitFor(WAIT);
    await announced(two, paidThere);
    expect(await one.page.getByTestId('paid-elsewhere').count()).toBe(0);
    await two.page.locator('.waiting-room[data-state="NONE"]').getByText('You are not in line for this concert.').waitFor(WAIT);
    expect(await two.page.locator('.waiting-room').innerText()).not.toContain(TURN_ENDED_MESSAGE);
    expect(await two.page.evaluate('window.holdsOutlastTurnSaid === true')).toBe(false);
    expect(strangerReads()).toBe(0);

    // Let in again and leaving in the first tab: the second does not take that for a turn lost. Both
    // say it (the payment before is not what took the fan out of line this time).
    await one.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await two.page.locator('.your-turn').waitFor(WAIT);
    await one.page.getByRole('button', { name: 'Leave the waiting room' }).click();
    await two.page.locator('.waiting-room[data-state="NONE"]').getByText('You are not in line for this concert.').waitFor(WAIT);
    for (const tab of [one, two]) await expect.poll(async () => (await tab.page.getByTestId('announcer').textContent())?.endsWith('You are no longer in the waiting room.'), WAIT).toBe(true);
    expectClean([one, two, stranger]);
    await one.context.close();
  });

  it('two tabs of one account pressing Pay at once make one payment, and both show it with its tickets', async () => {
    const { one, two } = await twoTabsHolding('pay-twice', 2, 1000);

    await two.page.getByRole('button', { name: 'Pay 100 points' }).waitFor(WAIT);
    // Both at once (a locator's click would wait for the other tab's payment to settle this cart first).
    await Promise.all([one, two].map((tab) => tab.page.evaluate("document.querySelector('button.pay').click()")));
    // Neither tab is told its hold was lost: both have the one payment's ticket.
    const codes = await Promise.all([one, two].map(async (tab) => (await tab.page.locator('[data-testid="payment"] .ticket-code').first().waitFor(WAIT), tab.page.locator('[data-testid="payment"] .ticket-code').allTextContents())));
    expect(codes[0]).toHaveLength(1);
    expect(codes[1]).toEqual(codes[0]);
    const userId = Number(await userIdOf(one));
    const [payments] = await server.app.orm.em.getConnection().execute<{ n: number }[]>('SELECT COUNT(*) AS n FROM payments WHERE user_id = ?', [userId]);
    expect(Number(payments?.n)).toBe(1);
    await two.page.getByTestId('points').filter({ hasText: '900' }).waitFor(WAIT);
    // Each paid for the seat itself: neither says another tab did.
    for (const tab of [one, two]) expect(await tab.page.getByTestId('paid-elsewhere').count()).toBe(0);
    expectClean([one, two]);
    await one.context.close();
  });

  it('two tabs of one account: the one that did not pay hears neither the turn’s end nor sold out for the payment made in the other, though that news comes first; a payment refused there lets it through', async () => {
    const { concertId, one, two } = await twoTabsHolding('paid-elsewhere', 1, 100);
    // A fan waits behind: the line closes as sold out once the seat is sold.
    const [behind] = await signUpMany(new Api(server.url), 1);
    await behind!.api.data(ENTER, { id: concertId });
    // The first tab hears its payment's answers only once the line's news has reached the second tab.
    const answers = await answerWhenReleased(one, 'idempotencyKey');
    let before = (await announcements(two)).length;
    await one.page.getByRole('button', { name: 'Pay 100 points' }).click();
    await two.page.locator('.waiting-room[data-state="SOLD_OUT"]').waitFor(WAIT);
    answers.release();
    await one.page.locator('[data-testid="payment"] .ticket-code').first().waitFor(WAIT);
    await two.page.getByRole('button', { name: 'Release seat 1' }).waitFor({ state: 'detached', ...WAIT });
    await two.page.waitForTimeout(500);
    expect((await announcements(two)).slice(before).filter((text) => /turn|sold out|waiting room/i.test(text))).toEqual([]);

    // Refused (the points are spent), its answer held back; meanwhile the fan leaves the line on another device.
    const other = await createConcert(server, { maxActiveUsers: 1, seatCount: 1, price: 100 });
    for (const tab of [one, two]) await tab.page.goto(`${base}#/concerts/${other.concertId}`);
    await one.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await two.page.locator('.your-turn').waitFor(WAIT);
    await seat(one, 1).click();
    await two.page.getByRole('button', { name: 'Release seat 1' }).waitFor(WAIT);
    before = (await announcements(two)).length;
    await one.page.getByRole('button', { name: 'Pay 100 points' }).click();
    await new Api(server.url).as((await tokenOf(one))!).data(LEAVE, { id: other.concertId });
    await two.page.locator('.waiting-room[data-state="NONE"]').waitFor(WAIT);
    expect((await announcements(two)).slice(before).filter((text) => /waiting room/i.test(text))).toEqual([]);
    answers.release();
    await one.page.getByRole('alert').filter({ hasText: 'You do not have enough points' }).waitFor(WAIT);
    await announced(two, 'You are no longer in the waiting room');
    expectClean([one, two]);
    await one.context.close();
  });

  it('a payment with no answer, which did not pay, leaves the turn’s later end said as the turn’s end, in the paying tab and the other', async () => {
    const { concertId, one, two } = await twoTabsHolding('unanswered', 2, 100);
    await hearOtherTabs(two);
    // The payment never reaches the server; the turn ends later, as when it runs out.
    await one.page.route('**/graphql', (route) => ((route.request().postData() ?? '').includes('idempotencyKey') ? route.abort('connectionreset') : route.continue()));
    await one.page.getByRole('button', { name: 'Pay 100 points' }).click();
    await one.page.locator('[role="alert"][data-code="NETWORK"]').waitFor(WAIT);
    await pastUnansweredPayment(two);
    await endTurn(server, one, concertId);
    for (const tab of [one, two]) await announced(tab, `${TURN_ENDED_MESSAGE} ${HOLDS_OUTLAST_TURN}`);
    expectClean([one, two], (fan, text) => fan === one && text.includes('ERR_CONNECTION_RESET'));
    await one.context.close();
  });

  it('two tabs of one account: a turn given in the other tab while a payment is on its way is the fan’s, and its end is said in both', async () => {
    const { concertId, one, two } = await twoTabsHolding('pay-reenter', 2, 100);
    await answerLate(one, () => 'idempotencyKey', 2_500);
    await one.page.getByRole('button', { name: 'Pay 100 points' }).click();
    // The payment ends the turn; the fan enters again in the other tab and is let in before its answer.
    await two.page.locator('.waiting-room[data-state="NONE"]').waitFor(WAIT);
    await two.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await two.page.locator('.your-turn').waitFor(WAIT);
    await one.page.locator('[data-testid="payment"] .ticket-code').first().waitFor(WAIT);
    await one.page.locator('.your-turn').waitFor(WAIT);
    await endTurn(server, one, concertId);
    for (const tab of [one, two]) await announced(tab, TURN_ENDED_MESSAGE);
    expectClean([one, two]);
    await one.context.close();
  });

  it('two tabs of one account: a payment answered after its tab logged out is still told to the other tab', async () => {
    const { one, two } = await twoTabsHolding('pay-logout', 2, 100);
    await hearOtherTabs(two);
    await answerLate(one, () => 'idempotencyKey', 1_500);
    await one.page.getByRole('button', { name: 'Pay 100 points' }).click();
    await one.page.getByRole('button', { name: 'Log out' }).click();
    await expect.poll(() => two.page.evaluate('window.ctTold'), WAIT).toEqual(['paying', 'payment']);
    await two.page.getByTestId('points').filter({ hasText: /^0\b/ }).waitFor(WAIT);
    expectClean([one, two]);
    await one.context.close();
  });

  it('two tabs of one account: the paying tab reloaded while its payment is on its way, a turn’s end after is said as such in both, at once', async () => {
    const { concertId, one, two } = await twoTabsHolding('pay-reload', 2, 50);
    await hearOtherTabs(two);
    // The payment (refused: not enough points) gets no answer to the page, which is reloaded meanwhile.
    await one.page.route('**/graphql', async (route) => {
      if (!(route.request().postData() ?? '').includes('idempotencyKey')) return route.continue();
      await route.fetch();
    });
    await one.page.getByRole('button', { name: 'Pay 100 points' }).click();
    await one.page.waitForTimeout(300);
    await one.page.reload();
    await one.page.locator('.your-turn').waitFor(WAIT);
    await pastUnansweredPayment(two);
    await endTurn(server, one, concertId);
    for (const tab of [one, two]) await announced(tab, `${TURN_ENDED_MESSAGE} ${HOLDS_OUTLAST_TURN}`);
    expectClean([one, two]);
    await one.context.close();
  });

  it('two tabs of one account on My tickets: a ticket bought or cancelled in one shows so in the other; one cancelled on another device is said to be, with no refund claimed', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 2, seatCount: 4, price: 100 });
    const [account] = await signUpMany(new Api(server.url), 1);
    await charge(account!, 1000);
    const one = await openFan('ticket-tabs', { width: 1100, height: 900 });
    const two = await openTab(one.context);
    for (const tab of [one, two]) await logInTab(tab, account!.token);
    await one.page.goto(`${base}#/tickets`);
    await one.page.getByText('No tickets yet.').waitFor(WAIT);
    const ticketIn = (tab: Fan, code: string, status = '') => tab.page.locator(`.ticket[data-ticket="${code}"]${status && `[data-status="${status}"]`}`);

    // Bought in the second tab: the first lists it.
    await two.page.goto(`${base}#/concerts/${concertId}`);
    await two.page.getByRole('button', { name: 'Enter the waiting room' }).click();
    await seat(two, 1).click();
    await two.page.getByRole('button', { name: 'Pay 100 points' }).click();
    const code = (await two.page.locator('[data-testid="payment"] .ticket-code').first().textContent(WAIT))!;
    await ticketIn(one, code, 'CONFIRMED').waitFor(WAIT);

    // Cancelled in the second tab: the first shows it cancelled, with nothing left to cancel.
    await two.page.getByRole('link', { name: 'My tickets' }).click();
    await ticketIn(two, code).getByRole('button', { name: 'Cancel ticket', exact: true }).click();
    await ticketIn(two, code).getByRole('button', { name: 'Yes, cancel it' }).click();
    await ticketIn(two, code).getByTestId('refund').filter({ hasText: '100 points are back' }).waitFor(WAIT);
    await ticketIn(one, code, 'CANCELLED').waitFor(WAIT);
    expect(await ticketIn(one, code).getByRole('button', { name: 'Cancel ticket', exact: true }).count()).toBe(0);

    // Another device buys a ticket, which the first tab lists once it reads the list again, then cancels it.
    await admit([account!], concertId);
    const seatId = await seatIds(server, scheduleIds[0]!);
    const [reservation] = (await pay(account!, [(await hold(account!, seatId[1]!)).id], 'other-device')).reservations;
    await one.page.getByRole('link', { name: 'Concerts', exact: true }).click();
    await one.page.getByRole('link', { name: 'My tickets' }).click();
    await ticketIn(one, reservation!.code, 'CONFIRMED').waitFor(WAIT);
    await account!.api.data(CANCEL, { id: reservation!.id });
    // Cancelled seconds before the first tab tries (well past the grain of its estimate of the server's clock).
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await ticketIn(one, reservation!.code).getByRole('button', { name: 'Cancel ticket', exact: true }).click();
    await ticketIn(one, reservation!.code).getByRole('button', { name: 'Yes, cancel it' }).click();
    await ticketIn(one, reservation!.code).getByTestId('already-cancelled').waitFor(WAIT);
    await announced(one, `Ticket ${reservation!.code} was already cancelled`);
    expect(await ticketIn(one, reservation!.code).getByTestId('refund').count()).toBe(0);
    await one.page.getByTestId('points').filter({ hasText: /^1,000 points$/ }).waitFor(WAIT);
    expectClean([one, two]);
    await one.context.close();
  });
});

/** A fan signed up with `points` in one tab, and logged in to a second tab of the same browser; both on the concert's page. */
async function twoTabs(name: string, concertId: string, points: number): Promise<[Fan, Fan]> {
  const one = await openFan(name, { width: 1100, height: 900 });
  const two = await openTab(one.context);
  await one.page.goto(`${base}#/concerts/${concertId}`);
  await signUpInPage(one, `${name}-${Date.now()}@example.test`);
  await chargeInPage(one, points);
  await logInTab(two, (await tokenOf(one))!);
  await two.page.goto(`${base}#/concerts/${concertId}`);
  return [one, two];
}

/**
 * twoTabs on a new concert of `seatCount` seats of 100 points, one fan let in at a time: the fan
 * entered in the first tab and let in, holding seat 1 there, which the second tab shows in its cart.
 */
async function twoTabsHolding(name: string, seatCount: number, points: number) {
  const { concertId } = await createConcert(server, { maxActiveUsers: 1, seatCount, price: 100 });
  const [one, two] = await twoTabs(name, concertId, points);
  await one.page.getByRole('button', { name: 'Enter the waiting room' }).click();
  await two.page.locator('.your-turn').waitFor(WAIT);
  await seat(one, 1).click();
  await two.page.getByRole('button', { name: 'Release seat 1' }).waitFor(WAIT);
  return { concertId, one, two };
}
