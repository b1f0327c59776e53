// The page shown until someone signs in: an API key (or a JWT from your identity provider),
// kept in this browser tab only.
import { useState, type FormEvent } from 'react';
import { useSession } from './session-context.tsx';

export function SignIn() {
  const { signIn } = useSession();
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const trimmed = token.trim().replace(/^Bearer\s+/i, '');
    if (!trimmed) return setError('Enter an API key (weft_live_…) or a token.');
    setBusy(true);
    setError(await signIn(trimmed));
    setBusy(false);
  }

  return (
    <main className="sign-in">
      <form onSubmit={submit} aria-label="Sign in">
        <h1>Weft</h1>
        <p>Sign in to watch and run your workflows.</p>
        <label htmlFor="token">API key or token</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          placeholder="weft_live_…"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          // biome-ignore lint/a11y/noAutofocus: the sign-in page has one field and nothing else to do.
          autoFocus
        />
        {error ? (
          <p className="form-error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="hint">
          On its first start Weft printed an admin API key on the console and wrote it to{' '}
          <code>.weft/admin-api-key</code>. The key is kept for this browser tab only and sent as{' '}
          <code>Authorization: Bearer …</code>.
        </p>
      </form>
    </main>
  );
}
