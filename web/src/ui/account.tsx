import { useEffect, useState, useSyncExternalStore, type ChangeEvent, type FormEvent } from 'react';
import { useClient, useMutation, useQuery } from 'urql';
import { problemOf, type ErrorLike, type Problem } from '../logic/errors';
import { logOutQuestion } from '../logic/queue';
import { ChargePoints, LeaveQueue, LogIn, Me, ME_CONTEXT, SignUp } from '../operations';
import { currentToken, sessionEndReason, sessionTimes, setToken } from '../session';
import { ErrorNote } from './errors';
import { useAnnounce } from './announcer';
import { useLastGood, useNow, useReached } from './hooks';
import { useLineFeeds } from './line-feeds';
import { tellOtherTabs, useAccountChanges, useOtherTabs, type AccountChange } from './other-tabs';
import { formatCount } from '../logic/numbers';
import { pointsUnit, pointsWords } from '../logic/points';
import { formatCountdown, sessionWarningAt, spokenCountdown } from '../logic/time';

/** Which of the form's fields a log-in's or sign-up's refusal is about (its detail names the password when that is the one). */
function fieldsOf(problem: Problem): ('email' | 'password')[] {
  if (problem.code === 'INVALID_CREDENTIALS') return ['email', 'password'];
  if (problem.code === 'EMAIL_TAKEN') return ['email'];
  if (problem.code === 'BAD_USER_INPUT') return /password/i.test(problem.detail ?? '') ? ['password'] : ['email'];
  return [];
}

/** Log in or sign up with one form: the button pressed decides which; Enter logs in (the first button), never creates an account. */
export function AuthForm() {
  const [, signUp] = useMutation(SignUp);
  const [, logIn] = useMutation(LogIn);
  const [error, setError] = useState<ErrorLike | null>(null);
  const [ended] = useState(sessionEndReason);
  const [busy, setBusy] = useState(false);
  // Fields changed since the last answer: no longer what it was about, so no longer marked invalid
  // (the note stays: it says what happened).
  const [edited, setEdited] = useState<ReadonlySet<string>>(new Set());

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (busy) return;
    setEdited(new Set());
    const submitter = (event.nativeEvent as SubmitEvent).submitter as HTMLButtonElement | null;
    const form = new FormData(event.currentTarget);
    const variables = { email: String(form.get('email') ?? ''), password: String(form.get('password') ?? '') };
    setBusy(true);
    setError(null);
    const answer = submitter?.value === 'signup' ? await signUp(variables).then((r) => ({ token: r.data?.signUp.token, error: r.error })) : await logIn(variables).then((r) => ({ token: r.data?.logIn.token, error: r.error }));
    setBusy(false);
    if (answer.token) setToken(answer.token);
    else setError(answer.error ?? { graphQLErrors: [{}] });
  }

  // The field the server's answer is about (both, for a wrong email or password: it does not say which);
  // a failure of another kind (the server busy, no network) is none of the fields'.
  const problem = problemOf(error);
  const about = problem ? fieldsOf(problem) : [];
  const marked = (field: 'email' | 'password') => (about.includes(field) && !edited.has(field) ? { 'aria-invalid': true, 'aria-describedby': 'auth-error' } : {});
  const noteEdit = (event: ChangeEvent<HTMLInputElement>) => {
    const field = event.currentTarget.name;
    setEdited((before) => (before.has(field) ? before : new Set(before).add(field)));
  };

  return (
    <section className="card auth" aria-labelledby="auth-title">
      <h2 id="auth-title" tabIndex={-1}>Sign up or log in</h2>
      <p className="muted">To queue for tickets you need an account. Your session lasts while this tab is open.</p>
      {/* noValidate: the server checks the email and the password and says what is wrong, in the page
          (a browser's own bubble is no text a screen reader or the fan can come back to); nor may the
          browser hold back a log-in with a password shorter than sign-up asks (an admin's as set). */}
      <form onSubmit={submit} noValidate>
        <label>
          Email
          <input name="email" type="email" autoComplete="email" required onChange={noteEdit} {...marked('email')} />
        </label>
        <label>
          Password <span className="muted">(8 characters or more to sign up)</span>
          <input name="password" type="password" autoComplete="current-password" maxLength={200} required onChange={noteEdit} {...marked('password')} />
        </label>
        {/* aria-disabled, not disabled, while a request runs: a disabled button drops the keyboard focus to the page. */}
        <div className="row">
          <button type="submit" value="login" aria-disabled={busy}>
            Log in
          </button>
          <button type="submit" value="signup" className="secondary" aria-disabled={busy}>
            Sign up
          </button>
        </div>
        <ErrorNote id="auth-error" error={error} code={error ? undefined : ended} words={{ BAD_USER_INPUT: problemOf(error)?.detail, [LOG_IN_AGAIN]: LOG_IN_AGAIN_WORDS }} />
      </form>
    </section>
  );
}

