// Social sign-in with a certified OpenID Provider as the upstream, in a real browser (Debian's
// chromium driven by playwright-core): oidc-provider (npm registry) runs on loopback as an
// `oidc` OAuthProvider of `vestibule dev`. A user signs up through it from the hosted sign-in
// page's button, a second sign-in in a fresh browser reaches the same user, and an OIDC client
// of Vestibule (openid-client, a `web` Application) sent with `provider=upstream` gets ID
// tokens for that user (`amr: fed`). Then what must fail ends on Vestibule's error page, never a
// 500: a tampered `state`, a replayed callback, a wrong `nonce` (the upstream echoes another),
// an expired flow (the browser's flow cookie gone), and an unreachable upstream.
//
// Prerequisites, binary and temp dir: as in auth-flow.test.mjs (see support.mjs).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';

import {
  describeExchanges,
  failIfMissing,
  freePort,
  launchChromium,
  prerequisites,
  recordingFetch,
  startDev,
} from './support.mjs';
import { UPSTREAM_CLIENT, UPSTREAM_SECRET, UpstreamIdp, signInUpstream } from './upstream-idp.mjs';

const { missing, skipReason, modules } = await prerequisites('social sign-in test', {
  browser: true,
  packages: ['playwright-core', 'openid-client', 'oidc-provider'],
});
const chromium = modules['playwright-core']?.chromium;
const client = modules['openid-client'];
const Provider = modules['oidc-provider']?.default;

const APP_CLIENT = 'social-rp';
const APP_SECRET = 'social-rp-secret-not-for-production';

function providers(idpPort, downPort, appCallback) {
  return `apiVersion: vestibule.dev/v1alpha1
kind: Application
metadata:
  name: social-rp
spec:
  vestibuleRef:
    name: quickstart
  type: web
  clientId: ${APP_CLIENT}
  displayName: Social RP
  redirectUris:
    - ${appCallback}
  secretName: social-rp-oidc
  requireConsent: false
---
apiVersion: v1
kind: Secret
metadata:
  name: social-rp-oidc
type: Opaque
stringData:
  client_id: ${APP_CLIENT}
  client_secret: ${APP_SECRET}
---
apiVersion: vestibule.dev/v1alpha1
kind: OAuthProvider
metadata:
  name: upstream
spec:
  vestibuleRef:
    name: quickstart
  type: oidc
  displayName: Upstream ID
  issuer: http://127.0.0.1:${idpPort}
  clientId: ${UPSTREAM_CLIENT}
  clientSecretRef:
    name: upstream-idp
    key: client-secret
---
apiVersion: vestibule.dev/v1alpha1
kind: OAuthProvider
metadata:
  name: down
spec:
  vestibuleRef:
    name: quickstart
  type: oidc
  displayName: Down ID
  issuer: http://127.0.0.1:${downPort}
  clientId: nobody-listens
  clientSecretRef:
    name: upstream-idp
    key: client-secret
---
apiVersion: v1
kind: Secret
metadata:
  name: upstream-idp
type: Opaque
stringData:
  client-secret: ${UPSTREAM_SECRET}
`;
}

let dev;
let idp;
let browser;
// The application's callback: answers 200 and keeps the URLs it was called with.
const appCallbacks = [];
const app = createServer((req, res) => {
  const url = new URL(req.url, APP_BASE());
  if (url.pathname === '/callback') appCallbacks.push(url.href);
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('app callback');
});
const APP_BASE = () => `http://127.0.0.1:${app.address().port}`;
let failed = false;
const trail = [];

before(async () => {
  if (skipReason || missing.length) return;
  const idpPort = await freePort();
  const downPort = await freePort();
  await new Promise((ok) => app.listen(0, '127.0.0.1', ok));
  dev = await startDev({
    label: 'social',
    files: { 'providers.yaml': providers(idpPort, downPort, `${APP_BASE()}/callback`) },
  });
  idp = new UpstreamIdp(Provider, idpPort);
  await idp.start(dev.base, 'upstream');
  browser = await launchChromium(chromium);
});

