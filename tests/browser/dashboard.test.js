// SPDX-License-Identifier: MIT
// The dashboard test (`make test-browser`, part of `make test`): Debian's
// headless Chromium, driven by playwright-core, against the real daemon
// (one training worker) on a fresh database with the demo data. Through the
// dashboard's own pages (GET /ui/) it checks that
//   - a pasted token signs in (and is kept nowhere: not in a cookie the page
//     can read, not in storage); a reload keeps the session and its CSRF
//     token (GET /session);
//   - the projects view lists the project;
//   - the training form starts a training, and the models list, without a
//     reload, shows its progress bar reach 100 % and its score (one
//     EventSource on the project's event stream);
//   - the list pages through the API's cursor and filters by type and
//     language;
//   - the same name again shows the daemon's "taken" error next to the name
//     field;
//   - a new labeling session is created and a JSON-lines file uploaded to
//     it with a progress bar (XMLHttpRequest upload progress), after which
//     its label inventory is drawn;
//   - axe-core finds no serious or critical violation on any view, at
//     1280 px and 360 px, in light and dark mode;
//   - signing out ends the session;
// and, all along, that no request leaves the daemon's origin and the
// Content-Security-Policy reports no violation.
// Usage: node tests/browser/dashboard.test.js MODELD_BIN
// (NODE_PATH names the node_modules holding playwright-core and axe-core.)
'use strict';

const fs = require('fs');
const path = require('path');
const { demoData, startDaemon, launch, signIn } = require('./demo.js');


const BIN = path.resolve(process.argv[2] || 'build/rel/modeld');
const AXE = require.resolve('axe-core/axe.min.js');
const DEMO = path.resolve(__dirname, '../../tools/demo-data');
let passed = 0;
let failed = 0;
let daemon = null;
let browser = null;
let data = null;

function check(name, ok, detail) {
  if (ok) {
    passed++;
    console.log(`ok   ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail === undefined ? '' : ': ' + JSON.stringify(detail)}`);
  }
}

// axe-core on the page as it is: the serious and critical violations.
// axe adds style elements of its own while it runs, which the page's CSP
// refuses: it runs in a context of its own that bypasses the CSP, so that
// the main context can count every violation of the dashboard itself.
async function axeViolations(page) {
  const loaded = await page.evaluate(() => typeof window.axe === 'object');
  if (!loaded) await page.evaluate(fs.readFileSync(AXE, 'utf8'));
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

// Check every view of views (name -> async function that shows it) with
// axe at both widths and in both colour schemes.
async function axeAll(page, views) {
  for (const [width, height] of [[1280, 900], [360, 740]]) {
    await page.setViewportSize({ width, height });
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const [name, show] of Object.entries(views)) {
        await show();
        const v = await axeViolations(page);
        check(`axe: no serious or critical violation on ${name} (${width} px, ${scheme})`,
          v.length === 0, v);
      }
    }
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.emulateMedia({ colorScheme: 'light' });
}

// A JSON-lines file of ABSA documents, large enough (about 2 MiB) that its
// upload reports progress.
function uploadFile(dir) {
  const lines = fs.readFileSync(path.join(DEMO, 'restaurants_en.jsonl'), 'utf8')
    .split('\n').filter((l) => l.trim());
  const out = [];
  let size = 0;
  for (let i = 0; size < 2 * 1024 * 1024; i++) {
    const doc = JSON.parse(lines[i % lines.length]);
    doc.text = `${doc.text} (${i})`;
    const l = JSON.stringify(doc);
    out.push(l);
    size += l.length + 1;
  }
  const file = path.join(dir, 'more-reviews.jsonl');
  fs.writeFileSync(file, out.join('\n') + '\n');
  return { file, count: out.length };
}