/** What another tab of the account did that changes the balance. */
const BALANCE_CHANGES: readonly AccountChange[] = ['payment', 'cancellation', 'charge'];

/** A charge with no answer may have gone through: charged again blindly, it could credit twice. */
const CHARGE_WORDS = { NETWORK: 'The charge got no answer, so it may or may not have gone through. The balance shown is read again from the server: check it before charging again.' };

/** GraphQL's Int: 32 bits. */
const MAX_INT = 2 ** 31 - 1;

/** What is wrong with an amount that cannot even be sent (an Int is whole and 32 bits); null when it can. */
function unsendable(amount: string): string | null {
  const value = Number(amount);
  if (amount.trim() === '' || !Number.isInteger(value)) return 'Enter the points to add as a whole number, such as 1000.';
  if (Math.abs(value) > MAX_INT) return 'That is more points than one charge can add.';
  return null;
}

/** Who is logged in, their points, charging points, and logging out. */
export function AccountBar() {
  const [me, rereadMe] = useQuery({ query: Me, context: ME_CONTEXT });
  const account = useLastGood(me.data?.me, me.error, rereadMe);
  useOtherTabs(BALANCE_CHANGES, () => rereadMe({ requestPolicy: 'network-only' }));
  const [charge, chargePoints] = useMutation(ChargePoints);
  // The last charge's failure, said until a later change of the balance works (a charge, a payment, a
  // refund, here or in another tab): the balance shown is then the server's, whatever became of it.
  const [chargeError, setChargeError] = useState<ErrorLike | undefined>(undefined);
  const [amount, setAmount] = useState('1000');
  const announce = useAnnounce();
  // What is wrong with the amount last submitted: said until the fan edits it or the balance changes.
  const [notSendable, setNotSendable] = useState<string | null>(null);
  useAccountChanges(BALANCE_CHANGES, () => {
    setChargeError(undefined);
    setNotSendable(null);
  });
  // The amount refused, before sending or by the server, is marked so and described by why, while the
  // field holds it (a refusal answered after an edit is of the amount before).
  const [sentAmount, setSentAmount] = useState<string | null>(null);
  const amountProblem = notSendable !== null || (problemOf(chargeError)?.code === 'BAD_USER_INPUT' && amount === sentAmount) ? { 'aria-invalid': true, 'aria-describedby': 'charge-error' } : {};
  const editAmount = (value: string) => {
    setAmount(value);
    // Edited, the amount is no longer the one refused, before sending or by the server.
    setNotSendable(null);
    if (problemOf(chargeError)?.code === 'BAD_USER_INPUT') setChargeError(undefined);
  };

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (charge.fetching) return;
    // Only what GraphQL's Int holds can be sent; the range the API allows is the server's to say.
    const problem = unsendable(amount);
    setNotSendable(problem);
    if (problem) return;
    // A new charge on its way: what became of the last one is no longer the news (shown while this
    // one is sent, the last refusal would be said again, as if it were this one's).
    setChargeError(undefined);
    const sent = Number(amount);
    setSentAmount(amount);
    const result = await chargePoints({ amount: sent });
    setChargeError(result.error);
    // Only a charge's answer updates the balance shown: without one, read it again (a refused charge
    // changed nothing, but one with no answer may have gone through).
    if (result.error) rereadMe({ requestPolicy: 'network-only' });
    else tellOtherTabs('charge');
    // Aloud too: the balance changing in the header is all a sighted fan needs, not a screen-reader user.
    const balance = result.data?.chargePoints.points;
    if (balance !== undefined) announce(`${pointsWords(sent)} added: you have ${pointsWords(balance)}.`);
  }

  return (
    <section className="account" aria-label="Your account">
      <p className="who">
        <span className="email">{account?.email ?? '…'}</span>
        <span className="points" data-testid="points">
          <strong>{account ? formatCount(account.points) : '…'}</strong> {account ? pointsUnit(account.points) : 'points'}
        </span>
      </p>
      {/* noValidate: the page says what is wrong with an amount (the server's words for its range), not a browser bubble. */}
      <form className="charge row" onSubmit={submit} noValidate>
        <label>
          <span className="visually-hidden">Points to add</span>
          <input type="number" min={1} step={1} inputMode="numeric" value={amount} onChange={(e) => editAmount(e.target.value)} aria-label="Points to add" {...amountProblem} />
        </label>
        <button type="submit" aria-disabled={charge.fetching}>
          Charge points
        </button>
      </form>
      <LogOut />
      <SessionEnding />
      {notSendable ? (
        <ErrorNote id="charge-error" code="BAD_USER_INPUT" words={{ BAD_USER_INPUT: notSendable }} />
      ) : (
        <ErrorNote id="charge-error" error={chargeError ?? me.error} words={chargeError ? { ...CHARGE_WORDS, BAD_USER_INPUT: problemOf(chargeError)?.detail } : undefined} read={!chargeError} />
      )}
    </section>
  );
}

