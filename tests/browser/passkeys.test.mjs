// Passkeys in a real browser: Debian's chromium driven by playwright-core, with Chrome's virtual
// authenticator (CDP `WebAuthn.addVirtualAuthenticator`) standing in for a phone or security key,
// against `vestibule dev` with an MfaPolicy that enables passkeys and passwordless sign-in.
//
// A user registers a passkey on /account, signs in with it alone (and the ID-token-facing session
// says hwk + mfa), then uses it as the second factor after a password. Then what must fail:
// a bogus signature, no user presence and no user verification (CDP `setResponseOverrideBits`),
// an answer made on another origin, a credential registered on another origin, a replayed
// answer, and a credential that was removed (SECURITY 29-33).
//
// Prerequisites, binary and temp dir: as in auth-flow.test.mjs (see support.mjs).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { SESSION_COOKIE, failIfMissing, launchChromium, prerequisites, startDev } from './support.mjs';

const { missing, skipReason, modules } = await prerequisites('passkey test', {
  browser: true,
  packages: ['playwright-core'],
});
const chromium = modules['playwright-core']?.chromium;

const POLICY = `apiVersion: vestibule.dev/v1alpha1
kind: MfaPolicy
metadata:
  name: quickstart
spec:
  enforcement: optional
  factors:
    totp:
      enabled: true
    webauthn:
      enabled: true
      passwordless: true
    backupCodes:
      enabled: true
`;

let dev;
let other; // a second server on another port: another origin for the same RP id
let browser;
let failed = false;

before(async () => {
  if (skipReason || missing.length) return;
  dev = await startDev({ label: 'passkeys', files: { 'mfa-policy.yaml': POLICY } });
  other = await startDev({ label: 'passkeys-other', files: { 'mfa-policy.yaml': POLICY } });
  browser = await launchChromium(chromium);
});

after(async () => {
  await browser?.close().catch(() => {});
  await dev?.stop({ failed });
  await other?.stop({ failed });
});

async function authenticator(page, overrides = {}) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
      ...overrides,
    },
  });
  return { cdp, authenticatorId };
}

async function signUp(server, page, email, password) {
  await page.goto(`${server.base}/sign-up`);
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL((u) => u.pathname === '/verify-email');
  const code = await server.verificationCode(email);
  await page.getByLabel('Verification code').pressSequentially(code);
  await page.getByRole('button', { name: 'Verify', exact: true }).click();
  await page.waitForURL((u) => u.pathname === '/account');
}

async function registerPasskey(page, name) {
  await page.getByLabel('Name for the new passkey').fill(name);
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await page.waitForURL((u) => u.search.includes('notice=passkey-added'));
  await page.locator(`[data-part="passkey"] >> text=${name}`).first().waitFor();
}

async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL((u) => u.pathname === '/sign-in');
}

async function session(server, context) {
  const cookie = (await context.cookies(server.base)).find((c) => c.name === SESSION_COOKIE);
  if (!cookie) return null;
  const r = await fetch(`${server.base}/session`, {
    headers: { cookie: `${SESSION_COOKIE}=${cookie.value}` },
  });
  return r.status === 200 ? r.json() : null;
}

/** Posts a form from inside the page (same origin, with the page's CSRF cookie). */
function postFromPage(page, url, fields) {
  return page.evaluate(
    async ({ url, fields }) => {
      const r = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields),
      });
      return { status: r.status, body: await r.json() };
    },
    { url, fields },
  );
}

/** The page's CSRF token. */
function csrf(page) {
  return page.locator('input[name="csrf_token"]').first().inputValue();
}

