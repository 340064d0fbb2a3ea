// SPDX-License-Identifier: MIT
// The browser test (`make test-browser`, part of `make test`): Debian's
// headless Chromium, driven by playwright-core (pinned in package.json),
// against the real daemon on a fresh database with the demo data. It proves
// the browser-safe sign-in of issue 10:
//   - a page on the daemon's origin signs in with POST /session (the cookie
//     is HttpOnly: the page never sees it);
//   - EventSource on GET /projects/{p}/models/{m}/events works with the
//     cookie alone and receives the model's events;
//   - a cookie-only POST without X-CSRF-Token is refused (403), with it it
//     succeeds; signing out ends the session;
//   - a page on an allowed origin (--cors-origin) fetches with a bearer
//     token, and follows an event stream with fetch (as the README shows),
//     while the same fetch from a refused origin fails.
// Usage: node tests/browser/signin.test.js MODELD_BIN
// (NODE_PATH names the node_modules holding playwright-core.) Every process
// and server it starts is stopped on exit.
'use strict';

const { chromium } = require('playwright-core');
const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');

const BIN = path.resolve(process.argv[2] || 'build/rel/modeld');
const DATA = path.resolve(__dirname, '../../tools/demo-data');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'modeld-browser.'));
let passed = 0;
let failed = 0;
let daemon = null;
let browser = null;
const servers = [];

function check(name, ok, detail) {
  if (ok) {
    passed++;
    console.log(`ok   ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail === undefined ? '' : ': ' + JSON.stringify(detail)}`);
  }
}

function modeld(...args) {
  return execFileSync(BIN, args, { encoding: 'utf8' }).trim();
}

// A tiny page server on 127.0.0.1 (a port of its own is an origin of its own).
function pageServer() {
  return new Promise((resolve) => {
    const s = http.createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<!doctype html><title>dashboard</title><p>dashboard</p>');
    });
    s.listen(0, '127.0.0.1', () => {
      servers.push(s);
      resolve(`http://127.0.0.1:${s.address().port}`);
    });
  });
}

