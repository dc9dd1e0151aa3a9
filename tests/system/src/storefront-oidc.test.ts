import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { rm } from 'node:fs/promises';
import {
  freePort,
  httpOk,
  serviceMain,
  startProcess,
  startRedis,
  tempDir,
  type ManagedProcess,
  type RedisServer,
} from '@emporium/harness';
import { buildStorefront } from '@emporium/scripts/stack';
import { decodeJwt } from 'jose';
import Provider from 'oidc-provider';
import { launchBrowser, type TestBrowser } from './browser.js';

/** The storefront's public client at the provider, as a Cognito app client without a secret. */
const CLIENT_ID = 'storefront';
/** The audience of the access tokens, the API's (JWT_AUDIENCE). */
const AUDIENCE = 'emporium';

describe('storefront: sign-in by OIDC (authorization code with PKCE) against a real OpenID provider', function () {
  this.timeout(300_000);
  let redis: RedisServer;
  let webDir: string;
  let idp: Server;
  let gateway: ManagedProcess;
  let browser: TestBrowser;
  let issuer = '';
  let origin = '';

  before(async function () {
    const [providerPort, gatewayPort, nowhere] = [
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    issuer = `http://127.0.0.1:${String(providerPort)}`;
    origin = `http://127.0.0.1:${String(gatewayPort)}`;
    [redis, webDir, browser] = await Promise.all([
      startRedis(),
      buildStorefront(await tempDir('web-oidc')),
      launchBrowser(),
    ]);
    // panva's oidc-provider, OpenID Certified: its own login and consent pages, PKCE required
    // of public clients, access tokens as JWTs for the API's audience.
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: CLIENT_ID,
          token_endpoint_auth_method: 'none',
          redirect_uris: [`${origin}/auth/callback`],
          post_logout_redirect_uris: [`${origin}/`],
          grant_types: ['authorization_code'],
          response_types: ['code'],
        },
      ],
      pkce: { required: () => true },
      cookies: { keys: [randomBytes(16).toString('hex')] },
      claims: { openid: ['sub'], profile: ['preferred_username'] },
      findAccount: (_ctx, sub) => ({
        accountId: sub,
        claims: () => ({ sub, preferred_username: sub }),
      }),
      features: {
        devInteractions: { enabled: true },
        rpInitiatedLogout: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => 'urn:emporium:api',
          useGrantedResource: () => true,
          getResourceServerInfo: () => ({
            scope: 'openid profile',
            audience: AUDIENCE,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          }),
        },
      },
    });
    idp = createServer(provider.callback());
    await new Promise<void>((resolve) => idp.listen(providerPort, '127.0.0.1', resolve));

    // The gateway as on EKS: the provider's tokens only, no dev issuer, the storefront told to
    // sign in there. Its upstreams are not running: a call past the token check is a 503.
    const upstream = `http://127.0.0.1:${String(nowhere)}`;
    const { command, args, cwd } = serviceMain('gateway');
    gateway = await startProcess({
      name: 'gateway',
      command,
      args,
      cwd,
      workDir: await tempDir('gateway-oidc'),
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PORT: String(gatewayPort),
        LOG_LEVEL: 'warn',
        OTEL_SERVICE_NAME: 'gateway',
        TELEMETRY_ENABLED: 'false',
        REDIS_URL: redis.url,
        ...Object.fromEntries(
          ['CATALOG', 'CART', 'INVENTORY', 'ORDERS', 'NOTIFICATIONS', 'SHIPPING', 'PAYMENTS'].map(
            (name) => [`UPSTREAM_${name}_URL`, upstream],
          ),
        ),
        UPSTREAM_RETRIES: '0',
        JWT_JWKS_URL: `${issuer}/jwks`,
        JWT_ISSUER: issuer,
        JWT_AUDIENCE: AUDIENCE,
        WEB_ROOT: webDir,
        WEB_OIDC_AUTHORITY: issuer,
        WEB_OIDC_CLIENT_ID: CLIENT_ID,
      },
      ready: () => httpOk(`${origin}/livez`),
    });
  });

  after(async function () {
    await browser.close();
    await gateway.stop();
    await new Promise((resolve) => idp.close(resolve));
    await redis.stop();
    await rm(webDir, { recursive: true, force: true });
  });

  it("signs in at the provider and back, calls the API with the provider's access token, and signs out there", async function () {
    const user = `oidc-${randomBytes(3).toString('hex')}`;
    const page = await browser.newPage(origin);
    await page.goto('/');
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByText("You will sign in on your account provider's page").waitFor();
    await browser.check(page, 'sign-in-oidc');

    // To the provider: the authorization code flow with a PKCE challenge (S256).
    const authorize = page.waitForRequest((request) => request.url().startsWith(`${issuer}/auth?`));
    await page.getByRole('button', { name: 'Sign in' }).click();
    const query = new URL((await authorize).url()).searchParams;
    assert.equal(query.get('response_type'), 'code');
    assert.equal(query.get('client_id'), CLIENT_ID);
    assert.equal(query.get('redirect_uri'), `${origin}/auth/callback`);
    assert.equal(query.get('code_challenge_method'), 'S256');
    assert.match(query.get('code_challenge') ?? '', /^[\w-]{43}$/);
    await page.locator('input[name="login"]').fill(user);
    await page.locator('input[name="password"]').fill('any');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    const consent = page.getByRole('button', { name: 'Continue' });
    await consent.click();

    // Back at the storefront, with a session; the code went for tokens from the browser itself.
    await page.getByText(`Signed in as ${user}`, { exact: true }).waitFor();
    assert.equal(new URL(page.url()).origin, origin);
    assert.equal(new URL(page.url()).pathname, '/');

    // The API takes the provider's access token (a JWT for its audience) and goes past the
    // token check: to an upstream that is not there (503), which a refused token never reaches.
    const cartCall = page.waitForRequest((request) => request.url().endsWith('/api/cart'));
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Cart' })
      .click();
    const token = /^Bearer (.+)$/.exec((await cartCall).headers().authorization ?? '')?.[1] ?? '';
    const claims = decodeJwt(token);
    assert.equal(claims.iss, issuer);
    assert.equal(claims.aud, AUDIENCE);
    assert.equal(claims.sub, user);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? '', /The store is having trouble right now/);
    assert.equal(await page.getByText(`Signed in as ${user}`, { exact: true }).count(), 1);

    // Out: the provider's session ends too, and the browser comes back signed out.
    await page.getByRole('button', { name: /^Sign out/ }).click();
    await page.waitForURL((url) => url.origin === issuer);
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.waitForURL((url) => url.origin === origin);
    await page.getByRole('link', { name: 'Sign in' }).waitFor();
    assert.equal(await page.getByText(`Signed in as ${user}`).count(), 0);
  });
});
