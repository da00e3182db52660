// A user's first visit to an application that signs in with Vestibule, in a real browser
// (Debian's chromium driven by playwright-core): a tiny relying party (node:http + openid-client,
// a confidential `web` client registered in the temp config) sends the browser to Vestibule's
// /oauth2/authorize; with no session the hosted sign-in page shows; the user goes on to sign-up,
// signs up, types the emailed code on /verify-email, and must land back at the application's
// callback with a code, which the application exchanges with openid-client before it shows who
// signed in. Then the application's sign-out goes through Vestibule's end-session and back.
// A second visit signs the same user in on the hosted page, and signs out without an
// id_token_hint, which Vestibule's sign-out page confirms. On failure the browser's whole trail
// (navigations, redirects with their Location, console messages: a CSP refusal shows there) and
// a screenshot are kept.
//
// Prerequisites, binary and temp dir: as in auth-flow.test.mjs (see support.mjs).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';

import {
  SESSION_COOKIE,
  describeError,
  describeExchanges,
  failIfMissing,
  launchChromium,
  prerequisites,
  recordingFetch,
  startDev,
} from './support.mjs';

const { missing, skipReason, modules } = await prerequisites('OpenID browser journey test', {
  browser: true,
  packages: ['playwright-core', 'openid-client'],
});
const chromium = modules['playwright-core']?.chromium;
const client = modules['openid-client'];

const RP_CLIENT = 'journey-rp';
const RP_SECRET = 'journey-rp-secret-not-for-production';

// ---------------------------------------------------------------------------------------------
// The relying party: a server-side web app, as small as one can be with openid-client.

