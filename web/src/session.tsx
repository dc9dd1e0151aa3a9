import { createContext, useContext } from 'react';
import type { Session } from './auth.js';
import type { Settings } from './settings.js';

/** What every page may read: the settings, the session, and a way to announce a message. */
export interface AppState {
  settings: Settings;
  session: Session | undefined;
  setSession: (session: Session | undefined) => void;
  /** Shows a short message in the polite live region (e.g. "Added to your cart"). */
  announce: (message: string) => void;
}

export const AppContext = createContext<AppState | undefined>(undefined);

export function useApp(): AppState {
  const state = useContext(AppContext);
  if (!state) throw new Error('useApp outside <App>');
  return state;
}
