// Real-browser end-to-end test of the hosted pages: Debian's chromium driven by playwright-core,
// against `vestibule dev` serving a copy of examples/quickstart on a free localhost port.
//
// It builds nothing: the binary comes from VESTIBULE_BIN (default ../../target/debug/vestibule,
// relative to this file), so run `cargo build` first. Chromium (/usr/bin/chromium) and
// node_modules come from scripts/browser-deps. When either is missing the test is skipped with
// a notice, or fails when VESTIBULE_STRICT=1 (CI), so a green CI run means it really ran.
//
// The temp dir (server log, SQLite data, screenshot of /account) is kept and its path printed;
// set VESTIBULE_BROWSER_CLEANUP=1 to remove it after a passing run. The server start, the
// prerequisite checks and the dev mailbox helpers are shared with the other tests (support.mjs).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';

import { SESSION_COOKIE, failIfMissing, launchChromium, prerequisites, startDev } from './support.mjs';

const INVALID_CREDENTIALS = 'Incorrect email or password.';

// ---------------------------------------------------------------------------------------------
// Prerequisites: skip (with a notice) or, in strict mode, fail.

const { missing, skipReason, modules } = await prerequisites('browser end-to-end test', {
  browser: true,
  packages: ['playwright-core'],
});
const chromium = modules['playwright-core']?.chromium;

// ---------------------------------------------------------------------------------------------
// The server under test (support.mjs starts it on a temp copy of examples/quickstart).

let dev; // the running `vestibule dev`
let work; // temp dir: config copy, data dir, server log, screenshot
let serverLog; // path
let base; // http://localhost:PORT
let browser;

before(async () => {
  if (skipReason) return;
  if (missing.length) return; // strict: the test below reports it as a failure
  dev = await startDev({ label: 'browser' });
  ({ work, base } = dev);
  serverLog = dev.logPath;
  browser = await launchChromium(chromium);
});

after(async () => {
  await browser?.close().catch(() => {});
  await dev?.stop({ failed });
});

// ---------------------------------------------------------------------------------------------
// Helpers that act as the user would, or read the dev mailbox.

let failed = false;

function logTail() {
  return dev ? dev.logTail() : '(no server log)';
}

function mailbox() {
  return dev.mailbox();
}

/** The newest message to `to` whose text matches `pattern`, waiting briefly for it. */
function waitForMail(to, pattern, options) {
  return dev.waitForMail(to, pattern, options);
}

function path(page) {
  return new URL(page.url()).pathname;
}

