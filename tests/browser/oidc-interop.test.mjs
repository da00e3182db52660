// Interop with a certified OpenID relying party: `openid-client` (v6) against `vestibule dev`
// serving a temp copy of examples/quickstart plus the Applications below. No browser: the user
// is played with fetch and a cookie jar, through the real hosted pages (sign-up, verify-email,
// sign-in, sign-out), and every OAuth request is made and every answer judged by openid-client.
// Where openid-client refuses an answer, the peer is right until shown otherwise: the failure
// prints openid-client's error and the exact exchanges it made.
//
// Prerequisites, binary and temp dir: as in auth-flow.test.mjs (see support.mjs); this test
// needs node_modules (openid-client) but not Chromium.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  SESSION_COOKIE,
  UserAgent,
  describeError,
  describeExchanges,
  failIfMissing,
  prerequisites,
  recordingFetch,
  startDev,
} from './support.mjs';

const { missing, skipReason, modules } = await prerequisites('OpenID interop test', {
  packages: ['openid-client'],
});
const client = modules['openid-client'];

// examples/quickstart/application.yaml: the demo app and its dev Secret.
const DEMO_CLIENT = 'demo-app';
const DEMO_SECRET = 'quickstart-demo-secret-change-me';
const DEMO_REDIRECT = 'http://localhost:3000/callback';
const DEMO_POST_LOGOUT = 'http://localhost:3000/';

// Added to the temp config: a machine client, and a public one (for introspection's refusal).
const M2M_CLIENT = 'interop-m2m';
const M2M_SECRET = 'interop-m2m-secret-not-for-production';
const SPA_CLIENT = 'interop-spa';
const EXTRA_APPLICATIONS = `
apiVersion: vestibule.dev/v1alpha1
kind: Application
metadata:
  name: interop-m2m
spec:
  vestibuleRef:
    name: quickstart
  type: m2m
  clientId: ${M2M_CLIENT}
  displayName: Interop batch job
  grantTypes: [client_credentials]
  scopes: [reports:read, reports:write]
  secretName: interop-m2m-oidc
---
apiVersion: v1
kind: Secret
metadata:
  name: interop-m2m-oidc
type: Opaque
stringData:
  client_id: ${M2M_CLIENT}
  client_secret: ${M2M_SECRET}
---
apiVersion: vestibule.dev/v1alpha1
kind: Application
metadata:
  name: interop-spa
spec:
  vestibuleRef:
    name: quickstart
  type: spa
  clientId: ${SPA_CLIENT}
  displayName: Interop SPA
  redirectUris:
    - http://localhost:3000/spa-callback
  requireConsent: false
`;

// ---------------------------------------------------------------------------------------------
// The server, and what the tests below share (they run in order, each on the previous' state).

let dev;
let base;
let failed = false;
const exchanges = []; // every HTTP exchange openid-client made
const customFetch = recordingFetch(exchanges);

const email = `interop-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
const password = 'interop passphrase, long enough to be accepted';
let userId; // from GET /session after sign-up
let config; // openid-client Configuration of demo-app (client_secret_basic)
let user; // the user's "browser" (cookie jar) for the OpenID flows

before(async () => {
  if (skipReason || missing.length) return;
  dev = await startDev({ label: 'interop', files: { 'interop-applications.yaml': EXTRA_APPLICATIONS } });
  base = dev.base;
});

after(async () => {
  await dev?.stop({ failed });
});

/** Runs a test body; on failure prints openid-client's error, its last exchanges and the log. */
function step(name, body) {
  test(name, { skip: skipReason, timeout: 30_000 }, async (t) => {
    failIfMissing(missing);
    if (!dev) assert.fail('the server did not start (see before)');
    const seen = exchanges.length;
    try {
      await body(t);
    } catch (e) {
      failed = true;
      console.log(`FAILED: ${name}\nerror: ${describeError(e)}`);
      if (exchanges.length > seen) {
        console.log(`openid-client's last exchanges:\n${describeExchanges(exchanges.slice(seen), 3)}`);
      }
      if (dev) console.log(`server log (tail) from ${dev.logPath}:\n${dev.logTail(12)}`);
      throw e;
    }
  });
}