after(async () => {
  await browser?.close();
  await idp?.stop();
  app.closeAllConnections?.();
  await new Promise((ok) => app.close(ok));
  await dev?.stop({ failed });
});

/** A fresh browser (no cookies) whose navigations are kept for a failure report. */
async function freshPage() {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) trail.push(f.url());
  });
  return { context, page };
}

async function report(page, fn) {
  try {
    await fn();
  } catch (e) {
    failed = true;
    const body = await page.textContent('body').catch(() => '(no page)');
    e.message += `\nbrowser trail:\n  ${trail.slice(-12).join('\n  ')}\npage text: ${body?.slice(0, 600)}\nserver log:\n${dev.logTail(30)}`;
    throw e;
  }
}

async function sessionUser(context) {
  // 200 when signed in, 401 (with `signedIn: false`) when not.
  const r = await context.request.get(`${dev.base}/session`);
  const body = await r.json();
  assert.equal(r.status(), body.signedIn ? 200 : 401);
  return body;
}

/** From the hosted sign-in page, through the upstream's button, signed in as `login`. */
async function signInThroughUpstream(page, login) {
  await page.goto(`${dev.base}/sign-in`);
  const button = page.locator('[data-part="button.social"][data-provider="upstream"]');
  // The label, beside the provider's mark (a letter badge here: aria-hidden, not in the name).
  assert.equal((await button.locator('span:not([aria-hidden="true"])').textContent()).trim(), 'Continue with Upstream ID');
  assert.equal(await button.locator('[data-part="button.social-icon"]').count(), 1, 'the provider mark');
  await button.click();
  await signInUpstream(page, idp, login);
}

async function errorPage(page, status, heading) {
  const h1 = (await page.textContent('h1'))?.trim();
  assert.equal(h1, heading, `error page heading (status ${status})`);
  assert.ok(await page.$('[data-part="card"] a[data-part="link"]'), 'the error page has a way back');
}

let userId;

test('sign-up and sign-in through oidc-provider reach one account, and an application gets its ID tokens', { skip: skipReason }, async () => {
  failIfMissing(missing);
  const first = await freshPage();
  await report(first.page, async () => {
    await signInThroughUpstream(first.page, 'alice');
    await first.page.waitForURL(`${dev.base}/account`);
    assert.match(await first.page.textContent('[data-part="account-email"]'), /alice@example\.com/);
    assert.match(await first.page.textContent('#identities'), /Upstream ID/);
    const who = await sessionUser(first.context);
    assert.equal(who.signedIn, true);
    assert.equal(who.email, 'alice@example.com');
    userId = who.userId;
  });
  await first.context.close();

  const second = await freshPage();
  await report(second.page, async () => {
    await signInThroughUpstream(second.page, 'alice');
    await second.page.waitForURL(`${dev.base}/account`);
    const who = await sessionUser(second.context);
    assert.equal(who.userId, userId, 'the second sign-in reaches the same user');
  });
  await second.context.close();

  // An application of Vestibule's, with `provider=upstream` on its authorization request.
  const exchanges = [];
  const config = await client.discovery(new URL(dev.base), APP_CLIENT, APP_SECRET, client.ClientSecretBasic(APP_SECRET), {
    execute: [client.allowInsecureRequests],
    [client.customFetch]: recordingFetch(exchanges),
  });
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authorize = client.buildAuthorizationUrl(config, {
    redirect_uri: `${APP_BASE()}/callback`,
    scope: 'openid email profile',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    provider: 'upstream',
  });
  const third = await freshPage();
  await report(third.page, async () => {
    await third.page.goto(authorize.href);
    await signInUpstream(third.page, idp, 'alice');
    await third.page.waitForURL(`${APP_BASE()}/callback**`);
    const callback = appCallbacks.at(-1);
    assert.ok(callback, 'the application got its callback');
    let tokens;
    try {
      tokens = await client.authorizationCodeGrant(config, new URL(callback), {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
        idTokenExpected: true,
      });
    } catch (e) {
      throw new Error(`${e.message}\n${describeExchanges(exchanges)}`);
    }
    const claims = tokens.claims();
    assert.equal(claims.sub, userId, 'the ID token is for the user the upstream signed in');
    assert.deepEqual(claims.amr, ['fed']);
    assert.equal(claims.email, 'alice@example.com');
    assert.equal(claims.name, 'User alice', "the upstream's name, released with the profile scope");
    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(info.name, 'User alice');
  });
  await third.context.close();
});