test('register a passkey, sign in with it alone and as the second factor; forged answers are refused', {
  skip: skipReason,
  timeout: 240_000,
}, async () => {
  try {
    failIfMissing(missing);
    const email = `passkey-${Date.now()}@example.com`;
    const password = 'correct horse battery staple, passkey edition';
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const { cdp, authenticatorId } = await authenticator(page);

    // 1. Register a passkey on /account (a fresh session needs no step-up).
    await signUp(dev, page, email, password);
    await registerPasskey(page, 'Virtual key');
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1, 'one credential on the authenticator');
    assert.equal(credentials[0].isResidentCredential, true, 'discoverable (resident) credential');
    assert.equal(credentials[0].rpId, 'localhost', 'RP id from the issuer');
    const notice = await dev.waitForMail(email, /passkey/i);
    assert.match(notice.message.subject, /passkey was added/);

    // A passkey-only account gets backup codes too (recovery when the authenticator is lost).
    await page.getByRole('button', { name: 'Create backup codes' }).click();
    const codes = await page.locator('[data-part="mfa.backup-codes"] code').allInnerTexts();
    assert.equal(codes.length, 10, 'backupCodes.count codes, shown once');
    await page.getByRole('link', { name: 'Continue' }).click();
    await page.waitForURL((u) => u.pathname === '/account');

    // Registering the same authenticator again is refused by excludeCredentials (SECURITY 32).
    await page.getByLabel('Name for the new passkey').fill('Again');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.locator('[data-part="error"]').waitFor();
    assert.equal((await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials.length, 1);

    // 2. Passwordless, conditional UI: the sign-in page offers the passkey in the email field's
    //    autofill; the virtual authenticator picks it at once, so signing out lands back on
    //    /account without a click.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((u) => u.pathname === '/account');
    assert.equal((await session(dev, context)).email, email, 'signed in through conditional UI');

    // From here on conditional UI is off, so each step chooses how to sign in.
    await page.addInitScript(() => {
      PublicKeyCredential.isConditionalMediationAvailable = async () => false;
    });

    // 3. Passwordless with the button: "Sign in with a passkey" on /sign-in, no password.
    await signOut(page);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.waitForURL((u) => u.pathname === '/account');
    const who = await session(dev, context);
    assert.equal(who.email, email);

    // 4. As the second factor after the password.
    await signOut(page);
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL((u) => u.pathname === '/sign-in/factor');
    assert.equal(await session(dev, context), null, 'no session before the second factor');
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await page.waitForURL((u) => u.pathname === '/account');

    // 5. Forged answers (SECURITY 31): each is refused and signs nobody in.
    await signOut(page);
    for (const [bits, what] of [
      [{ isBogusSignature: true }, 'bogus signature'],
      [{ isBadUP: true }, 'no user presence'],
      [{ isBadUV: true }, 'no user verification'],
    ]) {
      await cdp.send('WebAuthn.setResponseOverrideBits', { authenticatorId, ...bits });
      await page.goto(`${dev.base}/sign-in`);
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      await page.locator('[data-part="error"]').waitFor();
      assert.equal(new URL(page.url()).pathname, '/sign-in', what);
      assert.equal(await session(dev, context), null, `${what}: no session`);
      await cdp.send('WebAuthn.setResponseOverrideBits', {
        authenticatorId, isBogusSignature: false, isBadUP: false, isBadUV: false,
      });
    }

    // 6. A replayed answer (SECURITY 29): the challenge is used up by its first answer. The
    //    browser's answer is captured on its way to the server and posted again.
    let captured = null;
    await page.route('**/sign-in/passkey', async (route) => {
      captured = route.request().postData();
      await route.continue();
    });
    await page.goto(`${dev.base}/sign-in`);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.waitForURL((u) => u.pathname === '/account');
    await page.unroute('**/sign-in/passkey');
    assert.ok(captured, 'the answer was captured');
    await signOut(page);
    const replayed = await postFromPage(page, '/sign-in/passkey', Object.fromEntries(new URLSearchParams(captured)));
    assert.equal(replayed.status, 422, `a used challenge answers once: ${JSON.stringify(replayed)}`);
    assert.equal(await session(dev, context), null);

    // 7. An answer made on another origin (same RP id, another port) is refused (SECURITY 30):
    //    `dev`'s challenge is handed to a ceremony on `other`'s sign-in page, and the answer it
    //    produces (its clientData names `other`'s origin) is posted to `dev`.
    const token = await csrf(page);
    const devStart = await postFromPage(page, '/sign-in/passkey/options', { csrf_token: token });
    assert.equal(devStart.status, 200);
    const foreignPage = await context.newPage();
    await foreignPage.addInitScript(() => {
      PublicKeyCredential.isConditionalMediationAvailable = async () => false;
    });
    let foreign = null;
    await foreignPage.route('**/sign-in/passkey/options', (route) =>
      route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(devStart.body) }));
    await foreignPage.route('**/sign-in/passkey', async (route) => {
      foreign = new URLSearchParams(route.request().postData()).get('credential');
      await route.fulfill({ status: 200, contentType: 'application/json', body: '{"error":"captured"}' });
    });
    const foreignAuthenticator = await authenticator(foreignPage);
    for (const credential of (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials) {
      await foreignAuthenticator.cdp.send('WebAuthn.addCredential', {
        authenticatorId: foreignAuthenticator.authenticatorId,
        credential,
      });
    }
    await foreignPage.goto(`${other.base}/sign-in`);
    await foreignPage.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await foreignPage.locator('[data-part="error"]').waitFor();
    await foreignPage.close();
    assert.ok(foreign, 'the foreign answer was captured');
    assert.match(Buffer.from(JSON.parse(foreign).response.clientDataJSON, 'base64url').toString(), new RegExp(other.base));
    const crossed = await postFromPage(page, '/sign-in/passkey', {
      csrf_token: token, ceremony: devStart.body.ceremony, credential: foreign,
    });
    assert.equal(crossed.status, 422, `an answer whose clientData names another origin: ${JSON.stringify(crossed)}`);
    assert.equal(await session(dev, context), null);

    // 8. Removing the passkey (after step-up with it) revokes it (SECURITY 33).
    await page.goto(`${dev.base}/sign-in`);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.waitForURL((u) => u.pathname === '/account');
    await page.getByRole('button', { name: 'Remove', exact: true }).click();
    await page.waitForURL((u) => u.search.includes('notice=passkey-removed'));
    await signOut(page);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.locator('[data-part="error"]').waitFor();
    assert.equal(await session(dev, context), null, 'a removed passkey signs nobody in');

    // 9. A credential registered on another origin (`other`, same RP id) signs nobody in here
    //    (SECURITY 30): a fresh browser whose authenticator holds only that credential.
    const foreignContext = await browser.newContext();
    const foreignUser = await foreignContext.newPage();
    foreignUser.setDefaultTimeout(20_000);
    await authenticator(foreignUser);
    await foreignUser.addInitScript(() => {
      PublicKeyCredential.isConditionalMediationAvailable = async () => false;
    });
    await signUp(other, foreignUser, email, password);
    await registerPasskey(foreignUser, 'Registered elsewhere');
    await foreignUser.goto(`${dev.base}/sign-in`);
    await foreignUser.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await foreignUser.locator('[data-part="error"]').waitFor();
    assert.equal(new URL(foreignUser.url()).pathname, '/sign-in');
    assert.equal(await session(dev, foreignContext), null, 'a credential registered on another origin');
    await foreignContext.close();

    await context.close();
  } catch (e) {
    failed = true;
    console.log(dev?.logTail?.() ?? '');
    throw e;
  }
});
