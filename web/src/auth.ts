import type { UserManager } from 'oidc-client-ts';
import { api } from './api.js';
import type { Settings } from './settings.js';

/** The signed-in shopper. */
export interface Session {
  user: string;
  token: string;
  /** Epoch ms the token expires at. */
  expiresAt: number;
}

const KEY = 'emporium.session';
/** Where the OIDC provider sends the browser back with the authorization code. */
export const CALLBACK_PATH = '/auth/callback';

/** The session kept for this tab (sessionStorage: gone when the tab closes). */
export function storedSession(): Session | undefined {
  try {
    const raw = sessionStorage.getItem(KEY);
    const session = raw ? (JSON.parse(raw) as Session) : undefined;
    return session && session.expiresAt > Date.now() ? session : undefined;
  } catch {
    return undefined;
  }
}

function keep(session: Session | undefined): Session | undefined {
  if (session) sessionStorage.setItem(KEY, JSON.stringify(session));
  else sessionStorage.removeItem(KEY);
  return session;
}

let manager: Promise<UserManager> | undefined;

/** oidc-client-ts, loaded only where sign-in is OIDC (it stays out of the first download). */
function oidc(settings: Extract<Settings['auth'], { mode: 'oidc' }>): Promise<UserManager> {
  manager ??= import('oidc-client-ts').then(
    ({ UserManager, WebStorageStateStore }) =>
      new UserManager({
        authority: settings.authority,
        client_id: settings.clientId,
        redirect_uri: `${window.location.origin}${CALLBACK_PATH}`,
        post_logout_redirect_uri: `${window.location.origin}/`,
        response_type: 'code',
        scope: settings.scope,
        userStore: new WebStorageStateStore({ store: window.sessionStorage }),
      }),
  );
  return manager;
}

/**
 * Signs in. Locally, through the gateway's dev issuer (any lower-case name is a shopper);
 * with OIDC, by sending the browser to the provider (authorization code with PKCE), which
 * comes back to {@link CALLBACK_PATH}.
 */
export async function signIn(
  settings: Settings,
  user: string,
  returnTo: string,
): Promise<Session | undefined> {
  if (settings.auth.mode === 'oidc') {
    await (await oidc(settings.auth)).signinRedirect({ state: { returnTo } });
    return undefined;
  }
  const token = await api<{ access_token: string; expires_in: number }>('/dev/token', {
    method: 'POST',
    body: { user },
  });
  return keep({
    user,
    token: token.access_token,
    expiresAt: Date.now() + token.expires_in * 1000,
  });
}

/** Completes an OIDC sign-in on the callback page; resolves with where to go next. */
export async function completeSignIn(
  settings: Settings,
): Promise<{ session: Session; returnTo: string }> {
  if (settings.auth.mode !== 'oidc') throw new Error('Sign-in by OIDC is not configured here.');
  const signedIn = await (await oidc(settings.auth)).signinRedirectCallback();
  const profile = signedIn.profile;
  const session = keep({
    user: profile.email ?? profile.preferred_username ?? profile.sub,
    token: signedIn.access_token,
    expiresAt: (signedIn.expires_at ?? Date.now() / 1000 + 3600) * 1000,
  });
  const state = signedIn.state as { returnTo?: string } | undefined;
  if (!session) throw new Error('The sign-in did not complete.');
  return { session, returnTo: state?.returnTo ?? '/' };
}

/** Signs out: the local session goes; with OIDC, the provider's session too. */
export async function signOut(settings: Settings): Promise<void> {
  keep(undefined);
  if (settings.auth.mode !== 'oidc') return;
  const users = await oidc(settings.auth);
  const metadata = await users.metadataService.getMetadata().catch(() => undefined);
  // The provider's session too, where it has an end-session endpoint (its user goes with it).
  if (metadata?.end_session_endpoint) await users.signoutRedirect();
  else await users.removeUser();
}