test('a tampered state, a replayed callback, a wrong nonce, an expired flow and an unreachable upstream end on the error page', { skip: skipReason }, async () => {
  failIfMissing(missing);
  // Tampered state: the state that comes back is not the one bound to this browser's flow.
  {
    const { context, page } = await freshPage();
    idp.misbehave.state = (state) => `${state.slice(0, -2)}xx`;
    try {
      await report(page, async () => {
        await signInThroughUpstream(page, 'mallory');
        await page.waitForURL(`${dev.base}/oauth/upstream/callback**`);
        await errorPage(page, 400, 'Sign-in not accepted');
        assert.equal((await sessionUser(context)).signedIn, false);
      });
    } finally {
      delete idp.misbehave.state;
    }
    await context.close();
  }
  // Replayed callback: the same callback URL a second time, after it signed the user in.
  {
    const { context, page } = await freshPage();
    let callback;
    page.on('request', (r) => {
      if (r.url().startsWith(`${dev.base}/oauth/upstream/callback`)) callback ??= r.url();
    });
    await report(page, async () => {
      await signInThroughUpstream(page, 'bob');
      await page.waitForURL(`${dev.base}/account`);
      assert.ok(callback);
      const response = await page.goto(callback);
      assert.equal(response.status(), 400);
      await errorPage(page, 400, 'Sign-in expired');
    });
    await context.close();
  }
  // Wrong nonce: the upstream echoes another nonce in its ID token.
  {
    const { context, page } = await freshPage();
    idp.misbehave.nonce = 'not-the-nonce-vestibule-sent';
    try {
      await report(page, async () => {
        await signInThroughUpstream(page, 'carol');
        await page.waitForURL(`${dev.base}/oauth/upstream/callback**`);
        await errorPage(page, 401, 'Sign-in not accepted');
        assert.equal((await sessionUser(context)).signedIn, false);
      });
    } finally {
      delete idp.misbehave.nonce;
    }
    await context.close();
  }
  // Expired flow: the browser's flow cookie (10 minutes) is gone when the answer arrives.
  {
    const { context, page } = await freshPage();
    await report(page, async () => {
      await page.goto(`${dev.base}/sign-in`);
      await page.click('[data-part="button.social"][data-provider="upstream"]');
      await page.waitForURL((u) => u.origin === idp.issuer);
      await context.clearCookies({ name: '__Host-vestibule_oauth' });
      await signInUpstream(page, idp, 'dave');
      await page.waitForURL(`${dev.base}/oauth/upstream/callback**`);
      await errorPage(page, 400, 'Sign-in expired');
    });
    await context.close();
  }
  // Unreachable upstream: nothing listens at the `down` provider's issuer.
  {
    const { context, page } = await freshPage();
    await report(page, async () => {
      await page.goto(`${dev.base}/sign-in`);
      const response = await Promise.all([
        page.waitForNavigation(),
        page.click('[data-part="button.social"][data-provider="down"]'),
      ]).then(([r]) => r);
      assert.equal(response.status(), 502);
      await errorPage(page, 502, 'Sign-in unavailable');
      assert.match(await page.textContent('body'), /Down ID could not be reached/);
    });
    await context.close();
  }
  // Each failure was counted by reason.
  const metrics = await (await fetch(`${dev.base}/metrics`)).text();
  for (const reason of ['state', 'expired', 'token', 'unreachable']) {
    assert.match(metrics, new RegExp(`provider_sign_ins_total\\{provider="(upstream|down)",result="${reason}"\\} [1-9]`), reason);
  }
});