const html = (body) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Journey RP</title></head><body>${body}</body></html>`;
const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

class RelyingParty {
  constructor() {
    this.sessions = new Map(); // rp_session cookie → { tx, tokens, claims, logoutState }
    this.exchanges = []; // openid-client's HTTP exchanges with Vestibule
    this.errors = [];
    this.callbacks = []; // the query strings the callback received
    this.server = createServer((req, res) => {
      this.#route(req, res).catch((e) => {
        this.errors.push(e);
        res.writeHead(500, { 'content-type': 'text/html; charset=utf-8' });
        res.end(html(`<h1>RP error</h1><pre id="error">${escape(describeError(e))}</pre>`));
      });
    });
  }

  /** Listens on a free 127.0.0.1 port; the Application needs its URLs before Vestibule starts. */
  async listen() {
    await new Promise((ok) => this.server.listen(0, '127.0.0.1', ok));
    this.base = `http://127.0.0.1:${this.server.address().port}`;
    this.redirectUri = `${this.base}/callback`;
    this.postLogout = `${this.base}/`;
  }

  async discover(issuer) {
    this.config = await client.discovery(new URL(issuer), RP_CLIENT, RP_SECRET, client.ClientSecretBasic(RP_SECRET), {
      execute: [client.allowInsecureRequests],
      [client.customFetch]: recordingFetch(this.exchanges),
    });
  }

  close() {
    this.server.closeAllConnections?.();
    return new Promise((ok) => this.server.close(ok));
  }

  #session(req, res) {
    const id = /(?:^|;\s*)rp_session=([\w-]+)/.exec(req.headers.cookie ?? '')?.[1];
    if (id && this.sessions.has(id)) return this.sessions.get(id);
    const fresh = client.randomState();
    const session = {};
    this.sessions.set(fresh, session);
    res.setHeader('set-cookie', `rp_session=${fresh}; Path=/; HttpOnly; SameSite=Lax`);
    return session;
  }

  async #route(req, res) {
    const url = new URL(req.url, this.base);
    const session = this.#session(req, res);
    const page = (status, body) => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html(body));
    };
    const redirect = (to) => {
      res.writeHead(302, { location: String(to) });
      res.end();
    };
    switch (url.pathname) {
      case '/': {
        if (session.claims) {
          return page(200, `<h1>Journey RP</h1><p id="who">Signed in as ${escape(session.claims.email)}</p><a href="/logout">Sign out</a>`);
        }
        const state = url.searchParams.get('state');
        if (state !== null) {
          const ours = state === session.logoutState;
          delete session.logoutState;
          return page(ours ? 200 : 400, `<h1>Journey RP</h1><p id="status">${ours ? 'You are signed out.' : 'Unexpected sign-out state.'}</p>`);
        }
        return page(200, '<h1>Journey RP</h1><p id="status">Not signed in.</p><a href="/login">Sign in</a>');
      }
      case '/login': {
        const verifier = client.randomPKCECodeVerifier();
        session.tx = { pkceCodeVerifier: verifier, expectedState: client.randomState(), expectedNonce: client.randomNonce(), idTokenExpected: true };
        return redirect(client.buildAuthorizationUrl(this.config, {
          redirect_uri: this.redirectUri,
          scope: 'openid email',
          code_challenge: await client.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          state: session.tx.expectedState,
          nonce: session.tx.expectedNonce,
        }));
      }
      case '/callback': {
        this.callbacks.push(url.search);
        const checks = session.tx;
        if (!checks) return page(400, '<h1>RP error</h1><p id="error">No sign-in in progress.</p>');
        delete session.tx;
        session.tokens = await client.authorizationCodeGrant(this.config, url, checks);
        session.claims = session.tokens.claims();
        return page(200, `<h1>Journey RP</h1>
<p id="who">Signed in as ${escape(session.claims.email)}</p>
<p>Subject: <code id="sub">${escape(session.claims.sub)}</code></p>
<a href="/logout">Sign out</a> · <a href="/logout?hint=none">Sign out (Vestibule asks)</a>`);
      }
      case '/logout': {
        // ?hint=none: as an app that kept no ID token, so Vestibule asks the user to confirm.
        const idToken = url.searchParams.get('hint') === 'none' ? undefined : session.tokens?.id_token;
        session.logoutState = client.randomState();
        delete session.tokens;
        delete session.claims;
        return redirect(client.buildEndSessionUrl(this.config, {
          ...(idToken ? { id_token_hint: idToken } : {}),
          post_logout_redirect_uri: this.postLogout,
          state: session.logoutState,
        }));
      }
      case '/favicon.ico':
        res.writeHead(204);
        return res.end();
      default:
        return page(404, '<h1>Not found</h1>');
    }
  }
}

// ---------------------------------------------------------------------------------------------

let dev;
let rp;
let browser;
let failed = false;

before(async () => {
  if (skipReason || missing.length) return;
  rp = new RelyingParty();
  await rp.listen();
  dev = await startDev({
    label: 'journey',
    files: {
      'journey-rp.yaml': `
apiVersion: vestibule.dev/v1alpha1
kind: Application
metadata:
  name: journey-rp
spec:
  vestibuleRef:
    name: quickstart
  type: web
  clientId: ${RP_CLIENT}
  displayName: Journey RP
  redirectUris:
    - ${rp.redirectUri}
  postLogoutRedirectUris:
    - ${rp.postLogout}
  secretName: journey-rp-oidc
  requireConsent: false
---
apiVersion: v1
kind: Secret
metadata:
  name: journey-rp-oidc
type: Opaque
stringData:
  client_id: ${RP_CLIENT}
  client_secret: ${RP_SECRET}
`,
    },
  });
  await rp.discover(dev.base);
  browser = await launchChromium(chromium);
});

after(async () => {
  await browser?.close().catch(() => {});
  await rp?.close();
  await dev?.stop({ failed });
});

/**
 * A browser test: a fresh browser context and page, every top-level navigation (redirects and
 * their Location included) and console message recorded, and on failure a screenshot, those
 * records, the app's errors and exchanges, and the server log printed.
 */
