// The certified oidc-provider (npm registry, pinned in package.json) as an upstream identity
// provider for Vestibule's social sign-in tests: one confidential client registered for
// Vestibule's callback, its development login and consent pages (any login name is an account;
// its email is `<login>@example.com`, verified), RS256 ID tokens, claims by scope (so the email
// comes from userinfo, as OIDC Core allows and oidc-provider does by default).
//
// `misbehave.nonce` / `misbehave.state` make it echo another nonce or state than the ones
// Vestibule sent (the authorization request is rewritten before oidc-provider reads it), for
// the wrong-nonce and tampered-state tests.

import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';

export const UPSTREAM_CLIENT = 'vestibule-upstream';
export const UPSTREAM_SECRET = 'upstream-secret-for-tests-only-0123456789';

export class UpstreamIdp {
  /** `Provider` is oidc-provider's default export; `port` is chosen before Vestibule starts. */
  constructor(Provider, port) {
    this.Provider = Provider;
    this.port = port;
    this.issuer = `http://127.0.0.1:${port}`;
    this.misbehave = {};
    this.logins = [];
  }

  /** Starts it, accepting Vestibule's callback for `slug` at `vestibuleBase`. */
  async start(vestibuleBase, slug) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'upstream-rs256', alg: 'RS256', use: 'sig' };
    const provider = new this.Provider(this.issuer, {
      clients: [
        {
          client_id: UPSTREAM_CLIENT,
          client_secret: UPSTREAM_SECRET,
          grant_types: ['authorization_code'],
          response_types: ['code'],
          redirect_uris: [`${vestibuleBase}/oauth/${slug}/callback`],
          token_endpoint_auth_method: 'client_secret_basic',
        },
      ],
      jwks: { keys: [jwk] },
      findAccount: async (_ctx, id) => ({
        accountId: id,
        claims: async () => ({ sub: id, email: `${id}@example.com`, email_verified: true, name: `User ${id}` }),
      }),
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
      features: { devInteractions: { enabled: true } },
      pkce: { required: () => true },
    });
    provider.proxy = false;
    const misbehave = this.misbehave;
    provider.use(async (ctx, next) => {
      if (ctx.path === '/auth') {
        const query = { ...ctx.query };
        if (misbehave.nonce && query.nonce) query.nonce = misbehave.nonce;
        if (misbehave.state && query.state) query.state = misbehave.state(query.state);
        ctx.query = query;
      }
      await next();
    });
    this.server = createServer(provider.callback());
    await new Promise((ok, fail) => {
      this.server.once('error', fail);
      this.server.listen(this.port, '127.0.0.1', ok);
    });
  }

  async stop() {
    if (!this.server) return;
    this.server.closeAllConnections?.();
    await new Promise((ok) => this.server.close(ok));
    this.server = undefined;
  }
}

/**
 * At oidc-provider's development login page: signs in as `login`, then grants consent if it
 * asks. Resolves when the browser has left the upstream.
 */
export async function signInUpstream(page, idp, login) {
  await page.waitForURL((u) => u.origin === idp.issuer, { timeout: 15_000 });
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', 'any-password');
  await page.click('button[type=submit]');
  for (let i = 0; i < 3; i++) {
    await page.waitForLoadState('load');
    if (new URL(page.url()).origin !== idp.issuer) return;
    const consent = await page.$('button[type=submit]');
    if (!consent) return;
    await Promise.all([page.waitForNavigation({ timeout: 15_000 }), consent.click()]);
  }
}
