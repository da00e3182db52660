// docs/integrate.md, run as printed. Its Node app (the `node-app` block) is written to a temp dir
// and run with `node` against `vestibule dev`, and a user signs in and out through it on the
// hosted pages (fetch with a browser's cookie rules: per host name, ports ignored). Its nginx
// configuration (the `nginx` block, only ports substituted) runs in a real nginx in front of
// `vestibule dev` and a tiny app: without a session the app is never reached and the browser is
// sent to sign in; with one, the app gets X-Vestibule-User-Id/-Email, never a client's own; and
// Chromium goes from the protected page through sign-up and email verification back to it, on
// the same host name only. (The guide's Rust block is tests/server/integrate_doc.rs.)
//
// Prerequisites: openid-client (the Node app); nginx, Chromium and playwright-core (forward
// auth). Missing ones skip with a notice, or fail under VESTIBULE_STRICT=1 (see support.mjs;
// scripts/browser-deps installs them all).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { REPO, STRICT, failIfMissing, freePort, launchChromium, prerequisites, startDev } from './support.mjs';

const GUIDE = readFileSync(join(REPO, 'docs/integrate.md'), 'utf8');

/** The guide's code block marked `<!-- snippet: NAME -->`, exactly as printed. */
function snippet(name, language) {
  const marker = `<!-- snippet: ${name} -->\n\`\`\`${language}\n`;
  const start = GUIDE.indexOf(marker);
  assert.ok(start >= 0, `docs/integrate.md has a ${language} block marked "snippet: ${name}"`);
  const from = start + marker.length;
  const to = GUIDE.indexOf('\n```\n', from);
  assert.ok(to > from, `the ${name} block ends`);
  return GUIDE.slice(from, to + 1);
}

const node = await prerequisites('integration guide: Node app', { packages: ['openid-client'] });
const proxy = await prerequisites('integration guide: nginx forward auth', {
  browser: true,
  packages: ['playwright-core'],
});
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => spawnSync(p, ['-v']).status === 0);
if (!NGINX) {
  proxy.missing.push('nginx not found (run scripts/browser-deps)');
  if (!STRICT && !proxy.skipReason) {
    proxy.skipReason = proxy.missing.join('; ');
    console.log(`NOTICE: integration guide: nginx forward auth skipped: ${proxy.skipReason}. Set VESTIBULE_STRICT=1 to make this a failure.`);
  }
}
const chromium = proxy.modules['playwright-core']?.chromium;

// The Application the Node app signs in as: demo-app's settings, on a free port.
const APP_PORT = await freePort();
const APP_BASE = `http://localhost:${APP_PORT}`;
const APP_CLIENT = 'integrate-node-app';
const APP_SECRET = 'integrate-node-app-secret-not-for-production';
const APPLICATION = `
apiVersion: vestibule.dev/v1alpha1
kind: Application
metadata:
  name: integrate-node-app
spec:
  vestibuleRef:
    name: quickstart
  type: web
  clientId: ${APP_CLIENT}
  displayName: Integration guide app
  redirectUris:
    - ${APP_BASE}/callback
  postLogoutRedirectUris:
    - ${APP_BASE}/
  secretName: integrate-node-app-oidc
  requireConsent: false
---
apiVersion: v1
kind: Secret
metadata:
  name: integrate-node-app-oidc
type: Opaque
stringData:
  client_id: ${APP_CLIENT}
  client_secret: ${APP_SECRET}
`;

