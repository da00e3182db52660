// Shared by the tests in this directory: their prerequisites (skip with a notice, or fail under
// VESTIBULE_STRICT=1), `vestibule dev` on a temp copy of examples/quickstart on a free localhost
// port, the dev mailbox, Chromium's launch, and a record of openid-client's HTTP exchanges for
// failure reports.
//
// The binary comes from VESTIBULE_BIN (default ../../target/debug/vestibule, relative to this
// file): nothing here builds it. Temp dirs (config copy, data, server log) are kept and their
// path printed; VESTIBULE_BROWSER_CLEANUP=1 removes them after a passing run.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, '../..');
export const BIN = process.env.VESTIBULE_BIN
  ? resolve(process.env.VESTIBULE_BIN)
  : resolve(HERE, '../../target/debug/vestibule');
export const CHROMIUM = '/usr/bin/chromium';
export const STRICT = process.env.VESTIBULE_STRICT === '1';
export const SESSION_COOKIE = '__Host-vestibule_session';

// Flags for a machine whose only network is localhost: without them Chromium keeps retrying
// refused connections (updates, sync, QUIC) and stalls.
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// ---------------------------------------------------------------------------------------------
// Prerequisites: skip (with a notice) or, in strict mode, fail.

/**
 * Checks what a test needs: Chromium when `browser`, and each npm package of `packages`
 * (imported and returned in `modules`). `skipReason` is false when the test should run; in
 * strict mode it stays false and `missing` lists what the test must report as its failure.
 */
export async function prerequisites(what, { browser = false, packages = [] } = {}) {
  const missing = [];
  if (browser && !existsSync(CHROMIUM)) {
    missing.push(`${CHROMIUM} not found (run scripts/browser-deps)`);
  }
  const modules = {};
  for (const name of packages) {
    try {
      modules[name] = await import(name);
    } catch (e) {
      missing.push(`${name} not installed in tests/browser/node_modules (run scripts/browser-deps): ${e.code ?? e.message}`);
    }
  }
  const skipReason = missing.length && !STRICT ? missing.join('; ') : false;
  if (skipReason) {
    console.log(`NOTICE: ${what} skipped: ${skipReason}. Set VESTIBULE_STRICT=1 to make this a failure.`);
  }
  return { missing, skipReason, modules };
}

/** In strict mode with prerequisites missing: the failure the test reports. */
export function failIfMissing(missing) {
  if (missing.length) {
    assert.fail(`VESTIBULE_STRICT=1 and the browser prerequisites are missing: ${missing.join('; ')}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The server under test.

export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.unref();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/**
 * `vestibule dev` serving a temp copy of examples/EXAMPLE (default quickstart), healthy. `files` are written into
 * the copy before the start (name → YAML text), e.g. extra Applications and their Secrets.
 */
export async function startDev({ label = 'browser', files = {}, example = 'quickstart' } = {}) {
  if (!existsSync(BIN)) {
    throw new Error(`no vestibule binary at ${BIN}: run \`cargo build\` first, or set VESTIBULE_BIN`);
  }
  const work = await mkdtemp(join(tmpdir(), `vestibule-${label}-`));
  console.log(`${label} test temp dir: ${work}`);
  const config = join(work, example);
  await cp(join(REPO, 'examples', example), config, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    await writeFile(join(config, name), text);
  }
  const port = await freePort();
  const dev = new DevServer(work, config, port);
  await dev.waitForHealth(30_000);
  return dev;
}

// Servers still running. A signal that ends the test process ('exit' does not run then) kills
// them first, then ends the process as the signal would have.
const servers = new Set();
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    for (const server of servers) server.kill();
    process.kill(process.pid, signal);
  });
}