function journey(name, body) {
  test(name, { skip: skipReason, timeout: 60_000 }, async (t) => {
    const trail = []; // top-level requests and answers, in order
    let page;
    let ctx;
    failIfMissing(missing);
    if (!dev || !browser) assert.fail('the server or the browser did not start (see before)');
    try {
      ctx = await browser.newContext({ viewport: { width: 1000, height: 800 } });
      page = await ctx.newPage();
      page.setDefaultTimeout(15_000);
      page.setDefaultNavigationTimeout(20_000);
      const top = (r) => r.isNavigationRequest() && r.frame() === page.mainFrame();
      page.on('request', (r) => top(r) && trail.push(`${r.method()} ${r.url()}`));
      page.on('response', (r) => {
        if (!top(r.request())) return;
        const to = r.headers().location;
        trail.push(`  → ${r.status()}${to ? ` Location: ${to}` : ''}`);
      });
      page.on('console', (m) => trail.push(`  console ${m.type()}: ${m.text()}`));
      const where = () => `${page.url()}; what the browser did:\n${trail.join('\n')}`;
      await body({ t, ctx, page, where });
      await ctx.close();
    } catch (e) {
      failed = true;
      if (page) {
        const shot = join(dev?.work ?? '.', `failure-${name.slice(0, 20).replace(/\W+/g, '-')}.png`);
        await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
        console.log(`FAILED: ${name}\nthe browser was at ${page.url()}; screenshot ${shot}`);
      }
      console.log(`what the browser did:\n${trail.join('\n')}`);
      if (rp?.errors.length) console.log(`the app's errors:\n${rp.errors.map(describeError).join('\n')}`);
      if (rp?.exchanges.length) console.log(`the app's last exchanges with Vestibule:\n${describeExchanges(rp.exchanges, 2)}`);
      if (dev) console.log(`server log (tail) from ${dev.logPath}:\n${dev.logTail(25)}`);
      await ctx?.close().catch(() => {});
      throw e;
    }
  });
}

const at = (page) => new URL(page.url());
const here = (page) => `${at(page).origin}${at(page).pathname}`;

const account = {
  email: `journey-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`,
  password: 'a journey passphrase of reasonable length',
};

/** Back at the app's callback with a code and iss; the app exchanged it and shows the user. */
async function expectBackAtTheApp(page, ctx, where) {
  await page.waitForURL((u) => u.origin === rp.base, { timeout: 10_000 }).catch(() => {});
  assert.equal(here(page), rp.redirectUri, `back at the app's callback, not at ${where()}`);
  assert.ok(at(page).searchParams.get('code'), 'with a code');
  assert.equal(at(page).searchParams.get('iss'), dev.base, 'and iss (RFC 9207)');
  assert.equal(rp.errors.length, 0, `the app's openid-client accepted everything: ${rp.errors.map(describeError).join('\n')}`);
  assert.equal((await page.locator('#who').innerText()).trim(), `Signed in as ${account.email}`);
  const sub = (await page.locator('#sub').innerText()).trim();
  const who = await (await ctx.request.get(`${dev.base}/session`)).json();
  assert.equal(who.signedIn, true, 'signed in at Vestibule too');
  assert.equal(who.email, account.email);
  assert.equal(sub, who.userId, 'the ID token names the user who signed in');
}

/** Back at the app's home after signing out, with the app's state; Vestibule's session over. */
async function expectSignedOut(page, ctx, where) {
  await page.waitForURL((u) => u.origin === rp.base && u.pathname === '/', { timeout: 10_000 }).catch(() => {});
  assert.equal(here(page), rp.postLogout, `back at the app after signing out, not at ${where()}`);
  assert.ok(at(page).searchParams.get('state'), 'with the state the app sent');
  assert.equal((await page.locator('#status').innerText()).trim(), 'You are signed out.');
  assert.equal((await ctx.cookies(dev.base)).find((c) => c.name === SESSION_COOKIE), undefined,
    'the Vestibule session cookie is gone');
  await page.goto(`${dev.base}/account`);
  assert.equal(at(page).pathname, '/sign-in', 'Vestibule asks to sign in again');
  await page.goto(`${rp.base}/login`);
  assert.equal(here(page), `${dev.base}/sign-in`, 'and so does signing in to the app');
}

