import { createContext, useCallback, useContext, useRef, useState, type ReactNode } from 'react';

/**
 * Sentences said within this long of one another are said together: the region's text replaced
 * before the screen reader took it would be lost (the effects of one render say the line's news and
 * then the ticket codes, a few milliseconds apart).
 */
const TOGETHER_MS = 100;

/**
 * One polite aria-live region for the page: waiting-room state and position changes, admission,
 * connection loss and recovery are said here, so a screen-reader user hears them without looking.
 */
const AnnounceContext = createContext<(message: string) => void>(() => undefined);

export function AnnouncerProvider({ session, children }: { session: string | null; children: ReactNode }) {
  const [message, setMessage] = useState({ text: '', n: 0 });
  // Another session (logged out, or in as someone else) starts with nothing said: the last fan's words
  // (a ticket code) must not stay in the page for whoever uses it next. Reset while rendering, so
  // what the new session's own first render announces is kept.
  // What was said last, and when (see TOGETHER_MS).
  const last = useRef({ text: '', at: -Infinity });
  const [saidFor, setSaidFor] = useState(session);
  if (saidFor !== session) {
    setSaidFor(session);
    setMessage((m) => ({ text: '', n: m.n + 1 }));
    last.current = { text: '', at: -Infinity };
  }
  const announce = useCallback((text: string) => {
    const now = performance.now();
    const before = last.current;
    const together = now - before.at > TOGETHER_MS ? text : before.text.endsWith(text) ? before.text : `${before.text} ${text}`;
    last.current = { text: together, at: now };
    setMessage((m) => ({ text: together, n: m.n + 1 }));
  }, []);
  return (
    <AnnounceContext.Provider value={announce}>
      {children}
      <div className="visually-hidden" aria-live="polite" aria-atomic="true" data-testid="announcer">
        {/* The key re-creates the node so the same sentence twice is announced twice. */}
        <span key={message.n}>{message.text}</span>
      </div>
    </AnnounceContext.Provider>
  );
}

export function useAnnounce(): (message: string) => void {
  return useContext(AnnounceContext);
}