async function main() {
  const t0 = Date.now();
  data = demoData(BIN);
  const d = await startDaemon(BIN, data.db, data.tmp, 1);
  daemon = d.proc;
  const base = d.base;
  const P = data.project;
  const origin = new URL(base).origin;

  browser = await launch();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const foreign = [];
  const pageErrors = [];
  const cspConsole = [];
  context.on('request', (req) => {
    const u = new URL(req.url());
    if (u.origin !== origin && u.protocol !== 'data:') foreign.push(req.url());
  });
  // the page reports CSP violations as events; collected before any script of it runs
  await context.addInitScript(() => {
    window.__csp = [];
    // every EventSource the page opens
    window.__es = [];
    const ES = window.EventSource;
    window.EventSource = class extends ES {
      constructor(url, init) {
        super(url, init);
        window.__es.push(String(url));
      }
    };
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspConsole.push(m.text());
  });
  const cspReported = async () => page.evaluate(() => window.__csp.slice());

  // ---- sign in with a pasted token ----
  await page.goto(`${base}/ui`); // the redirect to /ui/
  check('GET /ui redirects to the page', page.url() === `${base}/ui/`, page.url());
  await page.waitForSelector('#token');
  await page.fill('#token', 'not-a-token');
  await page.click('form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#token-error').textContent !== '');
  check('a wrong token is refused next to the field, which has the focus again',
    await page.getAttribute('#token', 'aria-invalid') === 'true' &&
    await page.evaluate(() => document.activeElement.id) === 'token');
  // by keyboard alone: the field has the focus; type the token, Enter
  await page.keyboard.press('Control+A');
  await page.keyboard.type(data.token);
  await page.keyboard.press('Enter');
  await page.waitForSelector('.who button');
  check('a pasted token signs in (the user is shown)',
    (await page.textContent('.who .user')) === 'demo');
  const kept = await page.evaluate((tok) => ({
    cookie: document.cookie,
    storage: JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
    field: document.querySelector('#token') ? document.querySelector('#token').value : '',
  }), data.token);
  check('the token is kept nowhere the page can read', !kept.cookie.includes('modeld_session') &&
    !kept.storage.includes(data.token) && !kept.cookie.includes(data.token), kept);

  // ---- projects ----
  await page.waitForSelector('.project h2 a');
  check('the projects view lists the project',
    (await page.textContent('.project h2 a')) === 'Demo project');
  // a reload keeps the session (GET /session gives back the CSRF token)
  await page.reload();
  await page.waitForSelector('.project h2 a');
  check('a reload keeps the session', (await page.textContent('.who .user')) === 'demo');
  // the keyboard: after a page load the first Tab reaches the skip link, which moves the
  // focus to the content; the next Tab is the first project's link
  await page.keyboard.press('Tab');
  const skip = await page.evaluate(() => document.activeElement.textContent);
  await page.keyboard.press('Enter');
  const afterSkip = await page.evaluate(() => document.activeElement.id);
  await page.keyboard.press('Tab');
  const next = await page.evaluate(() => document.activeElement.textContent);
  check('keyboard: a skip link first, then the content', skip === 'Skip to the content' &&
    afterSkip === 'main' && next === 'Demo project', { skip, afterSkip, next });

  // ---- start a training; the list shows it live ----
  // a second tab shows the list before the model exists: all it shows of it
  // comes through the event stream
  const watcher = await context.newPage();
  watcher.on('pageerror', (e) => pageErrors.push(e.message));
  await watcher.goto(`${base}/ui/#/p/${P}`);
  await watcher.waitForSelector('.live.on');
  await watcher.evaluate(() => { window.__noReload = true; });
  const before = await watcher.$$eval('table.models tbody tr', (r) => r.length);
  await page.goto(`${base}/ui/#/p/${P}/train`);
  await page.waitForSelector('#f-name');
  await page.fill('#f-name', 'ui-absa');
  await page.check(`#f-annotation_ids-${data.sessions['Restaurant reviews (en)']}`);
  await page.check(`#f-annotation_ids-${data.sessions['More restaurant reviews (en)']}`);
  check('ticking a session fills in its language', (await page.inputValue('#f-language')) === 'en');
  await page.evaluate(() => { window.__noReload = true; });
  await page.click('form button[type=submit]');
  await page.waitForFunction((p) => location.hash === `#/p/${p}`, P);
  // every value the progress bar shows, as it changes
  await page.waitForSelector('table.models tbody tr');
  await page.waitForSelector('table.models tbody tr:has(a:text-is("ui-absa"))');
  const mid = await page.getAttribute('table.models tbody tr:has(a:text-is("ui-absa"))', 'data-id');
  const row = `table.models tbody tr[data-id="${mid}"]`;
  await page.evaluate((sel) => {
    const bar = document.querySelector(`${sel} [role=progressbar]`);
    window.__seen = [bar.getAttribute('aria-valuenow')];
    new MutationObserver(() => window.__seen.push(bar.getAttribute('aria-valuenow')))
      .observe(bar, { attributes: true, attributeFilter: ['aria-valuenow'] });
  }, row);
  await page.waitForFunction((sel) => {
    const bar = document.querySelector(`${sel} [role=progressbar]`);
    const score = document.querySelector(`${sel} td[data-label=Score]`);
    return bar && bar.getAttribute('aria-valuenow') === '100' && score && score.textContent !== '—';
  }, row, { timeout: 120000 });
  const live = await page.evaluate((sel) => ({
    noReload: window.__noReload === true,
    seen: window.__seen,
    status: document.querySelector(`${sel} .badge`).textContent,
    score: document.querySelector(`${sel} td[data-label=Score]`).textContent,
    width: document.querySelector(`${sel} .fill`).style.width,
  }), row);
  check('the progress bar reaches 100 % and the score appears without a reload',
    live.noReload && live.status === 'READY' && /^0\.[0-9]{3}$|^1\.000$/.test(live.score) &&
    live.width === '100%', live);
  await watcher.waitForFunction((sel) => {
    const bar = document.querySelector(`${sel} [role=progressbar]`);
    const score = document.querySelector(`${sel} td[data-label=Score]`);
    return bar && bar.getAttribute('aria-valuenow') === '100' && score && score.textContent !== '—';
  }, row, { timeout: 120000 });
  const watched = await watcher.evaluate((sel) => ({
    noReload: window.__noReload === true,
    rows: document.querySelectorAll('table.models tbody tr').length,
    first: document.querySelector('table.models tbody tr').dataset.id,
    status: document.querySelector(`${sel} .badge`).textContent,
    streams: window.__es,
  }), row);
  check('a list open before the training shows it arrive, reach 100 % and its score, live',
    before === 0 && watched.noReload && watched.rows === 1 && watched.first === mid &&
    watched.status === 'READY' && watched.streams.length === 1, { before, watched });
  await watcher.close();
  const streams = await page.evaluate(() => window.__es);
  check('one event stream for the list', streams.length === 1 &&
    streams[0] === `/projects/${P}/events`, streams);

  // ---- paging through the API's cursor, and the filters ----
  // 26 more models (German CLASS) by the API: 27 in all, more than a page of 25
  const made = await page.evaluate(async ([p, sid]) => {
    const { csrf } = await import('/ui/js/api.js');
    let ok = 0;
    for (let i = 0; i < 26; i++) {
      const r = await fetch(`/projects/${p}/models`, { method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf() },
        body: JSON.stringify({ name: `de-${i}`, language: 'de', annotation_ids: [sid] }) });
      ok += r.status === 201;
    }
    return ok;
  }, [P, data.sessions['Bewertungen (de)']]);
  check('26 more models are created', made === 26, made);
  await page.reload();
  await page.waitForSelector('table.models tbody tr');
  const rowCount = () => page.$$eval('table.models tbody tr', (r) => r.length);
  const paging = { first: await rowCount(), more: await page.isVisible('.pager button') };
  await page.click('.pager button');
  await page.waitForFunction(() => document.querySelectorAll('table.models tbody tr').length > 25);
  paging.all = await rowCount();
  paging.moreAfter = await page.isVisible('.pager button');
  check('the list pages through the cursor (25, then the 2 more)', paging.first === 25 &&
    paging.more && paging.all === 27 && !paging.moreAfter, paging);
  await page.selectOption('#f-type', 'ABSA');
  await page.waitForFunction(() => document.querySelectorAll('table.models tbody tr').length === 1);
  check('the type filter shows the ABSA model only',
    (await page.textContent('table.models tbody tr td.name a')) === 'ui-absa');
  await page.selectOption('#f-type', '');
  await page.waitForFunction(() => document.querySelectorAll('table.models tbody tr').length === 25);
  await page.selectOption('#f-language', 'en');
  await page.waitForFunction(() => document.querySelectorAll('table.models tbody tr').length === 1);
  const en = await page.$$eval('table.models tbody tr', (rows) => rows.map((r) =>
    [r.querySelector('td.name a').textContent, r.querySelector('td[data-label=Language]').textContent]));
  check('the language filter shows the English model only', en.length === 1 &&
    en[0][0] === 'ui-absa' && en[0][1] === 'en', en);
  await page.selectOption('#f-language', '');

  // ---- the same name again: the daemon's error next to the name field ----
  await page.goto(`${base}/ui/#/p/${P}/train`);
  await page.waitForSelector('#f-name');
  await page.fill('#f-name', 'ui-absa');
  await page.check(`#f-annotation_ids-${data.sessions['Restaurant reviews (en)']}`);
  await page.click('form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#err-name').textContent !== '');
  const taken = await page.evaluate(() => ({
    error: document.querySelector('#err-name').textContent,
    invalid: document.querySelector('#f-name').getAttribute('aria-invalid'),
    describedBy: document.querySelector('#f-name').getAttribute('aria-describedby'),
    focused: document.activeElement && document.activeElement.id,
    nextToName: document.querySelector('#err-name').parentElement
      .contains(document.querySelector('#f-name')),
  }));
  check('a taken name: the error is shown next to the name field', /already taken/.test(taken.error) &&
    taken.invalid === 'true' && taken.describedBy.includes('err-name') && taken.focused === 'f-name' &&
    taken.nextToName, taken);

  // ---- a new labeling session, and an upload with its progress ----
  await page.goto(`${base}/ui/#/p/${P}/sessions`);
  await page.waitForSelector('#new-name');
  await page.click('form[aria-labelledby=new-h] button[type=submit]'); // without a name
  await page.waitForFunction(() => document.querySelector('#err-s-name').textContent !== '');
  check('a session without a name: the error is shown next to the name field',
    (await page.getAttribute('#new-name', 'aria-invalid')) === 'true' &&
    (await page.evaluate(() => document.activeElement.id)) === 'new-name',
    await page.textContent('#err-s-name'));
  await page.fill('#new-name', 'Uploaded reviews');
  await page.selectOption('#new-type', 'ABSA');
  await page.selectOption('#new-language', 'en');
  await page.click('form[aria-labelledby=new-h] button[type=submit]');
  await page.waitForSelector('section.session:has(h3:text-is("Uploaded reviews"))');
  const sid = Number(await page.getAttribute('section.session:has(h3:text-is("Uploaded reviews"))',
    'data-id'));
  const card = `section.session[data-id="${sid}"]`;
  check('a new labeling session is created', sid > 0, sid);
  const up = uploadFile(data.tmp);
  await page.evaluate((sel) => {
    const status = document.querySelector(`${sel} .upload-status`);
    window.__upload = [];
    new MutationObserver(() => window.__upload.push(status.textContent))
      .observe(status, { childList: true, characterData: true, subtree: true });
  }, card);
  await page.setInputFiles(`${card} input[type=file]`, up.file);
  await page.click(`${card} form.upload button[type=submit]`);
  await page.waitForFunction((sel) => /^Uploaded /.test(
    document.querySelector(`${sel} .upload-status`).textContent), card, { timeout: 60000 });
  const upload = await page.evaluate((sel) => ({
    texts: window.__upload,
    value: document.querySelector(`${sel} progress`).value,
    hidden: document.querySelector(`${sel} progress`).hidden,
    facts: document.querySelector(`${sel} .meta`).textContent,
    charts: document.querySelectorAll(`${sel} svg.chart rect.bar`).length,
  }), card);
  const pcts = upload.texts.map((t) => /: ([0-9]+) %/.exec(t)).filter(Boolean).map((m) => Number(m[1]));
  check('the upload shows its progress, then the documents stored', upload.value === 100 &&
    !upload.hidden && pcts.length >= 1 && pcts.every((p, i) => i === 0 || p >= pcts[i - 1]) &&
    upload.texts[upload.texts.length - 1].includes(`${up.count} documents added`) &&
    upload.facts.includes(`${up.count} documents`), { pcts, last: upload.texts.slice(-1), facts: upload.facts });
  check('the new session\u2019s label inventory is drawn', upload.charts >= 4, upload.charts);

  // ---- axe on every view (in its own context: see axeViolations) ----
  const axeContext = await browser.newContext({ viewport: { width: 1280, height: 900 },
    bypassCSP: true });
  axeContext.on('request', (req) => {
    const u = new URL(req.url());
    if (u.origin !== origin && u.protocol !== 'data:') foreign.push(req.url());
  });
  const axePage = await axeContext.newPage();
  axePage.on('pageerror', (e) => pageErrors.push(e.message));
  await axePage.goto(`${base}/ui/`);
  await axePage.waitForSelector('#token');
  const signInAxe = await axeViolations(axePage);
  check('axe: no serious or critical violation on the sign-in view', signInAxe.length === 0, signInAxe);
  await signIn(axePage, base, data.token);
  const show = (hash, selector) => async () => {
    await axePage.goto(`${base}/ui/${hash}`);
    await axePage.waitForSelector(selector);
  };
  await axeAll(axePage, {
    'the projects view': show('#/', '.project .counts:not(:empty)'),
    'the models view': show(`#/p/${P}`, 'table.models tbody tr .badge'),
    'the training form': show(`#/p/${P}/train`, '#f-name'),
    'the training form with errors': async () => {
      await show(`#/p/${P}/train`, '#f-name')();
      await axePage.click('form button[type=submit]');
      await axePage.waitForFunction(() => document.querySelector('#err-name').textContent !== '');
    },
    'the labeling sessions': show(`#/p/${P}/sessions`, 'section.session svg.chart'),
  });

  // ---- sign out ----
  await page.goto(`${base}/ui/#/`);
  await page.waitForSelector('.who button');
  await page.click('.who button');
  await page.waitForSelector('#token');
  const after = await page.evaluate(async () => (await fetch('/session')).status);
  check('signing out ends the session (sign-in form, GET /session 401)', after === 401, after);

  // ---- all along ----
  check('no request left the daemon\u2019s origin', foreign.length === 0, foreign);
  const csp = await cspReported();
  check('no Content-Security-Policy violation', csp.length === 0 && cspConsole.length === 0,
    { csp, cspConsole });
  check('no script error', pageErrors.length === 0, pageErrors);
  console.log(`dashboard test took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  if (daemon && daemon.exitCode === null) daemon.kill('SIGTERM');
  if (data && failed === 0) fs.rmSync(data.tmp, { recursive: true, force: true });
  else if (data) console.log(`dashboard: files kept in ${data.tmp}`);
}

main()
  .catch((e) => {
    failed++;
    console.log(`FAIL ${e && e.stack ? e.stack : e}`);
  })
  .finally(async () => {
    await cleanup();
    console.log(`dashboard: ${passed} passed, ${failed} failed`);
    process.exit(failed === 0 ? 0 : 1);
  });