const PASSWORD = 'integration guide passphrase, long enough';
const unique = () => `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;

let dev;
let work; // temp dir for the app and nginx
let failed = false;
const children = []; // processes started here: { name, process, log }

before(async () => {
  if (node.skipReason && proxy.skipReason) return;
  if (node.missing.length && proxy.missing.length) return;
  dev = await startDev({ label: 'integrate', files: { 'integrate-node-app.yaml': APPLICATION } });
  work = await mkdtemp(join(tmpdir(), 'vestibule-integrate-run-'));
  console.log(`integration guide run dir: ${work}`);
});

after(async () => {
  for (const child of children) {
    if (child.process.exitCode === null && child.process.signalCode === null) {
      const exited = new Promise((r) => child.process.once('exit', r));
      child.process.kill('SIGTERM');
      const timer = setTimeout(() => child.process.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  }
  if (upstreamServer) {
    upstreamServer.closeAllConnections();
    await new Promise((ok) => upstreamServer.close(ok));
  }
  await dev?.stop({ failed });
});

/** Starts `command` and keeps its output in `work/NAME.log`; stopped in `after`. */
function start(name, command, args, options) {
  const log = join(work, `${name}.log`);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  const out = createWriteStream(log);
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  const entry = { name, process: child, log };
  children.push(entry);
  process.on('exit', () => child.kill('SIGKILL'));
  return entry;
}

const logOf = (entry) => {
  try {
    return readFileSync(entry.log, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '(no log)';
  }
};

/** Waits until `url` answers (any status), or `entry` has exited. */
async function waitForHttp(url, entry) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (entry.process.exitCode !== null || entry.process.signalCode !== null) {
      assert.fail(`${entry.name} exited (${entry.process.exitCode ?? entry.process.signalCode}):\n${logOf(entry)}`);
    }
    try {
      await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      if (Date.now() > deadline) assert.fail(`${entry.name} does not answer at ${url}:\n${logOf(entry)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function step(name, prerequisite, body) {
  test(name, { skip: prerequisite.skipReason, timeout: 60_000 }, async () => {
    failIfMissing(prerequisite.missing);
    if (!dev) assert.fail('the server did not start (see before)');
    try {
      await body();
    } catch (e) {
      failed = true;
      for (const child of children) console.log(`${child.name} log (tail) from ${child.log}:\n${logOf(child)}`);
      console.log(`server log (tail) from ${dev.logPath}:\n${dev.logTail(15)}`);
      throw e;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// A user agent with a browser's cookie rules for our cookies (all host-only, Path=/): kept per
// host name and sent to every port of it; `Origin` and `Sec-Fetch-Site` on form posts, as a
// browser sends them for a form of the page's own origin.

class UserAgent {
  jars = new Map(); // host name → Map(cookie name → value)

  jar(url) {
    const host = new URL(url).hostname;
    if (!this.jars.has(host)) this.jars.set(host, new Map());
    return this.jars.get(host);
  }

  cookie(url, name) {
    return this.jar(url).get(name);
  }

  async fetch(url, { method = 'GET', form, headers = {} } = {}) {
    const target = new URL(url);
    const jar = this.jar(target);
    const h = new Headers(headers);
    if (jar.size) h.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    let body;
    if (form) {
      body = new URLSearchParams(form).toString();
      h.set('content-type', 'application/x-www-form-urlencoded');
      h.set('origin', target.origin);
      h.set('sec-fetch-site', 'same-origin');
    }
    const response = await fetch(target, { method, headers: h, body, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((s) => s.trim());
      const i = pair.indexOf('=');
      const [name, value] = [pair.slice(0, i), pair.slice(i + 1)];
      const maxAge = attributes.find((a) => /^max-age=/i.test(a));
      if (value === '' || (maxAge && Number(maxAge.split('=')[1]) <= 0)) jar.delete(name);
      else jar.set(name, value);
    }
    return response;
  }

  /** Follows redirects as a browser does (GET after 302/303): the last response and its URL. */
  async navigate(url, options) {
    let response = await this.fetch(url, options);
    let at = new URL(url);
    const trail = [String(at)];
    while ([301, 302, 303, 307].includes(response.status)) {
      at = new URL(response.headers.get('location'), at);
      trail.push(String(at));
      assert.ok(trail.length < 15, `a redirect loop: ${trail.join(' → ')}`);
      response = await this.fetch(at);
    }
    return { response, url: at, trail, html: await response.text() };
  }

  /** Submits `page`'s form posting to `action` (its hidden fields plus `fields`), then follows. */
  async submit(page, action, fields) {
    const form = forms(page.html).find((f) => f.action === action);
    assert.ok(form, `${page.url} has a form posting to ${action}: ${page.html.slice(0, 600)}`);
    return this.navigate(new URL(action, page.url), { method: 'POST', form: { ...form.fields, ...fields } });
  }
}

function decodeEntities(text) {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos);/gi, (_, e) => {
    const named = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[e.toLowerCase()];
    if (named) return named;
    return String.fromCodePoint(e[1].toLowerCase() === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}

function attributes(tag) {
  const out = {};
  for (const [, name, value] of tag.matchAll(/([a-zA-Z_:][-\w:.]*)\s*=\s*"([^"]*)"/g)) {
    out[name.toLowerCase()] = decodeEntities(value);
  }
  return out;
}

function forms(html) {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].map(([, open, inner]) => {
    const fields = {};
    for (const [, input] of inner.matchAll(/<input\b([^>]*)>/gi)) {
      const i = attributes(input);
      if (i.type === 'hidden' && i.name) fields[i.name] = i.value ?? '';
    }
    return { action: attributes(open).action, fields };
  });
}

/** The text of the element with `id` in `html`, entities decoded. */
function byId(html, id) {
  const m = new RegExp(`<(\\w+)[^>]*\\bid="${id}"[^>]*>([\\s\\S]*?)</\\1>`).exec(html);
  assert.ok(m, `the page has #${id}: ${html.slice(0, 600)}`);
  return decodeEntities(m[2].replace(/<[^>]+>/g, ''));
}

/** A verified account made on the hosted pages; `ua` is left signed in to Vestibule. */
async function signUp(ua, email) {
  const page = await ua.navigate(`${dev.base}/sign-up`);
  const verify = await ua.submit(page, '/sign-up', { email, password: PASSWORD });
  assert.equal(verify.url.pathname, '/verify-email', verify.trail.join(' → '));
  const code = await dev.verificationCode(email);
  const done = await ua.submit(verify, '/verify-email', { code });
  assert.equal(done.url.pathname, '/account', done.trail.join(' → '));
  const who = await ua.fetch(`${dev.base}/session`);
  assert.equal(who.status, 200);
  return (await who.json()).userId;
}

// ---------------------------------------------------------------------------------------------
// 1. The Node app.

step('the Node app\'s defaults are the quickstart\'s demo-app and vestibule dev', node, async () => {
  const code = snippet('node-app', 'js');
  const quickstart = readFileSync(join(REPO, 'examples/quickstart/application.yaml'), 'utf8');
  for (const [variable, value] of [
    ['ISSUER', "'http://localhost:8080'"],
    ['CLIENT_ID', "'demo-app'"],
    ['CLIENT_SECRET', "'quickstart-demo-secret-change-me'"],
    ['PORT', '3000'],
  ]) {
    assert.ok(code.includes(`process.env.${variable} ?? ${value}`), `${variable} defaults to ${value}`);
  }
  assert.ok(code.includes('const REDIRECT_URI = `${APP_URL}/callback`;'));
  assert.ok(code.includes('const POST_LOGOUT_URI = `${APP_URL}/`;'));
  assert.ok(code.includes("process.env.APP_URL ?? `http://localhost:${PORT}`"));
  for (const line of [
    'clientId: demo-app',
    '- http://localhost:3000/callback',
    '- http://localhost:3000/',
    'client_secret: quickstart-demo-secret-change-me',
    'requireConsent: false',
  ]) {
    assert.ok(quickstart.includes(line), `examples/quickstart/application.yaml has ${line}`);
  }
  assert.match(GUIDE, /```sh\ncargo run --release -- dev examples\/quickstart\n```/);
  assert.match(GUIDE, /```sh\nmkdir demo-app && cd demo-app\nnpm install openid-client@6\n```/);
  assert.match(GUIDE, /```sh\nnode app\.mjs\n```/);
});

step('the Node app signs a user in with openid-client, shows the ID token\'s claims and signs out of both', node, async () => {
  const dir = join(work, 'node-app');
  await mkdir(dir);
  await writeFile(join(dir, 'app.mjs'), snippet('node-app', 'js'));
  // `npm install openid-client@6`, from the committed lockfile.
  await symlink(join(REPO, 'tests/browser/node_modules'), join(dir, 'node_modules'), 'dir');
  const app = start('node-app', process.execPath, ['app.mjs'], {
    cwd: dir,
    env: { ...process.env, ISSUER: dev.base, CLIENT_ID: APP_CLIENT, CLIENT_SECRET: APP_SECRET, PORT: String(APP_PORT) },
  });
  await waitForHttp(`${APP_BASE}/`, app);

  const email = `integrate-node-${unique()}@example.com`;
  const userId = await signUp(new UserAgent(), email);

  const ua = new UserAgent(); // another browser: not signed in anywhere
  const home = await ua.navigate(`${APP_BASE}/`);
  assert.equal(home.response.status, 200);
  assert.equal(byId(home.html, 'status'), 'Not signed in.');

  // /login → Vestibule's authorize → its sign-in page (no session yet).
  const signIn = await ua.navigate(`${APP_BASE}/login`);
  assert.equal(signIn.response.status, 200, signIn.trail.join(' → '));
  assert.equal(signIn.url.origin, dev.base);
  assert.equal(signIn.url.pathname, '/sign-in');
  const authorize = new URL(signIn.trail[1]);
  assert.equal(authorize.pathname, '/oauth2/authorize');
  assert.equal(authorize.searchParams.get('client_id'), APP_CLIENT);
  assert.equal(authorize.searchParams.get('redirect_uri'), `${APP_BASE}/callback`);
  assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
  for (const name of ['code_challenge', 'state', 'nonce']) assert.ok(authorize.searchParams.get(name), name);

  // Signing in goes back to authorize, to the app's callback, and home.
  const signedIn = await ua.submit(signIn, '/sign-in', { email, password: PASSWORD });
  assert.equal(signedIn.response.status, 200, `${signedIn.trail.join(' → ')}\n${signedIn.html.slice(0, 800)}`);
  assert.equal(String(signedIn.url), `${APP_BASE}/`, signedIn.trail.join(' → '));
  assert.ok(signedIn.trail.some((u) => u.startsWith(`${APP_BASE}/callback?code=`)), signedIn.trail.join(' → '));
  assert.equal(byId(signedIn.html, 'email'), email);
  const claims = JSON.parse(byId(signedIn.html, 'claims'));
  assert.equal(claims.sub, userId);
  assert.equal(claims.iss, dev.base);
  assert.equal(claims.aud, APP_CLIENT);
  assert.equal(claims.email_verified, true);
  assert.ok(ua.cookie(APP_BASE, 'app_session'), 'the app keeps a session');
  assert.ok(ua.cookie(dev.base, '__Host-vestibule_session'), 'and so does Vestibule');

  // A replayed callback (the code and state used): the app has no sign-in in progress.
  const callback = signedIn.trail.find((u) => u.startsWith(`${APP_BASE}/callback?`));
  const replay = await ua.fetch(callback);
  assert.equal(replay.status, 400);

  // /logout → Vestibule's end-session (with the ID token as hint) → back to the app.
  const out = await ua.navigate(`${APP_BASE}/logout`);
  assert.equal(String(out.url), `${APP_BASE}/`, out.trail.join(' → '));
  const endSession = new URL(out.trail[1]);
  assert.equal(`${endSession.origin}${endSession.pathname}`, `${dev.base}/oauth2/end-session`);
  assert.ok(endSession.searchParams.get('id_token_hint'));
  assert.equal(endSession.searchParams.get('post_logout_redirect_uri'), `${APP_BASE}/`);
  assert.equal(byId(out.html, 'status'), 'Not signed in.');
  assert.equal(ua.cookie(dev.base, '__Host-vestibule_session'), undefined, 'signed out of Vestibule too');
  assert.equal((await ua.fetch(`${dev.base}/session`)).status, 401);
});

// ---------------------------------------------------------------------------------------------
// 3. Forward auth with nginx.

let nginxBase; // http://localhost:PORT
let upstreamServer; // the protected app
const upstreamSeen = []; // what the protected app received: { method, url, headers }

async function startProxy() {
  if (nginxBase) return;
  // The protected app: shows who nginx says is signed in.
  const upstream = createServer((req, res) => {
    upstreamSeen.push({ method: req.method, url: req.url, headers: req.headers });
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    const user = req.headers['x-vestibule-user-id'] ?? '';
    const email = req.headers['x-vestibule-email'] ?? '';
    res.end(`<!doctype html><title>App</title><p id="user">${user}</p><p id="email">${email}</p><p id="path">${req.method} ${req.url}</p>`);
  });
  await new Promise((ok) => upstream.listen(0, '127.0.0.1', ok));
  upstreamServer = upstream;
  const upstreamPort = upstream.address().port;

  const port = await freePort();
  const block = snippet('nginx', 'nginx');
  const substitute = (text, from, to, times) => {
    assert.equal(text.split(from).length - 1, times, `the nginx block has ${from} ${times} time(s)`);
    return text.replaceAll(from, to);
  };
  let config = substitute(block, 'listen 80;', `listen 127.0.0.1:${port};`, 1);
  config = substitute(config, 'http://127.0.0.1:8080', `http://127.0.0.1:${dev.port}`, 2);
  config = substitute(config, 'http://127.0.0.1:3000', `http://127.0.0.1:${upstreamPort}`, 1);
  const prefix = join(work, 'nginx');
  await mkdir(prefix);
  // The block is what goes into conf.d/; around it, what a distribution's nginx.conf has.
  await writeFile(join(prefix, 'nginx.conf'), `daemon off;
master_process off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log info;
events { worker_connections 64; }
http {
    access_log ${prefix}/access.log;
    client_body_temp_path ${prefix}/client_body;
    proxy_temp_path ${prefix}/proxy;
    fastcgi_temp_path ${prefix}/fastcgi;
    uwsgi_temp_path ${prefix}/uwsgi;
    scgi_temp_path ${prefix}/scgi;
    include ${prefix}/conf.d/*.conf;
}
`);
  await mkdir(join(prefix, 'conf.d'));
  await writeFile(join(prefix, 'conf.d/auth.example.com.conf'), config);
  const check = spawnSync(NGINX, ['-t', '-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'error.log')], { encoding: 'utf8' });
  assert.equal(check.status, 0, `nginx -t: ${check.stderr}`);
  const nginx = start('nginx', NGINX, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'error.log')]);
  nginx.log = join(prefix, 'error.log');
  nginxBase = `http://localhost:${port}`;
  await waitForHttp(`${nginxBase}/healthz`, nginx);
}

step('nginx: without a session the app is never reached, and the browser is sent to sign in', proxy, async () => {
  await startProxy();
  const seen = upstreamSeen.length;
  const ua = new UserAgent();
  const r = await ua.fetch(`${nginxBase}/app/reports/2024?page=2`);
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), '/sign-in?redirect_url=/app/reports/2024', 'the page\'s path, without its query');
  // A client's own X-Vestibule-* headers do not get it in either.
  const forged = await ua.fetch(`${nginxBase}/app/`, { headers: { 'x-vestibule-user-id': 'usr_admin', cookie: '__Host-vestibule_session=forged' } });
  assert.equal(forged.status, 302);
  assert.equal(upstreamSeen.length, seen, 'the app saw none of these');
  // Vestibule itself is served on the same host.
  const discovery = await ua.fetch(`${nginxBase}/.well-known/openid-configuration`);
  assert.equal(discovery.status, 200);
  assert.equal((await discovery.json()).issuer, dev.base);
});

step('nginx: with a session the app gets the user in X-Vestibule-User-Id/-Email, never a client\'s own', proxy, async () => {
  await startProxy();
  const email = `integrate-proxy-${unique()}@example.com`;
  const ua = new UserAgent();
  const userId = await signUp(ua, email); // signed in on localhost:<dev port>
  // The same host name on another port: the browser sends the cookie there too.
  const page = await ua.fetch(`${nginxBase}/app/hello?x=1`);
  assert.equal(page.status, 200);
  let got = upstreamSeen.at(-1);
  assert.equal(got.url, '/app/hello?x=1');
  assert.equal(got.headers['x-vestibule-user-id'], userId);
  assert.equal(got.headers['x-vestibule-email'], email);

  const forged = await ua.fetch(`${nginxBase}/app/hello`, {
    headers: { 'x-vestibule-user-id': 'usr_admin', 'x-vestibule-email': 'admin@example.com' },
  });
  assert.equal(forged.status, 200);
  got = upstreamSeen.at(-1);
  assert.equal(got.headers['x-vestibule-user-id'], userId, 'nginx replaces the client\'s header');
  assert.equal(got.headers['x-vestibule-email'], email);

  // Not only GET: the check itself is always a GET without the body.
  const posted = await ua.fetch(`${nginxBase}/app/form`, { method: 'POST', form: { note: 'hello' } });
  assert.equal(posted.status, 200);
  got = upstreamSeen.at(-1);
  assert.equal(`${got.method} ${got.url}`, 'POST /app/form');
  assert.equal(got.headers['x-vestibule-user-id'], userId);

  // Signed out: the app is out of reach again.
  const account = await ua.navigate(`${dev.base}/account`);
  const out = await ua.submit(account, '/sign-out', {});
  assert.equal(out.url.pathname, '/sign-in', out.trail.join(' → '));
  assert.equal((await ua.fetch(`${nginxBase}/app/hello`)).status, 302);
});

step('nginx in Chromium: a first visit to the app goes through sign-up and back; another host name gets no cookie', proxy, async () => {
  await startProxy();
  const browser = await launchChromium(chromium);
  try {
    const page = await (await browser.newContext()).newPage();
    const email = `integrate-chromium-${unique()}@example.com`;
    await page.goto(`${nginxBase}/app/dashboard`);
    assert.equal(new URL(page.url()).pathname, '/sign-in', page.url());
    assert.equal(new URL(page.url()).origin, nginxBase, 'the hosted page, on the app\'s host');
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.waitForURL((u) => u.pathname === '/sign-up');
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL((u) => u.pathname === '/verify-email');
    await page.getByLabel('Verification code').pressSequentially(await dev.verificationCode(email));
    await page.getByRole('button', { name: 'Verify', exact: true }).click();
    await page.waitForURL((u) => u.pathname === '/app/dashboard', { timeout: 10_000 }).catch(() => {});
    assert.equal(page.url(), `${nginxBase}/app/dashboard`, 'back at the page first asked for');
    assert.equal((await page.locator('#email').innerText()).trim(), email);
    assert.ok((await page.locator('#user').innerText()).trim(), 'with the user id');

    // The cookie is host-only: 127.0.0.1 is another host name, so nginx sees no session there.
    const other = nginxBase.replace('localhost', '127.0.0.1');
    await page.goto(`${other}/app/dashboard`);
    assert.equal(`${new URL(page.url()).origin}${new URL(page.url()).pathname}`, `${other}/sign-in`);
  } finally {
    await browser.close();
  }
});
