import { createContext, useCallback, useContext, useState, type ReactNode } from 'react';

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
  const [saidFor, setSaidFor] = useState(session);
  if (saidFor !== session) {
    setSaidFor(session);
    setMessage((m) => ({ text: '', n: m.n + 1 }));
  }
  const announce = useCallback((text: string) => setMessage((m) => ({ text, n: m.n + 1 })), []);
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
