/** The storefront's deploy-time settings, from the gateway's `GET /config.json`. */
export interface Settings {
  auth:
    | { mode: 'dev' }
    | { mode: 'oidc'; authority: string; clientId: string; scope: string }
    | { mode: 'none' };
  /** Where spans go (the gateway's OTLP/HTTP intake), or null: no tracing. */
  tracesUrl: string | null;
  environment: string;
}

/** Reads the settings; the build carries none, so one build serves every environment. */
export async function loadSettings(): Promise<Settings> {
  const response = await fetch('/config.json', { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`/config.json answered ${String(response.status)}`);
  return (await response.json()) as Settings;
}