function location(response) {
  const to = response.headers.get('location');
  assert.ok(to, `a redirect (status ${response.status}) with a Location`);
  return new URL(to, base);
}

async function expectSignedIn(jar, expected = true) {
  const r = await fetch(`${base}/session`, {
    headers: jar.size ? { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {},
  });
  assert.equal(r.status, expected ? 200 : 401, `GET /session answers ${expected ? 200 : 401}`);
  return r.json();
}

/** The OAuth error openid-client reports: from the body, or (401 with a challenge) the body it left. */
async function oauthError(promise) {
  try {
    await promise;
  } catch (e) {
    if (e instanceof client.ResponseBodyError) return { status: e.status, error: e.error, e };
    if (e instanceof client.WWWAuthenticateChallengeError) {
      const body = await e.response.clone().json().catch(() => ({}));
      return { status: e.status, error: body.error, challenge: e.cause?.[0]?.scheme, e };
    }
    throw e;
  }
  assert.fail('openid-client accepted an answer that should have been an error');
}

/** openid-client refuses (before or without any server error): its message or its cause's matches. */
async function refuses(promise, pattern) {
  const e = await promise.then(
    () => assert.fail(`openid-client accepted what it should refuse (${pattern})`),
    (e) => e,
  );
  const text = `${e.message} / ${e.cause?.message ?? ''}`;
  assert.match(text, pattern, describeError(e));
}

function configFor(clientId, secret, auth) {
  const c = new client.Configuration(config.serverMetadata(), clientId, secret, auth);
  client.allowInsecureRequests(c);
  c[client.customFetch] = customFetch;
  return c;
}

/** An authorization request for demo-app with PKCE S256, state and nonce. */
async function authorizationRequest(extra = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: DEMO_REDIRECT,
    scope: 'openid email',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  return { url, checks: { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true } };
}

/** The redirect back to demo-app's callback, checked for code, state and iss (RFC 9207). */
function callback(response, checks) {
  assert.equal(response.status, 303, 'authorize answers 303 to the client');
  const back = location(response);
  assert.equal(`${back.origin}${back.pathname}`, DEMO_REDIRECT, `back at the redirect_uri: ${back}`);
  assert.ok(back.searchParams.get('code'), `with a code: ${back}`);
  assert.equal(back.searchParams.get('state'), checks.expectedState, 'with the state');
  assert.equal(back.searchParams.get('iss'), base, 'with iss (RFC 9207)');
  return back;
}

/** A signed-in user's authorization: straight back with a code, exchanged by openid-client. */
async function signedInGrant(extra = {}, moreChecks = {}) {
  const { url, checks } = await authorizationRequest(extra);
  Object.assign(checks, moreChecks);
  const back = callback(await user.fetch(url), checks);
  return client.authorizationCodeGrant(config, back, checks);
}

// ---------------------------------------------------------------------------------------------

step('discovery: openid-client accepts the issuer and the metadata', async () => {
  config = await client.discovery(new URL(base), DEMO_CLIENT, DEMO_SECRET, client.ClientSecretBasic(DEMO_SECRET), {
    execute: [client.allowInsecureRequests],
    [client.customFetch]: customFetch,
  });
  const meta = config.serverMetadata();
  assert.equal(meta.issuer, base, 'the issuer is the served URL (dev follows the port)');
  assert.equal(meta.authorization_endpoint, `${base}/oauth2/authorize`);
  assert.equal(meta.token_endpoint, `${base}/oauth2/token`);
  assert.equal(meta.userinfo_endpoint, `${base}/oauth2/userinfo`);
  assert.equal(meta.revocation_endpoint, `${base}/oauth2/revoke`);
  assert.equal(meta.introspection_endpoint, `${base}/oauth2/introspect`);
  assert.equal(meta.end_session_endpoint, `${base}/oauth2/end-session`);
  assert.equal(meta.jwks_uri, `${base}/.well-known/jwks.json`);
  assert.ok(meta.code_challenge_methods_supported.includes('S256'));
  assert.equal(meta.authorization_response_iss_parameter_supported, true);
  assert.ok(meta.token_endpoint_auth_methods_supported.includes('client_secret_basic'));
});

step('sign-up through the hosted pages, verified with the code from the dev mailbox', async () => {
  const ua = new UserAgent(base);
  const signUp = await ua.page('/sign-up');
  const created = await ua.submit(signUp, '/sign-up', { email, password });
  assert.equal(created.status, 303, 'sign-up answers 303');
  const verify = location(created);
  assert.equal(verify.pathname, '/verify-email');
  assert.equal(verify.searchParams.get('email'), email);
  assert.equal(ua.session(), undefined, 'no session before the address is verified');

  const code = await dev.verificationCode(email);
  const verified = await ua.submit(await ua.page(verify), '/verify-email', { code });
  assert.equal(verified.status, 303, `verify answers 303: ${await verified.text()}`);
  assert.equal(location(verified).pathname, '/account');
  assert.ok(ua.session(), 'signed in after verification');
  const who = await expectSignedIn(ua.cookies);
  assert.equal(who.email, email);
  assert.equal(who.emailVerified, true);
  userId = who.userId;
});

let first; // the first grant's tokens (refresh rotation)

step('code flow with PKCE, state and nonce through the hosted sign-in page; openid-client checks the ID token', async () => {
  user = new UserAgent(base); // another browser: no session yet
  const { url, checks } = await authorizationRequest();

  // No session: the hosted sign-in page, carrying the whole request back.
  const toSignIn = await user.fetch(url);
  assert.equal(toSignIn.status, 303);
  const signInUrl = location(toSignIn);
  assert.equal(signInUrl.pathname, '/sign-in');
  const returnTo = new URL(signInUrl.searchParams.get('redirect_url'), base);
  assert.equal(returnTo.origin, base);
  assert.equal(returnTo.pathname, '/oauth2/authorize');
  assert.deepEqual([...returnTo.searchParams].sort(), [...url.searchParams].sort(), 'the same request comes back');

  const signedIn = await user.submit(await user.page(signInUrl), '/sign-in', { email, password });
  assert.equal(signedIn.status, 303, 'sign-in answers 303');
  const again = location(signedIn);
  assert.equal(`${again.origin}${again.pathname}`, `${base}/oauth2/authorize`, `back to authorize: ${again}`);
  assert.ok(user.session(), 'signed in');
  const back = callback(await user.fetch(again), checks);

  // openid-client refuses a tampered state and a missing iss before any token request.
  const before = exchanges.length;
  const tampered = new URL(back);
  tampered.searchParams.set('state', `${checks.expectedState}x`);
  await refuses(client.authorizationCodeGrant(config, tampered, checks), /"state"/);
  const noIss = new URL(back);
  noIss.searchParams.delete('iss');
  await refuses(client.authorizationCodeGrant(config, noIss, checks), /"iss"/);
  const wrongIss = new URL(back);
  wrongIss.searchParams.set('iss', 'http://localhost:1');
  await refuses(client.authorizationCodeGrant(config, wrongIss, checks), /"iss"/);
  assert.equal(exchanges.length, before, 'no token request for a response openid-client refuses');

  // A wrong client secret is refused, and does not use up the user's code.
  const wrong = configFor(DEMO_CLIENT, 'not-the-secret', client.ClientSecretBasic('not-the-secret'));
  const refused = await oauthError(client.authorizationCodeGrant(wrong, back, checks));
  assert.equal(refused.status, 401);
  assert.equal(refused.error, 'invalid_client');

  first = await client.authorizationCodeGrant(config, back, checks);
  assert.equal(first.token_type, 'bearer');
  assert.ok(first.access_token);
  assert.ok(first.refresh_token, 'a refresh token (demo-app has the refresh_token grant)');
  assert.ok(first.expires_in > 0);
  assert.deepEqual(first.scope.split(' ').sort(), ['email', 'openid']);
  const claims = first.claims();
  assert.equal(claims.iss, base);
  assert.ok(claims.aud === DEMO_CLIENT || (Array.isArray(claims.aud) && claims.aud.includes(DEMO_CLIENT)));
  assert.equal(claims.sub, userId, 'the ID token names the user who signed in');
  assert.equal(claims.nonce, checks.expectedNonce);
  assert.equal(claims.email, email);
  assert.ok(typeof claims.auth_time === 'number');
});

step('prompt=none without a session: openid-client reads login_required (with state and iss)', async () => {
  const { url, checks } = await authorizationRequest({ prompt: 'none' });
  const r = await new UserAgent(base).fetch(url);
  assert.equal(r.status, 303);
  const back = location(r);
  assert.equal(`${back.origin}${back.pathname}`, DEMO_REDIRECT, `the error goes back to the client: ${back}`);
  assert.equal(back.searchParams.get('iss'), base);
  const e = await client.authorizationCodeGrant(config, back, checks).then(
    () => assert.fail('openid-client took an error response for a code'),
    (e) => e,
  );
  assert.ok(e instanceof client.AuthorizationResponseError, describeError(e));
  assert.equal(e.error, 'login_required');
});

step('max_age: the ID token carries an auth_time openid-client accepts', async () => {
  const tokens = await signedInGrant({ max_age: '300' }, { maxAge: 300 });
  const { auth_time: authTime } = tokens.claims();
  assert.ok(Math.abs(authTime - Date.now() / 1000) < 120, `auth_time ${authTime} is the recent sign-in`);
});

step('userinfo: openid-client fetches the claims of the access token', async () => {
  const info = await client.fetchUserInfo(config, first.access_token, userId);
  assert.equal(info.sub, userId);
  assert.equal(info.email, email);
  assert.equal(info.email_verified, true);
  // Another subject than expected: openid-client refuses it.
  await refuses(client.fetchUserInfo(config, first.access_token, 'someone-else'), /"sub"/);
});

step('refresh: rotated twice; the replayed old token is refused and ends the family', async () => {
  const second = await client.refreshTokenGrant(config, first.refresh_token);
  assert.ok(second.refresh_token && second.refresh_token !== first.refresh_token, 'a new refresh token');
  assert.notEqual(second.access_token, first.access_token);
  if (second.id_token) assert.equal(second.claims().sub, userId);
  const third = await client.refreshTokenGrant(config, second.refresh_token);
  assert.ok(third.refresh_token && third.refresh_token !== second.refresh_token);
  assert.equal((await client.fetchUserInfo(config, third.access_token, userId)).sub, userId);

  const replay = await oauthError(client.refreshTokenGrant(config, first.refresh_token));
  assert.equal(replay.status, 400);
  assert.equal(replay.error, 'invalid_grant', 'the rotated-out refresh token is refused');
  const newest = await oauthError(client.refreshTokenGrant(config, third.refresh_token));
  assert.equal(newest.error, 'invalid_grant', 'the replay revoked the family: the newest one is refused too');
  const info = await client.fetchUserInfo(config, third.access_token, userId).then(
    () => assert.fail('userinfo accepted an access token of a revoked family'),
    (e) => e,
  );
  assert.ok(info instanceof client.WWWAuthenticateChallengeError, describeError(info));
  assert.equal(info.status, 401);
});

step('a replayed authorization code is refused (and ends its grant)', async () => {
  const { url, checks } = await authorizationRequest();
  const back = callback(await user.fetch(url), checks); // signed in: straight back
  const tokens = await client.authorizationCodeGrant(config, back, checks);
  const replay = await oauthError(client.authorizationCodeGrant(config, back, checks));
  assert.equal(replay.error, 'invalid_grant');
  const refresh = await oauthError(client.refreshTokenGrant(config, tokens.refresh_token));
  assert.equal(refresh.error, 'invalid_grant', 'the tokens of a replayed code stop working');
});

step('introspection and revocation through openid-client', async () => {
  const tokens = await signedInGrant();
  const access = await client.tokenIntrospection(config, tokens.access_token);
  assert.equal(access.active, true, JSON.stringify(access));
  assert.equal(access.token_type, 'access_token');
  assert.equal(access.client_id, DEMO_CLIENT);
  assert.equal(access.sub, userId);
  assert.deepEqual(access.scope.split(' ').sort(), ['email', 'openid']);
  assert.equal(access.iss, base);
  assert.ok(access.aud === DEMO_CLIENT || (Array.isArray(access.aud) && access.aud.includes(DEMO_CLIENT)), `aud: ${access.aud}`);
  assert.ok(typeof access.exp === 'number' && typeof access.iat === 'number' && access.exp > access.iat);
  assert.ok(typeof access.jti === 'string' && access.jti.length > 0);

  const refresh = await client.tokenIntrospection(config, tokens.refresh_token, { token_type_hint: 'refresh_token' });
  assert.equal(refresh.active, true, JSON.stringify(refresh));
  assert.equal(refresh.token_type, 'refresh_token');
  assert.equal(refresh.client_id, DEMO_CLIENT);
  assert.equal(refresh.sub, userId);

  assert.deepEqual(await client.tokenIntrospection(config, 'not-a-token-we-issued'), { active: false });

  // A public client may not introspect.
  const spa = configFor(SPA_CLIENT, undefined, client.None());
  const publicRefused = await oauthError(client.tokenIntrospection(spa, tokens.access_token));
  assert.equal(publicRefused.status, 401);
  assert.equal(publicRefused.error, 'invalid_client');
  // Nor may a wrong secret.
  const wrong = configFor(DEMO_CLIENT, 'not-the-secret', client.ClientSecretBasic('not-the-secret'));
  assert.equal((await oauthError(client.tokenIntrospection(wrong, tokens.access_token))).error, 'invalid_client');

  await client.tokenRevocation(config, tokens.refresh_token);
  assert.deepEqual(await client.tokenIntrospection(config, tokens.access_token), { active: false },
    'the revoked grant\'s access token is inactive');
  assert.deepEqual(await client.tokenIntrospection(config, tokens.refresh_token), { active: false });
  assert.equal((await oauthError(client.refreshTokenGrant(config, tokens.refresh_token))).error, 'invalid_grant');
  // Revoking again, or an unknown token, is still 200 (RFC 7009 2.2).
  await client.tokenRevocation(config, tokens.refresh_token);
  await client.tokenRevocation(config, 'not-a-token-we-issued');
});

step('revoking an access token ends its grant', async () => {
  const tokens = await signedInGrant();
  await client.tokenRevocation(config, tokens.access_token, { token_type_hint: 'access_token' });
  assert.deepEqual(await client.tokenIntrospection(config, tokens.access_token), { active: false });
  assert.equal((await oauthError(client.refreshTokenGrant(config, tokens.refresh_token))).error, 'invalid_grant');
});

step('client credentials for the m2m client (client_secret_post)', async () => {
  const m2m = await client.discovery(new URL(base), M2M_CLIENT, M2M_SECRET, client.ClientSecretPost(M2M_SECRET), {
    execute: [client.allowInsecureRequests],
    [client.customFetch]: customFetch,
  });
  const narrow = await client.clientCredentialsGrant(m2m, { scope: 'reports:read' });
  assert.equal(narrow.token_type, 'bearer');
  assert.equal(narrow.scope, 'reports:read');
  assert.ok(narrow.expires_in > 0);
  assert.equal(narrow.refresh_token, undefined, 'no refresh token for client credentials');
  assert.equal(narrow.id_token, undefined, 'no ID token for client credentials');
  const all = await client.clientCredentialsGrant(m2m);
  assert.deepEqual(all.scope.split(' ').sort(), ['reports:read', 'reports:write']);

  const introspected = await client.tokenIntrospection(m2m, narrow.access_token);
  assert.equal(introspected.active, true, JSON.stringify(introspected));
  assert.equal(introspected.client_id, M2M_CLIENT);
  assert.equal(introspected.scope, 'reports:read');

  assert.equal((await oauthError(client.clientCredentialsGrant(m2m, { scope: 'reports:delete' }))).error, 'invalid_scope');
  const wrong = configFor(M2M_CLIENT, 'not-the-secret', client.ClientSecretPost('not-the-secret'));
  const refused = await oauthError(client.clientCredentialsGrant(wrong));
  assert.equal(refused.status, 401);
  assert.equal(refused.error, 'invalid_client');
  // The web app has no client_credentials grant.
  assert.equal((await oauthError(client.clientCredentialsGrant(config))).error, 'unauthorized_client');
});

step('end-session with id_token_hint: back to the registered address with state, session over', async () => {
  const tokens = await signedInGrant();
  const cookie = user.session();
  assert.ok(cookie);

  // An unregistered post_logout_redirect_uri: an error page, no redirect, still signed in.
  const elsewhere = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: 'http://localhost:3000/elsewhere',
  });
  const refused = await user.fetch(elsewhere);
  assert.equal(refused.status, 400, `an unregistered post_logout_redirect_uri is refused: ${await refused.text()}`);
  assert.equal(refused.headers.get('location'), null, 'and not redirected to');
  await expectSignedIn(user.cookies);

  const state = client.randomState();
  const url = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: DEMO_POST_LOGOUT,
    state,
  });
  const r = await user.fetch(url);
  assert.equal(r.status, 303, `end-session answers 303: ${await r.text()}`);
  assert.equal(r.headers.get('location'), `${DEMO_POST_LOGOUT}?state=${state}`);
  assert.equal(user.session(), undefined, 'the session cookie is cleared');
  await expectSignedIn(new Map([[SESSION_COOKIE, cookie]]), false); // replaying it: 401
  assert.equal((await oauthError(client.refreshTokenGrant(config, tokens.refresh_token))).error, 'invalid_grant',
    'the ended session\'s grants end with it');
});

