import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import { setTokenSource } from './api.js';
import { CALLBACK_PATH, signOut, storedSession, type Session } from './auth.js';
import { CartPage } from './pages/cart.js';
import { CatalogPage } from './pages/catalog.js';
import { NotificationsPage, OrderPage, OrdersPage } from './pages/orders.js';
import { ProductPage } from './pages/product.js';
import { CallbackPage, SignInPage } from './pages/signin.js';
import { navigate, useLocation } from './router.js';
import { AppContext, type AppState } from './session.js';
import type { Settings } from './settings.js';
import { Link, PageTitle } from './ui.js';

/** The main navigation: where each link goes, and its words. */
const NAVIGATION: readonly (readonly [string, string])[] = [
  ['/', 'Products'],
  ['/cart', 'Cart'],
  ['/orders', 'Orders'],
  ['/notifications', 'Notifications'],
];

/** The pages that need a signed-in shopper. */
const SIGNED_IN_ONLY = /^\/(cart|orders|notifications)(\/|$)/;

function route(url: URL, session: Session | undefined): ReactNode {
  const path = url.pathname;
  if (SIGNED_IN_ONLY.test(path) && !session) {
    return <SignInPage query={new URLSearchParams({ returnTo: path })} />;
  }
  let match: RegExpExecArray | null;
  if (path === '/') return <CatalogPage query={url.searchParams} />;
  if ((match = /^\/products\/([^/]+)$/.exec(path))) {
    return <ProductPage id={decodeURIComponent(match[1] ?? '')} />;
  }
  if (path === '/cart') return <CartPage />;
  if (path === '/orders') return <OrdersPage />;
  if ((match = /^\/orders\/([^/]+)$/.exec(path))) {
    return <OrderPage id={decodeURIComponent(match[1] ?? '')} />;
  }
  if (path === '/notifications') return <NotificationsPage />;
  if (path === '/signin') return <SignInPage query={url.searchParams} />;
  if (path === CALLBACK_PATH) return <CallbackPage />;
  return (
    <>
      <PageTitle>Page not found</PageTitle>
      <p>
        There is no such page. <Link href="/">Go to the products</Link>.
      </p>
    </>
  );
}

/** The shell: skip link, header with navigation, the page, a live region for messages. */
export function App({ settings }: { settings: Settings }): ReactNode {
  const url = useLocation();
  const [session, setSessionState] = useState<Session | undefined>(storedSession);
  const [message, setMessage] = useState('');
  const setSession = useCallback((next: Session | undefined) => {
    setSessionState(next);
  }, []);
  useEffect(() => {
    if (!message) return;
    const timer = window.setTimeout(() => {
      setMessage('');
    }, 6000);
    return () => {
      window.clearTimeout(timer);
    };
  }, [message]);
  const state = useMemo<AppState>(
    () => ({ settings, session, setSession, announce: setMessage }),
    [settings, session, setSession],
  );
  const leave = async (): Promise<void> => {
    await signOut(settings);
    setSessionState(undefined);
    setMessage('Signed out.');
    navigate('/');
  };
  // The token source must be in place before the first page asks for anything.
  setTokenSource(
    () => session?.token,
    () => {
      setSessionState(undefined);
    },
  );
  return (
    <AppContext.Provider value={state}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link href="/" className="brand">
          Emporium
        </Link>
        <nav aria-label="Main">
          <ul>
            {NAVIGATION.map(([href, label]) => (
              <li key={href}>
                <Link href={href} aria-current={url.pathname === href ? 'page' : undefined}>
                  {label}
                </Link>
              </li>
            ))}
            <li>
              {session ? (
                <button type="button" className="link" onClick={() => void leave()}>
                  Sign out<span className="visually-hidden"> {session.user}</span>
                </button>
              ) : (
                <Link href={`/signin?returnTo=${encodeURIComponent(url.pathname)}`}>Sign in</Link>
              )}
            </li>
          </ul>
        </nav>
        {session ? <p className="who">Signed in as {session.user}</p> : null}
      </header>
      <p className="message" role="status" aria-live="polite">
        {message}
      </p>
      <main id="main">{route(url, session)}</main>
      <footer className="bottom">
        <p>Emporium · {settings.environment}</p>
      </footer>
    </AppContext.Provider>
  );
}
