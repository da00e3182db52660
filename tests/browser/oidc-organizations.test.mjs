// Organization claims, judged by a certified relying party: `openid-client` (v6) against
// `vestibule dev` serving examples/quickstart with organizations turned on. A user (fetch with a
// cookie jar, through the hosted pages) creates two organizations; openid-client's ID token,
// userinfo and the access token carry `org_id`, `org_slug`, `org_role` and `org_permissions`
// for the active one; switching it on `/organizations` changes them in the next grant, and the
// `organization` authorize parameter picks one for that grant alone.
//
// Prerequisites, binary and temp dir: as in oidc-interop.test.mjs.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  REPO,
  UserAgent,
  describeError,
  describeExchanges,
  failIfMissing,
  forms,
  prerequisites,
  recordingFetch,
  startDev,
} from './support.mjs';

const { missing, skipReason, modules } = await prerequisites('OpenID organizations test', {
  packages: ['openid-client'],
});
const client = modules['openid-client'];

const DEMO_CLIENT = 'demo-app';
const DEMO_SECRET = 'quickstart-demo-secret-change-me';
const DEMO_REDIRECT = 'http://localhost:3000/callback';

// The quickstart Vestibule with organizations on (and the creator's role as it is by default).
const VESTIBULE = `${readFileSync(join(REPO, 'examples/quickstart/vestibule.yaml'), 'utf8').trimEnd()}
  organizations:
    enabled: true
`;

let dev;
let base;
let failed = false;
const exchanges = [];
const customFetch = recordingFetch(exchanges);
const email = `orgs-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
const password = 'organizations passphrase, long enough';
let ua;
let config;
let userId;

before(async () => {
  if (skipReason || missing.length) return;
  dev = await startDev({ label: 'oidc-orgs', files: { 'vestibule.yaml': VESTIBULE } });
  base = dev.base;
});

after(async () => {
  await dev?.stop({ failed });
});

function step(name, body) {
  test(name, { skip: skipReason, timeout: 30_000 }, async () => {
    failIfMissing(missing);
    if (!dev) assert.fail('the server did not start (see before)');
    const seen = exchanges.length;
    try {
      await body();
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

/** The claims of a JWT, unverified: openid-client validated the ID token; this reads the access
 * token, which a client treats as opaque and its API verifies. */
function payload(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

/** One grant for demo-app through openid-client: authorize (signed in), code, tokens. */
async function grant(extra = {}) {
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
  const r = await ua.fetch(url);
  assert.equal(r.status, 303, 'authorize answers 303');
  const back = location(r);
  assert.equal(`${back.origin}${back.pathname}`, DEMO_REDIRECT, `back at the client: ${back}`);
  return client.authorizationCodeGrant(config, back, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
}

/** The organization claims of a token response: ID token (validated), access token, userinfo. */
async function organizationClaims(tokens) {
  const id = tokens.claims();
  const at = payload(tokens.access_token);
  const info = await client.fetchUserInfo(config, tokens.access_token, userId);
  const pick = (c) => ({ id: c.org_id, slug: c.org_slug, role: c.org_role, permissions: c.org_permissions });
  assert.deepEqual(pick(at), pick(id), 'the access token speaks for the same organization');
  assert.deepEqual(pick(info), pick(id), 'and so does userinfo');
  return pick(id);
}

step('sign up, and create two organizations on the hosted pages', async () => {
  config = await client.discovery(new URL(base), DEMO_CLIENT, DEMO_SECRET, client.ClientSecretBasic(DEMO_SECRET), {
    execute: [client.allowInsecureRequests],
    [client.customFetch]: customFetch,
  });
  ua = new UserAgent(base);
  const created = await ua.submit(await ua.page('/sign-up'), '/sign-up', { email, password });
  assert.equal(created.status, 303);
  const code = await dev.verificationCode(email);
  const verified = await ua.submit(await ua.page(location(created)), '/verify-email', { code });
  assert.equal(verified.status, 303, 'verified and signed in');
  for (const [name, slug] of [['Acme', 'acme'], ['Globex', 'globex']]) {
    const r = await ua.submit(await ua.page('/organizations'), '/organizations', { name, slug });
    assert.equal(r.status, 303, `created ${slug}: ${await r.text()}`);
    assert.equal(location(r).pathname, `/organizations/${slug}`);
  }
  const session = await (await ua.fetch('/session')).json();
  userId = session.userId;
  assert.equal(session.orgSlug, 'globex', 'the organization created last is the active one');
});

let globexId;

step('the tokens carry the active organization; openid-client accepts the ID token', async () => {
  const org = await organizationClaims(await grant());
  assert.equal(org.slug, 'globex');
  assert.equal(org.role, 'admin', "the creator's role");
  assert.deepEqual(org.permissions, ['org:invitations:manage', 'org:members:manage', 'org:settings:manage']);
  assert.match(org.id, /^[0-9a-f]{32}$/);
  globexId = org.id;
});

step('switching the organization on /organizations changes the claims of the next grant', async () => {
  const list = await ua.page('/organizations');
  const form = forms(list).find((f) => f.action === '/organizations/switch' && f.fields.organization_id);
  assert.ok(form, 'a switch button for the other organization');
  assert.notEqual(form.fields.organization_id, globexId);
  const r = await ua.submit(list, '/organizations/switch', { organization_id: form.fields.organization_id });
  assert.equal(r.status, 303);
  const org = await organizationClaims(await grant());
  assert.equal(org.slug, 'acme');
  assert.equal(org.id, form.fields.organization_id);
});

step('the organization authorize parameter picks it for that grant (by slug or id)', async () => {
  assert.equal((await organizationClaims(await grant({ organization: 'globex' }))).slug, 'globex');
  assert.equal((await organizationClaims(await grant({ organization: globexId }))).slug, 'globex');
  const session = await (await ua.fetch('/session')).json();
  assert.equal(session.orgSlug, 'acme', 'for those grants only: the session still works in acme');
});

step('an organization the user is not in: openid-client reads access_denied', async () => {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: DEMO_REDIRECT,
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    organization: 'initech',
  });
  const back = location(await ua.fetch(url));
  const e = await client
    .authorizationCodeGrant(config, back, { pkceCodeVerifier: verifier, expectedState: state })
    .then(
      () => assert.fail('openid-client took an error response for a code'),
      (e) => e,
    );
  assert.ok(e instanceof client.AuthorizationResponseError, describeError(e));
  assert.equal(e.error, 'access_denied');
});
