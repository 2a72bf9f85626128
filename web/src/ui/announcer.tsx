import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from 'react';

/**
 * Sentences said within this long of the first are said together, once: the region's text replaced
 * before the screen reader took it would be lost (the effects of one render say the line's news and
 * then the ticket codes, a few milliseconds apart), and a text that grows is read again from its start
 * (the region is atomic). So the first sentence waits this long for others before the region takes it.
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
  // The sentences waiting to be said together, and their timer (see TOGETHER_MS).
  const pending = useRef<{ sentences: string[]; timer?: ReturnType<typeof setTimeout> }>({ sentences: [] });
  const [saidFor, setSaidFor] = useState(session);
  if (saidFor !== session) {
    setSaidFor(session);
    setMessage((m) => ({ text: '', n: m.n + 1 }));
    clearTimeout(pending.current.timer);
    pending.current = { sentences: [] };
  }
  useEffect(() => () => clearTimeout(pending.current.timer), []);
  const announce = useCallback((text: string) => {
    const waiting = pending.current;
    // The same sentence twice in one moment is said once.
    if (!waiting.sentences.includes(text)) waiting.sentences.push(text);
    waiting.timer ??= setTimeout(() => {
      const together = waiting.sentences.join(' ');
      pending.current = { sentences: [] };
      setMessage((m) => ({ text: together, n: m.n + 1 }));
    }, TOGETHER_MS);
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
