import { errorCode, errorMessage, type ErrorLike } from '../logic/errors';

/** An operation's error in plain words, announced at once (role="alert"); nothing when there is none. */
export function ErrorNote({ error, code }: { error?: ErrorLike | null; code?: string }) {
  const shown = code ?? errorCode(error);
  if (!shown) return null;
  return (
    <p className="error" role="alert" data-code={shown}>
      {errorMessage(shown)}
    </p>
  );
}