/** Why the log-in form shows: the fan chose to log in again as their session was about to end. */
const LOG_IN_AGAIN = 'LOG_IN_AGAIN';
const LOG_IN_AGAIN_WORDS = 'Log in again to go on: your place in line and your held seats wait a short while.';

/**
 * A session about to end (its token expires; sessionWarningAt) is said ahead, with a way to log in
 * again at once: otherwise it ends mid-turn, the page goes to the log-in form, and the fan learns
 * only then. Logging in again keeps the place in line and the holds (the line waits out its presence
 * grace), so the fan chooses when.
 */
function SessionEnding() {
  const times = sessionTimes();
  const due = useReached(times ? sessionWarningAt(times) : Number.POSITIVE_INFINITY);
  return due && times ? <SessionEndingNote expiresAt={times.expiresAt} /> : null;
}

const SESSION_ENDING_WORDS = 'Your session is about to end: log in again now to keep your place in line and your held seats.';

function SessionEndingNote({ expiresAt }: { expiresAt: number }) {
  const left = Math.max(0, expiresAt - useNow());
  // Said once, as it shows (a live region inserted with its text is not read out by most screen readers).
  const announce = useAnnounce();
  useEffect(() => announce(SESSION_ENDING_WORDS), [announce]);
  return (
    <p className="notice" data-testid="session-ending">
      {SESSION_ENDING_WORDS}{' '}
      <strong role="timer" aria-label={spokenCountdown(left)}>
        {formatCountdown(left)}
      </strong>{' '}
      left.{' '}
      <button type="button" className="secondary" onClick={() => setToken(null, LOG_IN_AGAIN)}>
        Log in again
      </button>
    </p>
  );
}

/** How long logging out waits for the line to be left: a server out of reach lets the place lapse by itself. */
const LEAVE_WAIT_MS = 3_000;

/**
 * Logging out. A fan holding a place in line is asked first (logOutQuestion): leave the line, or keep
 * the place for another tab or device of theirs, or stay. Left as it was, such a place would wait for
 * the presence grace, or a turn for ACTIVE_IDLE_SECONDS, with nobody there. The question follows the
 * lines as they change while it is open (a turn given, another line entered).
 */
function LogOut() {
  const feeds = useLineFeeds();
  const client = useClient();
  // The places held, as one string ("concertId:state,…"): a snapshot that changes only with them.
  const held = useSyncExternalStore(feeds.subscribe, () => feeds.placesHeld().map((place) => `${place.concertId}:${place.state}`).join());
  const places = held === '' ? [] : held.split(',').map((place) => place.split(':') as [string, string]);
  // null until first asked; false once the question closed: "Log out", shown again, takes the focus back.
  const [asking, setAsking] = useState<boolean | null>(null);
  const [leaving, setLeaving] = useState(false);

  /** Ends this session, unless it already ended and another began meanwhile (the leave's wait). */
  const logOut = (session: string | null) => {
    if (currentToken() === session) setToken(null);
  };
  const start = () => {
    if (places.length === 0) setToken(null);
    else setAsking(true);
  };
  async function leaveAndLogOut() {
    if (leaving) return;
    setLeaving(true);
    const session = currentToken();
    const left = feeds.placesHeld().map(({ concertId }) => {
      feeds.askToLeave(concertId);
      return client.mutation(LeaveQueue, { concertId }).toPromise();
    });
    await Promise.race([Promise.allSettled(left), new Promise((resolve) => setTimeout(resolve, LEAVE_WAIT_MS))]);
    logOut(session);
  }

  // Leaving, the places are no longer held: the question stays, saying so, until the session ends.
  if (!asking || (places.length === 0 && !leaving)) {
    return (
      <button type="button" className="secondary" onClick={start} autoFocus={asking === false}>
        Log out
      </button>
    );
  }
  return (
    <div className="confirm" role="group" aria-label="Log out?" aria-describedby="log-out-question" onKeyDown={(event) => event.key === 'Escape' && !leaving && setAsking(false)}>
      <p id="log-out-question">{leaving ? 'Leaving the line and logging out…' : logOutQuestion(places.map(([, state]) => state))}</p>
      <div className="row">
        <button type="button" className="danger" onClick={() => void leaveAndLogOut()} aria-disabled={leaving} aria-busy={leaving}>
          Leave and log out
        </button>
        <button type="button" className="secondary" onClick={() => !leaving && setToken(null)} aria-disabled={leaving}>
          Log out, keep my place
        </button>
        <button type="button" className="secondary" onClick={() => !leaving && setAsking(false)} aria-disabled={leaving} aria-describedby="log-out-question" autoFocus>
          Stay logged in
        </button>
      </div>
    </div>
  );
}
