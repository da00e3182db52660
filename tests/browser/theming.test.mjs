// The theming contract in a real browser: Debian's chromium driven by playwright-core renders
// sign-in, sign-up, verify and account for examples/quickstart and examples/branded-theme, in the
// light and the dark appearance, saves screenshots under target/theme-screenshots/, and checks
// the computed styles against the themes' tokens: the primary button's background is the
// theme's primary color, dark mode changes the page background, and the branded theme's
// whole-component override of the sign-in form replaced the built-in one and still signs in, with
// the keyboard alone.
//
// Prerequisites, the server start and the mailbox helpers come from support.mjs (run
// `cargo build` first); missing tools skip with a notice, or fail under VESTIBULE_STRICT=1.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { REPO, failIfMissing, launchChromium, prerequisites, startDev } from './support.mjs';

const { missing, skipReason, modules } = await prerequisites('theming browser test', {
  browser: true,
  packages: ['playwright-core'],
});
const chromium = modules['playwright-core']?.chromium;

const SHOTS = join(REPO, 'target', 'theme-screenshots');
const PASSWORD = 'correct horse battery staple, themed edition';

let browser;
let failed = false;
const servers = [];

before(async () => {
  if (skipReason || missing.length) return;
  await mkdir(SHOTS, { recursive: true });
  browser = await launchChromium(chromium);
});

after(async () => {
  await browser?.close().catch(() => {});
  for (const dev of servers) await dev.stop({ failed });
});

/** `#rrggbb` → the `rgb(r, g, b)` a computed style reports. */
function rgb(hex) {
  const n = (i) => parseInt(hex.slice(1 + i * 2, 3 + i * 2), 16);
  return `rgb(${n(0)}, ${n(1)}, ${n(2)})`;
}

/** A color token of the example's Theme, from its YAML (`primary: "#4f46e5"` under `section`). */
async function token(example, section, name) {
  const yaml = await readFile(join(REPO, 'examples', example, 'theme.yaml'), 'utf8');
  const block = yaml.split(new RegExp(`^\\s*${section}:\\s*$`, 'm'))[1] ?? '';
  const found = block.match(new RegExp(`^\\s+${name}:\\s*"(#[0-9a-fA-F]{6})"`, 'm'));
  return found?.[1];
}

async function style(page, selector, property) {
  return page.locator(selector).first().evaluate((el, p) => getComputedStyle(el)[p], property);
}

async function shoot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Pages of `example` in one appearance: screenshots, token checks, and a user through them. */
async function tour(dev, example, appearance) {
  const context = await browser.newContext({ colorScheme: appearance, viewport: { width: 1100, height: 800 } });
  // Only the server under test: a theme's web font would be fetched from the internet.
  await context.route((url) => !url.href.startsWith(dev.base), (route) => route.abort());
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const base = dev.base;
  const name = (p) => `${example}-${appearance}-${p}`;

  await page.goto(`${base}/sign-in`);
  await shoot(page, name('sign-in'));
  const background = await style(page, 'body', 'backgroundColor');
  const button = await style(page, 'form[action="/sign-in"] button[type="submit"]', 'backgroundColor');

  await page.goto(`${base}/sign-up`);
  await shoot(page, name('sign-up'));
  const email = `theme-${appearance}-${Date.now()}@example.com`;
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL((u) => u.pathname === '/verify-email');
  await shoot(page, name('verify'));
  const code = await dev.verificationCode(email);
  await page.getByLabel('Verification code').pressSequentially(code);
  await page.getByRole('button', { name: 'Verify', exact: true }).click();
  await page.waitForURL((u) => u.pathname === '/account');
  await shoot(page, name('account'));

  // Signed out, then in again through whatever sign-in form the theme renders, with the
  // keyboard alone: Tab reaches each input, focus is visible, Enter submits.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL((u) => u.pathname === '/sign-in');
  const overridden = await page.locator('form.nordlicht-sign-in').count();
  const tabTo = async (name) => {
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate((n) => document.activeElement?.getAttribute('name') === n, name)) return;
    }
    assert.fail(`Tab never reaches the ${name} input`);
  };
  await tabTo('email');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none', 'the focused input shows its focus');
  await page.keyboard.type(email);
  await tabTo('password');
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await page.waitForURL((u) => u.pathname === '/account');
  await context.close();
  return { background, button, overridden };
}

for (const example of ['quickstart', 'branded-theme']) {
  test(`${example}: light and dark follow the tokens`, { skip: skipReason, timeout: 180_000 }, async () => {
    try {
      failIfMissing(missing);
      const dev = await startDev({ label: `theme-${example}`, example });
      servers.push(dev);
      const light = await tour(dev, example, 'light');
      const dark = await tour(dev, example, 'dark');

      const primary = await token(example, 'colors', 'primary');
      assert.ok(primary, `examples/${example} sets a primary color`);
      assert.equal(light.button, rgb(primary), 'the primary button is the theme\'s primary color');
      const darkPrimary = (await token(example, 'dark', 'primary')) ?? primary;
      assert.equal(dark.button, rgb(darkPrimary), 'in the dark, the dark primary (or the light one)');
      assert.notEqual(light.background, dark.background, 'dark mode changes the page background');
      const darkBackground = await token(example, 'dark', 'background');
      assert.equal(dark.background, rgb(darkBackground ?? '#0b1120'), 'the dark background token');

      if (example === 'branded-theme') {
        assert.equal(light.overridden, 1, 'the override replaced the sign-in form, and it signed in');
      } else {
        assert.equal(light.overridden, 0);
      }
    } catch (e) {
      failed = true;
      throw e;
    }
  });
}