step('end-session without a hint: the sign-out page asks, then back to the registered address', async () => {
  const signedIn = await user.submit(await user.page('/sign-in'), '/sign-in', { email, password });
  assert.equal(signedIn.status, 303);
  const cookie = user.session();
  assert.ok(cookie, 'signed in again');

  const state = client.randomState();
  const url = client.buildEndSessionUrl(config, { post_logout_redirect_uri: DEMO_POST_LOGOUT, state });
  const r = await user.fetch(url);
  assert.equal(r.status, 303, `end-session answers 303: ${await r.text()}`);
  const confirm = location(r);
  assert.equal(confirm.pathname, '/sign-out');
  assert.equal(confirm.searchParams.get('client_id'), DEMO_CLIENT);
  assert.equal(confirm.searchParams.get('post_logout_redirect_uri'), DEMO_POST_LOGOUT);
  assert.equal(confirm.searchParams.get('state'), state);
  await expectSignedIn(user.cookies); // nothing happened yet

  const page = await user.page(confirm);
  await expectSignedIn(user.cookies); // showing the page signs nobody out
  const out = await user.submit(page, '/sign-out');
  assert.equal(out.status, 303, `the sign-out form answers 303: ${await out.text()}`);
  assert.equal(out.headers.get('location'), `${DEMO_POST_LOGOUT}?state=${state}`);
  assert.equal(user.session(), undefined, 'the session cookie is cleared');
  await expectSignedIn(new Map([[SESSION_COOKIE, cookie]]), false);
});