// Start the daemon; resolves with its base URL once it logs "listening on".
function startDaemon(db, origins) {
  return new Promise((resolve, reject) => {
    const args = ['serve', '--db', db, '--data-dir', path.join(TMP, 'artifacts'), '--port', '0',
      '--workers', '0'];
    for (const o of origins) args.push('--cors-origin', o);
    daemon = spawn(BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => reject(new Error('the daemon did not start: ' + log)), 10000);
    daemon.stderr.on('data', (d) => {
      log += d;
      const m = /listening on (http:\/\/[0-9.]+:[0-9]+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    daemon.on('exit', (code) => reject(new Error(`the daemon exited (${code}): ${log}`)));
  });
}

async function main() {
  const t0 = Date.now();
  // ---- a fresh database with the demo data (the README's admin commands) ----
  const db = path.join(TMP, 'browser.db');
  const ws = modeld('workspace', 'create', '--db', db, '--name', 'Acme');
  const project = modeld('project', 'create', '--db', db, '--workspace', ws, '--name', 'Reviews');
  const alice = modeld('user', 'create', '--db', db, '--name', 'alice');
  const token = modeld('token', 'create', '--db', db, '--user', alice, '--expires-in', '3600');
  modeld('member', 'add', '--db', db, '--project', project, '--user', alice, '--role', 'MANAGER');
  const annotations = modeld('annotations', 'import', '--db', db, '--project', project, '--name',
    'bewertungen', '--type', 'CLASS', '--language', 'de', path.join(DATA, 'reviews_de.jsonl'));

  const allowed = await pageServer();
  const refused = await pageServer();
  // two --cors-origin flags: an allow-list; the refused page's origin is not on it
  const base = await startDaemon(db, ['https://dashboard.example', allowed]);

  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  // a fresh profile (user-data dir) per context: nothing from an earlier run
  const context = await browser.newContext();
  const page = await context.newPage();

  // ---- same origin: sign in, the cookie, CSRF, EventSource ----
  await page.goto(base + '/health');
  const P = `/projects/${project}`;
  const signIn = await page.evaluate(async (tok) => {
    const r = await fetch('/session', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: tok }),
    });
    return { status: r.status, body: await r.json(), cookieVisible: document.cookie };
  }, token);
  check('POST /session signs in (201, csrf_token)', signIn.status === 201 &&
    /^[0-9a-f]{64}$/.test(signIn.body.csrf_token) && !!signIn.body.expires, signIn);
  check('the session cookie is HttpOnly (the page cannot read it)',
    !signIn.cookieVisible.includes('modeld_session'), signIn.cookieVisible);
  const cookies = await context.cookies(base);
  const c = cookies.find((k) => k.name === 'modeld_session');
  check('the cookie is HttpOnly, SameSite=Strict, Path=/', c && c.httpOnly &&
    c.sameSite === 'Strict' && c.path === '/' && c.expires > Date.now() / 1000, c);
  const csrf = signIn.body.csrf_token;

  const list = await page.evaluate(async (p) => (await fetch(p + '/models')).status, P);
  check('GET by cookie alone: 200', list === 200, list);

  const modelBody = JSON.stringify({ name: 'de-class', language: 'de',
    annotation_ids: [Number(annotations)] });
  const noCsrf = await page.evaluate(async ([p, body]) => {
    const r = await fetch(p + '/models', { method: 'POST',
      headers: { 'Content-Type': 'application/json' }, body });
    return { status: r.status, body: await r.json() };
  }, [P, modelBody]);
  check('cookie-only POST without X-CSRF-Token: 403 csrf-token-invalid', noCsrf.status === 403 &&
    noCsrf.body.type === 'urn:modeld:problem:csrf-token-invalid', noCsrf);

  const created = await page.evaluate(async ([p, body, t]) => {
    const r = await fetch(p + '/models', { method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': t }, body });
    return { status: r.status, body: await r.json() };
  }, [P, modelBody, csrf]);
  check('cookie POST with X-CSRF-Token: 201', created.status === 201 && created.body.id > 0,
    created);
  const M = created.body.id;

  // EventSource sends no header: the cookie alone authenticates it. The first
  // event is the model as it is (QUEUED: this daemon trains nothing); a
  // cancel (cookie + CSRF) sends the next (FAILED), which ends the stream.
  const events = await page.evaluate(([p, m, t]) => new Promise((resolve) => {
    const got = [];
    const es = new EventSource(`${p}/models/${m}/events`);
    const done = (why) => { es.close(); resolve({ got, why }); };
    setTimeout(() => done('timeout'), 10000);
    es.onerror = () => { if (got.length < 2) done('error'); };
    es.addEventListener('model', async (e) => {
      got.push(JSON.parse(e.data).status);
      if (got.length === 1) {
        await fetch(`${p}/models/${m}/cancel`, { method: 'POST', headers: { 'X-CSRF-Token': t } });
      } else {
        done('final');
      }
    });
  }), [P, M, csrf]);
  check('EventSource by cookie receives the model events (QUEUED, then FAILED)',
    events.why === 'final' && events.got[0] === 'QUEUED' && events.got[1] === 'FAILED', events);

  // ---- cross origin: an allowed dashboard uses a bearer token ----
  const dash = await context.newPage();
  await dash.goto(allowed + '/');
  const cross = await dash.evaluate(async ([b, p, tok]) => {
    try {
      const r = await fetch(b + p + '/models', { headers: { Authorization: 'Bearer ' + tok } });
      return { status: r.status, n: (await r.json()).items.length };
    } catch (e) {
      return { error: String(e) };
    }
  }, [base, P, token]);
  check('a fetch with a bearer token from an allowed origin succeeds',
    cross.status === 200 && cross.n === 1, cross);

  // the README's way for a dashboard to follow a stream: fetch + a reader
  const streamed = await dash.evaluate(async ([b, p, m, tok]) => {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), 10000);
    try {
      const r = await fetch(`${b}${p}/models/${m}/events`, { signal: ctl.signal,
        headers: { Authorization: 'Bearer ' + tok, 'Last-Event-ID': '0' } });
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let text = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      return { status: r.status, text };
    } catch (e) {
      return { error: String(e) };
    } finally {
      clearTimeout(timer);
    }
  }, [base, P, M, token]);
  check('an allowed origin follows the event stream with fetch', streamed.status === 200 &&
    /event: model\ndata: \{.*"status":"FAILED"/.test(streamed.text || ''), streamed);

  const other = await context.newPage();
  await other.goto(refused + '/');
  const blocked = await other.evaluate(async ([b, p, tok]) => {
    try {
      const r = await fetch(b + p + '/models', { headers: { Authorization: 'Bearer ' + tok } });
      return { status: r.status };
    } catch (e) {
      return { error: String(e) };
    }
  }, [base, P, token]);
  check('the same fetch from a refused origin fails', !!blocked.error, blocked);

  // ---- sign out ----
  const out = await page.evaluate(async ([p, t]) => {
    const del = await fetch('/session', { method: 'DELETE', headers: { 'X-CSRF-Token': t } });
    const after = await fetch(p + '/models');
    return { del: del.status, after: after.status };
  }, [P, csrf]);
  check('DELETE /session signs out: 204, then 401 by cookie', out.del === 204 &&
    out.after === 401, out);
  console.log(`browser test took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  for (const s of servers) s.close();
  if (daemon && daemon.exitCode === null) daemon.kill('SIGTERM');
  if (failed === 0) fs.rmSync(TMP, { recursive: true, force: true });
  else console.log(`browser: files kept in ${TMP}`);
}

main()
  .catch((e) => {
    failed++;
    console.log(`FAIL ${e && e.stack ? e.stack : e}`);
  })
  .finally(async () => {
    await cleanup();
    console.log(`browser: ${passed} passed, ${failed} failed`);
    process.exit(failed === 0 ? 0 : 1);
  });