journey('first visit: sign-in page → sign-up → verify email → back at the app → sign out through end-session', async ({ t, ctx, page, where }) => {
  const base = dev.base;
  const { email, password } = account;

  // 1. The app's sign-in link: Vestibule's hosted sign-in page, the authorization request kept.
  await page.goto(`${rp.base}/login`);
  assert.equal(here(page), `${base}/sign-in`, `the app sent the browser to Vestibule's sign-in page: ${page.url()}`);
  assert.equal(await page.locator('h1').innerText(), 'Sign in');
  const returnTo = new URL(at(page).searchParams.get('redirect_url'), base);
  assert.equal(returnTo.pathname, '/oauth2/authorize');
  assert.equal(returnTo.searchParams.get('client_id'), RP_CLIENT);
  assert.equal(returnTo.searchParams.get('redirect_uri'), rp.redirectUri);
  const kept = returnTo.pathname + returnTo.search;

  // 2. No account yet: on to sign-up, which still knows where to return.
  await page.getByRole('link', { name: 'Create an account' }).click();
  await page.waitForURL((u) => u.pathname === '/sign-up');
  assert.equal(await page.locator('h1').innerText(), 'Create your account');
  assert.equal(at(page).searchParams.get('redirect_url'), kept, 'sign-up carries the return address');
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();

  // 3. The emailed code, typed on /verify-email.
  await page.waitForURL((u) => u.pathname === '/verify-email');
  assert.equal(at(page).searchParams.get('email'), email);
  assert.equal(at(page).searchParams.get('redirect_url'), kept, '/verify-email carries the return address');
  const code = await dev.verificationCode(email);
  await page.getByLabel('Verification code').pressSequentially(code);
  await page.getByRole('button', { name: 'Verify', exact: true }).click();

  // 4. Back at the app's callback; the app exchanged the code and shows who signed up.
  await expectBackAtTheApp(page, ctx, where);
  assert.ok((await ctx.cookies(base)).find((c) => c.name === SESSION_COOKIE), 'the browser holds a Vestibule session');
  const shot = join(dev.work, 'journey-signed-in.png');
  await page.screenshot({ path: shot, fullPage: true });
  t.diagnostic(`screenshot: ${shot}`);

  // 5. The app's sign-out (with id_token_hint): through end-session, straight back to the app.
  await page.getByRole('link', { name: 'Sign out', exact: true }).click();
  await expectSignedOut(page, ctx, where);
});

journey('returning user: sign in on the hosted page → back at the app; sign-out without a hint is confirmed on Vestibule\'s page', async ({ ctx, page, where }) => {
  const base = dev.base;

  await page.goto(`${rp.base}/login`);
  assert.equal(here(page), `${base}/sign-in`);
  await page.getByLabel('Email address').fill(account.email);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expectBackAtTheApp(page, ctx, where);

  // Without id_token_hint, Vestibule asks before it signs anyone out.
  await page.getByRole('link', { name: 'Sign out (Vestibule asks)' }).click();
  await page.waitForURL((u) => u.origin === base && u.pathname === '/sign-out');
  assert.equal(await page.locator('h1').innerText(), 'Sign out?');
  assert.match(await page.locator('[data-part="subheading"]').innerText(), new RegExp(`Journey RP asks to sign you out\\. You are signed in as ${account.email.replace(/\./g, '\\.')}\\.`));
  assert.equal((await (await ctx.request.get(`${base}/session`)).json()).signedIn, true, 'still signed in while asked');
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expectSignedOut(page, ctx, where);
});
