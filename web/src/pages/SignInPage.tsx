/** The sign-in form of a hub with tokens: the token is sent once, the hub answers with a session cookie. */
import { useState } from 'preact/hooks';
import { signIn } from '../api/session.ts';

/** `notice`: why the page is back at the sign-in (a live stream's session ended), or null. */
export function SignInPage({ onSignedIn, notice }: { onSignedIn: () => void; notice: string | null }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(token.trim());
      setToken('');
      onSignedIn();
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="page">
      <form class="sign-in" onSubmit={submit} data-testid="sign-in">
        <h1>Sign in</h1>
        {notice !== null ? (
          <div class="ended" role="status" data-testid="sign-in-notice">
            {notice}
          </div>
        ) : null}
        <p class="muted">
          This hub needs a token. Paste one with the <code>read</code> scope (or more); <code>runlog token create NAME --scope read</code> makes one.
        </p>
        <input
          type="password"
          autocomplete="off"
          placeholder="rl_…"
          value={token}
          onInput={(event) => setToken((event.target as HTMLInputElement).value)}
          aria-label="token"
          data-testid="token-input"
          autofocus
        />
        <button type="submit" disabled={busy || token.trim() === ''} data-testid="sign-in-button">
          Sign in
        </button>
        {error !== null ? (
          <div class="error" role="alert" data-testid="sign-in-error">
            {error}
          </div>
        ) : null}
      </form>
    </div>
  );
}
