import { useEffect, useMemo, useRef, useSyncExternalStore, type MouseEvent } from 'react';
import { Provider } from 'urql';
import { createApi } from '../client';
import { UNREACHABLE_NOTICE } from '../logic/errors';
import { currentToken, currentUserId, onTokenChange } from '../session';
import { AccountBar, AuthForm } from './account';
import { AnnouncerProvider, useAnnounce } from './announcer';
import { ConcertPage } from './concert-page';
import { ConcertList } from './concerts';
import { focusPageHeading, followFocus, pageHeading, refocus } from './focus';
import { ReachContext, useHashRoute, useStore } from './hooks';
import { LineFeedRunners, LineFeeds, LineFeedsContext, useLine } from './line-feeds';
import { LineNews } from './line-news';
import { markOnce } from './marks';
import { MyTicketsPage } from './tickets';

export function App() {
  const token = useSyncExternalStore(onTokenChange, currentToken);
  // One client per session: logging out drops the socket and the cache (nothing of the last fan stays).
  const api = useMemo(() => {
    void token;
    return createApi();
  }, [token]);
  useEffect(() => () => api.dispose(), [api]);
  // The fan's line feeds are the session's too; logging out also forgets the lines in this tab.
  const lines = useMemo(() => new LineFeeds(currentUserId()), [api]);
  useEffect(() => () => lines.forget(), [lines]);
  useEffect(() => markOnce('ct:first-render'), []);
  useEffect(followFocus, []);
  return (
    <Provider value={api.client}>
      <LineFeedsContext.Provider value={lines}>
        <AnnouncerProvider session={token}>
          <ReachContext.Provider value={api.reach}>
            <Shell loggedIn={token !== null} api={api} />
          </ReachContext.Provider>
        </AnnouncerProvider>
      </LineFeedsContext.Provider>
    </Provider>
  );
}

function Shell({ loggedIn, api }: { loggedIn: boolean; api: ReturnType<typeof createApi> }) {
  const route = useHashRoute();
  const socket = useStore(api.socket);
  const reach = useStore(api.reach);
  const announce = useAnnounce();
  useEffect(() => {
    if (socket.status === 'reconnecting') announce('Connection lost. Reconnecting…');
    else if (socket.status === 'connected' && socket.reconnects > 0) announce('Connection is back.');
  }, [socket.status, socket.reconnects, announce]);
  // Logging in or out removes what had the focus (the form, the Log out button): the page's heading takes it.
  const main = useRef<HTMLElement>(null);
  useEffect(() => refocus(main.current?.querySelector('h2')), [loggedIn]);
  // Each route after the first (in-app navigation, back and forward) is a new page: its heading takes the focus.
  const firstRoute = useRef(true);
  useEffect(() => {
    if (!firstRoute.current) return main.current ? focusPageHeading(main.current) : undefined;
    firstRoute.current = false;
  }, [route]);

  const concertMatch = /^\/concerts\/([^/]+)$/.exec(route);
  const shownConcertId = concertMatch ? decodeURIComponent(concertMatch[1]!) : undefined;
  // Past the header's links and the account bar (six stops and a form, signed in) to the page's heading.
  // Its href would be a route to the hash router: the click moves the focus, and nothing else.
  const skipToPage = (event: MouseEvent<HTMLAnchorElement>) => {
    event.preventDefault();
    pageHeading(main.current)?.focus();
  };
  return (
    <>
      <a className="skip-link" href="#main" onClick={skipToPage}>
        Skip to the page
      </a>
      <header className="top">
        <h1>
          <a href="#/">Concert tickets</a>
        </h1>
        <nav aria-label="Main">
          <a href="#/" aria-current={route === '/' ? 'page' : undefined}>
            Concerts
          </a>
          {loggedIn && (
            <a href="#/tickets" aria-current={route === '/tickets' ? 'page' : undefined}>
              My tickets
            </a>
          )}
        </nav>
        {loggedIn && <AccountBar />}
      </header>
      <main id="main" ref={main}>
        <UnreachableNotice unreachable={reach.unreachable} concertId={shownConcertId} />
        {!loggedIn && <AuthForm />}
        {loggedIn && <LineNews shownConcertId={shownConcertId} />}
        {shownConcertId !== undefined ? (
          <ConcertPage key={shownConcertId} concertId={shownConcertId} loggedIn={loggedIn} socket={socket} />
        ) : route === '/tickets' && loggedIn ? (
          <MyTicketsPage />
        ) : (
          <ConcertList />
        )}
      </main>
      {loggedIn && <LineFeedRunners socket={socket} />}
    </>
  );
}

/**
 * No answer from the server, said once for the page: here, unless the waiting room of the concert
 * shown says it already, with what it means for the fan's place. The live region is always there,
 * empty while the server answers: a region inserted with its text is not read out by most screen
 * readers.
 */
function UnreachableNotice({ unreachable, concertId }: { unreachable: boolean; concertId: string | undefined }) {
  const line = useLine(concertId ?? '');
  const shown = unreachable && !(line.overHttp && line.unreachable && line.status);
  return (
    <div role="status" data-testid="unreachable-region">
      {shown && (
        <p className="notice" data-testid="unreachable">
          {UNREACHABLE_NOTICE}
        </p>
      )}
    </div>
  );
}
