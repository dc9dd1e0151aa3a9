import { useEffect, useState, type SyntheticEvent, type ReactNode } from 'react';
import { completeSignIn, signIn } from '../auth.js';
import { navigate } from '../router.js';
import { useApp } from '../session.js';
import { userAction } from '../tracing.js';
import { Failure, Loading, PageTitle } from '../ui.js';

/** Only paths inside the app: a returnTo never sends the shopper to another site. */
function safeReturn(value: string | null): string {
  return value?.startsWith('/') && !value.startsWith('//') ? value : '/';
}

/** Sign-in: a name with the local dev issuer, the provider's page with OIDC. */
export function SignInPage({ query }: { query: URLSearchParams }): ReactNode {
  const { settings, setSession, announce } = useApp();
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const returnTo = safeReturn(query.get('returnTo'));

  const submit = async (event: SyntheticEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const session = await userAction('sign in', () => signIn(settings, name.trim(), returnTo));
      if (session) {
        setSession(session);
        announce(`Signed in as ${session.user}.`);
        navigate(returnTo, true);
      }
    } catch (caught) {
      setError(caught instanceof Error ? caught : new Error(String(caught)));
      setBusy(false);
    }
  };

  if (settings.auth.mode === 'none') {
    return (
      <>
        <PageTitle>Sign in</PageTitle>
        <Failure error={new Error('Signing in is not configured for this store.')} />
      </>
    );
  }
  return (
    <>
      <PageTitle>Sign in</PageTitle>
      <form className="signin" onSubmit={(event) => void submit(event)}>
        {settings.auth.mode === 'dev' ? (
          <>
            <p>
              This is a local store: any lower-case name signs you in as a shopper (the
              gateway&apos;s dev issuer).
            </p>
            <label htmlFor="user">Your name</label>
            <input
              id="user"
              name="user"
              autoComplete="username"
              required
              pattern="[a-z0-9][a-z0-9\-]{0,62}"
              title="Lower-case letters, digits and dashes"
              value={name}
              onChange={(event) => {
                setName(event.target.value);
              }}
            />
          </>
        ) : (
          <p>You will sign in on your account provider&apos;s page, then come back here.</p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      {error ? <Failure error={error} /> : null}
    </>
  );
}

/** Where the OIDC provider sends the browser back: the code is exchanged for tokens here. */
export function CallbackPage(): ReactNode {
  const { settings, setSession } = useApp();
  const [error, setError] = useState<Error>();
  useEffect(() => {
    completeSignIn(settings).then(
      ({ session, returnTo }) => {
        setSession(session);
        navigate(safeReturn(returnTo), true);
      },
      (caught: unknown) => {
        setError(caught instanceof Error ? caught : new Error(String(caught)));
      },
    );
  }, [settings, setSession]);
  return (
    <>
      <PageTitle>Signing in</PageTitle>
      {error ? <Failure error={error} /> : <Loading what="your account" />}
    </>
  );
}