async function signIn(page, email, password) {
  await page.goto(`${base}/sign-in`);
  assert.equal(path(page), '/sign-in', 'a signed-out browser sees the sign-in page');
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

async function expectAccount(page, email) {
  await page.waitForURL((u) => u.pathname === '/account');
  await assertText(page.locator('[data-part="account-email"] strong'), email);
  assert.match(await page.locator('[data-part="account-email"]').innerText(), /Signed in as/);
}

async function assertText(locator, expected) {
  await locator.first().waitFor();
  assert.equal((await locator.first().innerText()).trim(), expected);
}

async function sessionCookie(context) {
  return (await context.cookies(base)).find((c) => c.name === SESSION_COOKIE);
}

// ---------------------------------------------------------------------------------------------

test('sign up, verify, sign out/in, reset password, and revoke another browser\'s session', {
  skip: skipReason,
  timeout: 180_000,
}, async (t) => {
  try {
    failIfMissing(missing);
    const email = `e2e-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
    const firstPassword = 'correct horse battery staple, mostly lowercase';
    const newPassword = 'a different passphrase for after the reset, 2nd edition';

    const ctxA = await browser.newContext({ viewport: { width: 1000, height: 800 } });
    const page = await ctxA.newPage();
    page.setDefaultTimeout(20_000);
    page.setDefaultNavigationTimeout(30_000);

    // 1. Sign up with a fresh address and a long passphrase.
    await page.goto(`${base}/sign-up`);
    assert.equal(await page.locator('h1').innerText(), 'Create your account');
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Password').fill(firstPassword);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL((u) => u.pathname === '/verify-email');
    assert.equal(new URL(page.url()).searchParams.get('email'), email);
    assert.equal(await sessionCookie(ctxA), undefined, 'no session before the address is verified');

    // 2. The code from the dev mailbox, typed on the verify page.
    const verification = await waitForMail(email, /\b\d{6}\b/);
    const code = (verification.message.text.match(/^\s+(\d{6})\s*$/m) ?? verification.message.text.match(/\b(\d{6})\b/))[1];
    assert.match(verification.message.text, /\/verify-email\?token=[A-Za-z0-9_-]{43}/, 'the email also carries a link');
    await page.getByLabel('Verification code').pressSequentially(code);
    await page.getByRole('button', { name: 'Verify', exact: true }).click();

    // 3. Signed in on /account, with a session cookie carrying the flags SECURITY.md requires.
    await expectAccount(page, email);
    const cookie = await sessionCookie(ctxA);
    assert.ok(cookie, `the browser stored ${SESSION_COOKIE}`);
    assert.equal(cookie.secure, true, 'Secure');
    assert.equal(cookie.httpOnly, true, 'HttpOnly');
    assert.equal(cookie.sameSite, 'Lax', 'SameSite=Lax');
    assert.equal(cookie.path, '/', 'Path=/');
    assert.equal(cookie.domain, 'localhost', 'host-only (no Domain attribute)');
    assert.ok(!(await page.evaluate(() => document.cookie)).includes(SESSION_COOKIE), 'not readable from page scripts');

    // 4. Sign out: back to /sign-in, the cookie is gone, and the session is dead server-side
    //    (replaying the old cookie does not get in).
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((u) => u.pathname === '/sign-in');
    assert.equal(await sessionCookie(ctxA), undefined, 'sign-out clears the cookie');
    await ctxA.addCookies([{ ...cookie }]);
    await page.goto(`${base}/account`);
    assert.equal(path(page), '/sign-in', 'a signed-out session cookie no longer opens /account');
    await ctxA.clearCookies({ name: SESSION_COOKIE });

    // 5. Sign in again with the same credentials.
    await signIn(page, email, firstPassword);
    await expectAccount(page, email);

    // 6. Forgot password: signed out, from the sign-in page's link.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((u) => u.pathname === '/sign-in');
    const mailsBefore = (await mailbox()).length;
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.waitForURL((u) => u.pathname === '/forgot-password');
    await page.getByLabel('Email address').fill(email);
    await page.getByRole('button', { name: 'Send reset link' }).click();
    await page.locator('[data-part="notice"]').waitFor();
    assert.match(await page.locator('[data-part="notice"]').innerText(), /we sent a link to reset its password/);

    // 7. Open the reset link from the mailbox and set a new password.
    const reset = await waitForMail(email, /\/reset-password\?token=/, { after: mailsBefore });
    const link = reset.message.text.match(/https?:\/\/\S+\/reset-password\?token=[A-Za-z0-9_-]+/)[0];
    assert.equal(new URL(link).origin, base, 'the reset link points at this server');
    await page.goto(link);
    assert.equal(await page.locator('h1').innerText(), 'Choose a new password');
    await page.getByLabel('New password').fill(newPassword);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.getByRole('link', { name: 'Sign in with your new password' }).waitFor();
    assert.equal(await page.locator('h1').innerText(), 'Password changed');
    await page.getByRole('link', { name: 'Sign in with your new password' }).click();
    await page.waitForURL((u) => u.pathname === '/sign-in');

    // 8. The old password is refused; the new one works.
    await signIn(page, email, firstPassword);
    await assertText(page.locator('[data-part="error"]'), INVALID_CREDENTIALS);
    assert.equal(path(page), '/sign-in');
    assert.equal(await sessionCookie(ctxA), undefined, 'a refused sign-in sets no session');
    await signIn(page, email, newPassword);
    await expectAccount(page, email);

    // 9. A second, separate browser signs in too.
    const ctxB = await browser.newContext({ viewport: { width: 1000, height: 800 } });
    const pageB = await ctxB.newPage();
    pageB.setDefaultTimeout(20_000);
    await signIn(pageB, email, newPassword);
    await expectAccount(pageB, email);
    assert.notEqual((await sessionCookie(ctxB)).value, (await sessionCookie(ctxA)).value);

    // 10. The first browser sees both sessions and revokes the other one.
    await page.reload();
    const sessions = page.locator('[data-part="session"]');
    assert.equal(await sessions.count(), 2, 'two sessions listed');
    assert.equal(await page.locator('[data-part="session"][data-current="true"]').count(), 1);
    const other = page.locator('[data-part="session"][data-current="false"]');
    assert.equal(await other.count(), 1);
    assert.equal(await page.locator('[data-part="session"][data-current="true"]').getByRole('button', { name: 'Revoke' }).count(), 0,
      'no Revoke button on this browser\'s own session');

    const shot = join(work, 'account.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`screenshot of /account (two sessions): ${shot}`);
    t.diagnostic(`screenshot: ${shot}`);

    await other.getByRole('button', { name: 'Revoke' }).click();
    await page.waitForURL((u) => u.pathname === '/account' && u.searchParams.get('notice') === 'session-revoked');
    await assertText(page.locator('[data-part="notice"]'), 'The session was signed out.');
    assert.equal(await sessions.count(), 1, 'one session left');
    assert.equal(await page.locator('[data-part="session"][data-current="true"]').count(), 1, 'and it is this one');

    // 11. The second browser is signed out: /account sends it to /sign-in.
    await pageB.reload();
    await pageB.waitForURL((u) => u.pathname === '/sign-in');
    assert.equal(path(pageB), '/sign-in');
    assert.equal(new URL(pageB.url()).searchParams.get('redirect_url'), '/account');
    // ...while the first browser still is signed in.
    await page.goto(`${base}/account`);
    await expectAccount(page, email);

    await ctxB.close();
    await ctxA.close();
  } catch (e) {
    failed = true;
    if (serverLog) console.log(`server log (tail) from ${serverLog}:\n${logTail()}`);
    throw e;
  }
});
