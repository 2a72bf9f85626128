import { errorMessage, problemOf, type ErrorLike, type Problem } from '../logic/errors';

/**
 * An operation's error in plain words, announced at once (role="alert"); nothing when there is none.
 * Give the error itself, or a kept `problem` (code and retry delay), or just a `code`; `words`
 * overrides the message for a code where the context says more (a ticket's NOT_FOUND).
 */
export function ErrorNote({ error, code, problem, words }: { error?: ErrorLike | null; code?: string; problem?: Problem; words?: Partial<Record<string, string>> }) {
  const shown = problem ?? (code ? { code } : problemOf(error));
  if (!shown) return null;
  return (
    <p className="error" role="alert" data-code={shown.code}>
      {words?.[shown.code] ?? errorMessage(shown.code, shown.retryAfterSeconds)}
    </p>
  );
}