export class DevServer {
  constructor(work, config, port) {
    this.work = work;
    this.config = config;
    this.port = port;
    this.base = `http://localhost:${port}`;
    this.logPath = join(work, 'server.log');
    const log = createWriteStream(this.logPath);
    this.process = spawn(BIN, ['dev', config, '--port', String(port), '--data-dir', join(work, 'data')], {
      cwd: work,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'info' },
    });
    this.process.stdout.pipe(log);
    this.process.stderr.pipe(log);
    // If the runner itself is interrupted, do not leave the server behind.
    this.kill = () => {
      if (this.running()) this.process.kill('SIGKILL');
    };
    process.on('exit', this.kill);
    servers.add(this);
  }

  running() {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  logTail(lines = 40) {
    try {
      return readFileSync(this.logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no server log)';
    }
  }

  async waitForHealth(deadlineMs) {
    const deadline = Date.now() + deadlineMs;
    let lastError;
    while (Date.now() < deadline) {
      if (!this.running()) {
        throw new Error(`vestibule dev exited early (${this.process.exitCode ?? this.process.signalCode}):\n${this.logTail()}`);
      }
      try {
        const r = await fetch(`${this.base}/healthz`, { signal: AbortSignal.timeout(1000) });
        if (r.ok && (await r.text()).trim() === 'ok') return;
        lastError = new Error(`/healthz answered ${r.status}`);
      } catch (e) {
        lastError = e;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`vestibule dev not healthy after ${deadlineMs} ms (${lastError?.message}):\n${this.logTail()}`);
  }

  /** SIGTERM, then SIGKILL after 5 s; the temp dir goes only when asked and nothing failed. */
  async stop({ failed = false } = {}) {
    if (this.running()) {
      const exited = new Promise((r) => this.process.once('exit', r));
      this.process.kill('SIGTERM');
      const timer = setTimeout(() => this.process.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    process.off('exit', this.kill);
    servers.delete(this);
    if (process.env.VESTIBULE_BROWSER_CLEANUP === '1' && !failed) {
      await rm(this.work, { recursive: true, force: true });
    } else {
      console.log(`kept ${this.work} (server log: ${this.logPath})`);
    }
  }

  async mailbox() {
    const r = await fetch(`${this.base}/dev/mailbox.json`);
    assert.equal(r.status, 200, '/dev/mailbox.json answers');
    return r.json();
  }

  /** The newest message to `to` whose text matches `pattern`, waiting briefly for it. */
  async waitForMail(to, pattern, { after: seen = 0 } = {}) {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const all = await this.mailbox();
      const mine = all.slice(seen).filter((m) => m.to.includes(to) && pattern.test(m.text));
      if (mine.length) return { message: mine[mine.length - 1], count: all.length };
      if (Date.now() > deadline) {
        throw new Error(`no mail to ${to} matching ${pattern}; mailbox: ${JSON.stringify(all, null, 1)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The 6-digit verification code of the newest verification mail to `to`. */
  async verificationCode(to, options) {
    const { message } = await this.waitForMail(to, /\b\d{6}\b/, options);
    return (message.text.match(/^\s+(\d{6})\s*$/m) ?? message.text.match(/\b(\d{6})\b/))[1];
  }
}

// ---------------------------------------------------------------------------------------------
// Chromium.

export function launchChromium(chromium) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    chromiumSandbox: false,
    args: CHROMIUM_ARGS,
    timeout: 60_000,
  });
}

// ---------------------------------------------------------------------------------------------
// openid-client's HTTP exchanges, kept so a failure can show the exact request and response.

/** A `customFetch` for openid-client that records every exchange into `log`. */
export function recordingFetch(log) {
  return async (url, options) => {
    const entry = {
      request: `${options.method ?? 'GET'} ${url}`,
      requestHeaders: Object.fromEntries(new Headers(options.headers ?? {}).entries()),
      requestBody: options.body === undefined || options.body === null ? undefined : String(options.body),
    };
    log.push(entry);
    try {
      const response = await fetch(url, options);
      entry.status = response.status;
      entry.responseHeaders = Object.fromEntries(response.headers.entries());
      entry.responseBody = await response.clone().text();
      return response;
    } catch (e) {
      entry.error = String(e);
      throw e;
    }
  };
}

/** The last `n` recorded exchanges, as text for a failure report. */
export function describeExchanges(log, n = 4) {
  return log
    .slice(-n)
    .map((e) => {
      const lines = [`> ${e.request}`];
      for (const [k, v] of Object.entries(e.requestHeaders ?? {})) lines.push(`> ${k}: ${v}`);
      if (e.requestBody) lines.push(`> ${e.requestBody}`);
      if (e.error) lines.push(`< (fetch failed: ${e.error})`);
      else {
        lines.push(`< ${e.status}`);
        for (const [k, v] of Object.entries(e.responseHeaders ?? {})) lines.push(`< ${k}: ${v}`);
        if (e.responseBody) lines.push(`< ${e.responseBody.slice(0, 2000)}`);
      }
      return lines.join('\n');
    })
    .join('\n\n');
}

/** openid-client's error with what it carries (code, OAuth error, cause), for a report. */
export function describeError(e) {
  const parts = [`${e?.name}: ${e?.message}`];
  if (e?.code) parts.push(`code=${e.code}`);
  if (e?.error) parts.push(`error=${e.error}`);
  if (e?.status) parts.push(`status=${e.status}`);
  if (e?.cause !== undefined) {
    try {
      parts.push(`cause=${JSON.stringify(e.cause)}`);
    } catch {
      parts.push(`cause=${String(e.cause)}`);
    }
  }
  return parts.join(' ');
}

// The user: fetch with a cookie jar, as a browser would (no redirects followed by themselves).

export class UserAgent {
  constructor(origin) {
    this.origin = new URL(origin).origin;
    this.cookies = new Map();
  }

  /** One request; cookies are kept for and sent to Vestibule's origin only. */
  async fetch(url, { method = 'GET', form, cookies } = {}) {
    const target = new URL(url, this.origin);
    const headers = new Headers();
    const jar = cookies ?? this.cookies;
    if (target.origin === this.origin && jar.size) {
      headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    }
    let body;
    if (form) {
      body = new URLSearchParams(form).toString();
      headers.set('content-type', 'application/x-www-form-urlencoded');
      headers.set('origin', this.origin);
    }
    const response = await fetch(target, { method, headers, body, redirect: 'manual' });
    if (target.origin === this.origin && !cookies) {
      for (const line of response.headers.getSetCookie()) this.#store(line);
    }
    return response;
  }

  #store(line) {
    const [pair, ...attributes] = line.split(';').map((s) => s.trim());
    const i = pair.indexOf('=');
    const [name, value] = [pair.slice(0, i), pair.slice(i + 1)];
    const maxAge = attributes.find((a) => /^max-age=/i.test(a));
    if (value === '' || (maxAge && Number(maxAge.split('=')[1]) <= 0)) this.cookies.delete(name);
    else this.cookies.set(name, value);
  }

  /** GET a page that must answer 200; its HTML. */
  async page(url) {
    const r = await this.fetch(url);
    const html = await r.text();
    assert.equal(r.status, 200, `GET ${url} answers 200: ${html.slice(0, 500)}`);
    return html;
  }

  /** Submits the page's form whose action is `action`, its hidden fields plus `fields`. */
  async submit(html, action, fields = {}) {
    const form = forms(html).find((f) => f.action === action);
    assert.ok(form, `the page has a form posting to ${action}: ${html.slice(0, 800)}`);
    assert.equal(form.method, 'post');
    assert.ok(form.fields.csrf_token, `the ${action} form carries a csrf_token`);
    return this.fetch(action, { method: 'POST', form: { ...form.fields, ...fields } });
  }

  session() {
    return this.cookies.get(SESSION_COOKIE);
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

/** The page's forms: action, method and hidden fields (what a browser would submit unseen). */
export function forms(html) {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].map(([, open, inner]) => {
    const a = attributes(open);
    const fields = {};
    for (const [, input] of inner.matchAll(/<input\b([^>]*)>/gi)) {
      const i = attributes(input);
      if (i.type === 'hidden' && i.name) fields[i.name] = i.value ?? '';
    }
    return { action: a.action, method: (a.method ?? 'get').toLowerCase(), fields };
  });
}
