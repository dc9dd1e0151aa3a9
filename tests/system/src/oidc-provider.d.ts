// oidc-provider (panva's certified OpenID Provider) ships no types: the part the tests use.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface ClientMetadata {
    client_id: string;
    token_endpoint_auth_method: 'none';
    redirect_uris: string[];
    post_logout_redirect_uris?: string[];
    grant_types: string[];
    response_types: string[];
  }
  interface ResourceServer {
    scope: string;
    audience: string;
    accessTokenFormat: 'jwt' | 'opaque';
    jwt?: { sign: { alg: string } };
  }
  interface Account {
    accountId: string;
    claims: () => Record<string, unknown>;
  }
  interface Configuration {
    clients: ClientMetadata[];
    pkce?: { required: () => boolean };
    claims?: Record<string, string[]>;
    cookies?: { keys: string[] };
    findAccount?: (ctx: unknown, sub: string) => Account | Promise<Account>;
    features?: {
      devInteractions?: { enabled: boolean };
      rpInitiatedLogout?: { enabled: boolean };
      resourceIndicators?: {
        enabled: boolean;
        defaultResource: () => string;
        useGrantedResource: () => boolean;
        getResourceServerInfo: () => ResourceServer;
      };
    };
  }

  export default class Provider {
    constructor(issuer: string, configuration: Configuration);
    /** The Koa app's request listener, for node:http's createServer. */
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
  }
}
