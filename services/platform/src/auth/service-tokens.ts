import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The workload tokens a service presents to the services it calls. */
export interface ServiceTokens {
  /**
   * `Bearer <token>` for calls to `audience`, or undefined when this service has none for it
   * (the call then goes anonymous, and a route for services only answers 401).
   */
  authorization(audience: string): Promise<string | undefined>;
}

/** How long a read token file is used before it is read again, in ms. */
const REREAD_MS = 30_000;

/**
 * Tokens from a directory with one file per audience (`<dir>/inventory`), as a Kubernetes
 * projected volume of service account tokens lays them out. The kubelet rewrites each file
 * before its token expires, so a file is read again every {@link REREAD_MS}.
 */
export function serviceTokensFrom(dir: string | undefined): ServiceTokens {
  const cache = new Map<string, { value: string | undefined; readAt: number }>();
  return {
    authorization: async (audience) => {
      if (dir === undefined) return undefined;
      const cached = cache.get(audience);
      if (cached && Date.now() - cached.readAt < REREAD_MS) return cached.value;
      let value: string | undefined;
      try {
        const token = (await readFile(join(dir, audience), 'utf8')).trim();
        value = token === '' ? undefined : `Bearer ${token}`;
      } catch (error) {
        // No file for this audience: this service has no identity for it.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      cache.set(audience, { value, readAt: Date.now() });
      return value;
    },
  };
}
