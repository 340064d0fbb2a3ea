// SPDX-License-Identifier: MIT
// The browser test of the model page (ui/js/model.js, ui/js/charts.js; part
// of `make test-browser`): Debian's headless Chromium, driven by
// playwright-core, against the real daemon on a fresh database with the
// demo data (tools/demo-data). It signs in through the dashboard's form and
// then, on the model page:
//   - stops a queued training (Stop training, confirmed) and sees it FAILED;
//   - watches a queued model train live: the daemon starts without workers
//     (so the model waits, QUEUED, 0 %), then restarts on the same port with
//     one; the page follows the model's event stream across the restart and
//     shows the progress reaching 100 % and the score, without a reload;
//   - sees the per-label chart and the confusion heat map with the numbers
//     of GET …/models/{id}, and the top features;
//   - types a sentence, predicts, and sees exactly the explanation spans of
//     the API marked in the text;
//   - moves the model to ACTIVE (a dismissed confirmation changes nothing,
//     an accepted one does), then to PUBLISHED, and deletes it (confirmed),
//     back on the list;
//   - predicts with an ABSA model: each aspect's spans are marked, and
//     selecting an aspect marks only its evidence, with its polarity's;
//   - predicts with an Arabic model: the text shows right to left;
//   - axe-core finds no serious or critical violation (1280 px and 360 px,
//     light and dark), nothing is wider than a 360 px screen, no
//     Content-Security-Policy violation happens and no request leaves the
//     daemon's origin.
// Usage: node tests/browser/model.test.js MODELD_BIN [SCREENSHOT_DIR]
// (NODE_PATH names the node_modules holding playwright-core and axe-core.)
// The demo data, the browser and the sign-in are demo.js's. Every process
// it starts is stopped on exit.
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const path = require('path');
const { demoData, launch, signIn } = require('./demo.js');

const BIN = path.resolve(process.argv[2] || 'build/rel/modeld');
const SHOTS = process.argv[3] ? path.resolve(process.argv[3]) : null;
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
let passed = 0;
let failed = 0;
let daemon = null;
let browser = null;
let TMP = null;

function check(name, ok, detail) {
  if (ok) {
    passed++;
    console.log(`ok   ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail === undefined ? '' : ': ' + JSON.stringify(detail)}`);
  }
}

// A TCP port free right now (the daemon restarts on the same one).
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Start the daemon on port; resolves with its base URL once it listens.
// (demo.js's startDaemon takes an ephemeral port; this test restarts the
// daemon where the page expects it.)
function startDaemon(db, port, workers) {
  return new Promise((resolve, reject) => {
    const args = ['serve', '--db', db, '--data-dir', path.join(TMP, 'artifacts'),
      '--port', String(port), '--workers', String(workers), '--shutdown-grace', '2'];
    const proc = spawn(BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    daemon = proc;
    let log = '';
    const timer = setTimeout(() => reject(new Error('the daemon did not start: ' + log)), 10000);
    proc.stderr.on('data', (d) => {
      log += d;
      const m = /listening on (http:\/\/[0-9.]+:[0-9]+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the daemon exited (${code}): ${log}`));
    });
  });
}

function stopDaemon() {
  return new Promise((resolve) => {
    if (!daemon || daemon.exitCode !== null) return resolve();
    daemon.once('exit', () => resolve());
    daemon.kill('SIGTERM');
  });
}

// A request to the daemon from this process, with the bearer token.
function request(base, token, method, p, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const req = http.request(base + p, {
      method,
      headers: Object.assign({ Authorization: `Bearer ${token}` },
        data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {}),
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        let parsed = null;
        try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = text; }
        resolve({ status: res.statusCode, body: parsed });
      });
    });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

// axe-core on the page as it is: the serious and critical violations.
// (page.evaluate is not subject to the page's CSP, so axe needs no inline
// script.)
async function axeViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE);
  const res = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  return res.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

async function shot(page, name) {
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

// The text of the page's marks without their screen-reader suffix.
function markedTexts(page) {
  return page.$$eval('.pred-text mark', (ms) => ms.map((m) => {
    const c = m.cloneNode(true);
    c.querySelectorAll('.sr-only').forEach((s) => s.remove());
    return c.textContent;
  }));
}

async function main() {
  const t0 = Date.now();
  if (SHOTS) fs.mkdirSync(SHOTS, { recursive: true });
  // ---- a fresh database with the demo data ----
  const data = demoData(BIN);
  TMP = data.tmp;
  const project = data.project;
  const token = data.token;
  const de = data.sessions['Bewertungen (de)'];
  const ar = data.sessions['مراجعات (ar)'];
  const restaurants = [data.sessions['Restaurant reviews (en)'], data.sessions['More restaurant reviews (en)']];
  const db = data.db;

  // first without workers: what is created stays QUEUED until the restart
  const port = await freePort();
  let base = await startDaemon(db, port, 0);
  const P = `/projects/${project}`;
  const api = (method, p, body) => request(base, token, method, p, body);
  const create = async (body) => {
    const r = await api('POST', `${P}/models`, body);
    if (r.status !== 201) throw new Error(`create: ${JSON.stringify(r)}`);
    return r.body.id;
  };
  const watched = await create({ name: 'de-class', display_name: 'Bewertungen <b>DE</b>', language: 'de',
    annotation_ids: [de] });
  const stopped = await create({ name: 'de-stop', language: 'de', annotation_ids: [de] });

  browser = await launch();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const outside = [];
  const cspErrors = [];
  const pageErrors = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.protocol !== 'data:' && u.origin !== base) outside.push(r.url());
  });
  page.on('console', (m) => {
    if (/Content[- ]Security[- ]Policy/i.test(m.text())) cspErrors.push(m.text());
  });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`Content-Security-Policy violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  // waits (up to 20 s) until model id is READY
  const trained = async (id) => {
    for (let i = 0; i < 200; i++) {
      if ((await api('GET', `${P}/models/${id}`)).body.status === 'READY') return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`model ${id} did not train`);
  };
  const go = async (hash) => {
    await page.evaluate((h) => { location.hash = h; }, hash);
  };
  const badge = () => page.textContent('.model-head .badge');

  // ---- sign in through the form ----
  await signIn(page, base, token);
  await go(`#/p/${project}/m/${stopped}`);
  await page.waitForSelector('.model-head .badge', { timeout: 10000 });
  check('signed in through the form, the model page shows the model',
    (await page.textContent('.model-page h1')) === 'de-stop' &&
    (await page.textContent('.model-subtitle')).includes('CLASS'));

  // ---- stop a queued training ----
  check('a queued model is QUEUED at 0 %', (await badge()).includes('QUEUED') &&
    (await page.$eval('#mp-progress', (p) => p.value)) === 0);
  await page.click('.model-actions button:has-text("Stop training")');
  await page.waitForSelector('dialog.confirm[open]');
  const stopText = await page.textContent('dialog.confirm p');
  await page.click('dialog.confirm button:has-text("Stop training")');
  await page.waitForFunction(() => document.querySelector('.model-head .badge').textContent.includes('FAILED'));
  const stoppedModel = await api('GET', `${P}/models/${stopped}`);
  check('Stop training asks first, then the model is FAILED (canceled)',
    stopText.includes('de-stop') && stoppedModel.body.status === 'FAILED' &&
    stoppedModel.body.failure_reason === 'canceled' &&
    (await page.textContent('.failure')).includes('Canceled'), { stopText, m: stoppedModel.body.status });

  // ---- watch a training live, across a daemon restart ----
  await go(`#/p/${project}/m/${watched}`);
  await page.waitForSelector('.model-page h1:has-text("Bewertungen <b>DE</b>")');
  check('a user-given display name is shown as text, not markup',
    (await page.$$('.model-page h1 b')).length === 0);
  await page.waitForSelector('.live.on');
  check('the queued model: QUEUED, 0 %, created and queued in the timeline, live',
    (await badge()).includes('QUEUED') &&
    (await page.$eval('#mp-progress', (p) => p.value)) === 0 &&
    (await page.$$('.timeline .step-done')).length === 2, await badge());
  await shot(page, 'model-queued');
  // record every progress value and status the page shows from now on
  await page.evaluate(() => {
    window.__sameDocument = true;
    window.__seen = [];
    const note = () => {
      const p = document.getElementById('mp-progress');
      const b = document.querySelector('.model-head .badge');
      if (p && b) window.__seen.push([p.value, b.textContent.replace('Status: ', '')]);
    };
    new MutationObserver(note).observe(document.querySelector('.model-page'),
      { subtree: true, childList: true, attributes: true, characterData: true });
  });
  await stopDaemon();
  base = await startDaemon(db, port, 1);
  await page.waitForSelector('.score-value', { timeout: 30000 });
  await page.waitForSelector('.model-evaluation:not([hidden]) svg.bar-chart', { timeout: 10000 });
  const seen = await page.evaluate(() => window.__seen);
  if (process.env.DEBUG_SEEN) console.log(JSON.stringify(seen));
  const values = seen.map(([v]) => v);
  const model = (await api('GET', `${P}/models/${watched}`)).body;
  check('the page followed the training without a reload: progress rose to 100 %, READY, the score',
    await page.evaluate(() => window.__sameDocument === true) &&
    values.every((v, i) => i === 0 || v >= values[i - 1]) && values[values.length - 1] === 100 &&
    seen.some(([, s]) => s === 'READY') &&
    (await page.textContent('.score-value')) === model.score.toFixed(2) &&
    (await page.textContent('.progress-value')) === '100 %', { seen: seen.slice(-5), score: model.score });
  check('the timeline has all four steps done',
    (await page.$$('.timeline .step-done')).length === 4 && (await page.$$('.timeline time')).length === 4);

  // ---- the evaluation ----
  const labels = model.metrics.labels;
  const bars = await page.$$eval('svg.bar-chart rect.bar', (rs) => rs.length);
  const rowsShown = await page.$$eval('.model-evaluation .chart-table', (ds) =>
    ds[0].querySelectorAll('tbody tr').length);
  const chartTitle = await page.$eval('svg.bar-chart', (s) => {
    const ids = s.getAttribute('aria-labelledby').split(' ');
    return ids.map((id) => document.getElementById(id).textContent).join(' | ');
  });
  check('the per-label chart: precision, recall and F1 for each class, with a title, a description and a table',
    bars === labels.length * 3 && rowsShown === labels.length && /precision, recall and F1/.test(chartTitle),
    { bars, rowsShown, chartTitle, labels: labels.length });
  const conf = model.metrics.confusion.class;
  const cells = await page.$$eval('svg.heat-map text.count', (ts) => ts.map((t) => Number(t.textContent)));
  check('the confusion heat map has the matrix of the API', JSON.stringify(cells) ===
    JSON.stringify(conf.matrix.flat()), { cells, matrix: conf.matrix });
  await page.waitForSelector('.feature-card');
  check('the top features: one card per class',
    (await page.$$('.feature-card')).length === conf.labels.length);

  // ---- predict, with the explanation spans marked ----
  const sentence = 'Das Essen war kalt und die Bedienung unfreundlich.';
  await page.fill('#mp-text', sentence);
  await page.click('.predict-form button[type=submit]');
  await page.waitForSelector('.pred-text mark');
  const expected = (await api('POST', `${P}/models/${watched}/predict`, { texts: [sentence], explain: true }))
    .body.predictions[0];
  const marked = await markedTexts(page);
  const spans = [...new Set(expected.explanation.map((s) => s.text))].sort();
  check('a prediction marks exactly the spans of the explanation, with accessible labels',
    JSON.stringify([...new Set(marked)].sort()) === JSON.stringify(spans) &&
    (await page.textContent('.pred-text .sr-only')).includes(`evidence for ${expected.class}`) &&
    (await page.textContent('.pred-items')).includes(expected.class), { marked, spans });
  await shot(page, 'model-desktop');

  // ---- accessibility, desktop and 360 px ----
  let v = await axeViolations(page);
  check('axe: no serious or critical violation (1280 px)', v.length === 0, v);
  await page.setViewportSize({ width: 360, height: 800 });
  v = await axeViolations(page);
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  check('axe: no serious or critical violation (360 px)', v.length === 0, v);
  check('nothing is wider than a 360 px screen', wide <= 360, wide);
  await shot(page, 'model-360');
  await page.emulateMedia({ colorScheme: 'dark' });
  v = await axeViolations(page);
  check('axe: no serious or critical violation (360 px, dark)', v.length === 0, v);
  await shot(page, 'model-360-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1280, height: 900 });

  // ---- PATCH to ACTIVE, with a confirmation ----
  await page.click('.model-actions button:has-text("Activate")');
  await page.waitForSelector('dialog.confirm[open]');
  await page.click('dialog.confirm button:has-text("Cancel")');
  await page.waitForSelector('dialog.confirm', { state: 'detached' });
  check('a dismissed confirmation changes nothing',
    (await api('GET', `${P}/models/${watched}`)).body.status === 'READY' && (await badge()).includes('READY'));
  await page.click('.model-actions button:has-text("Activate")');
  await page.waitForSelector('dialog.confirm[open]');
  const activateText = await page.textContent('dialog.confirm p');
  await page.click('dialog.confirm button:has-text("Activate")');
  await page.waitForFunction(() => document.querySelector('.model-head .badge').textContent.includes('ACTIVE'));
  check('Activate, confirmed: the model is ACTIVE, and can be published next',
    activateText.includes('Bewertungen <b>DE</b>') &&
    (await api('GET', `${P}/models/${watched}`)).body.status === 'ACTIVE' &&
    (await page.$$('.model-actions button:has-text("Publish")')).length === 1, activateText);

  await page.click('.model-actions button:has-text("Publish")');
  await page.waitForSelector('dialog.confirm[open]');
  await page.click('dialog.confirm button:has-text("Publish")');
  await page.waitForFunction(() => document.querySelector('.model-head .badge').textContent.includes('PUBLISHED'));
  check('Publish, confirmed: the model is PUBLISHED, and can be unpublished',
    (await api('GET', `${P}/models/${watched}`)).body.status === 'PUBLISHED' &&
    (await page.$$('.model-actions button:has-text("Unpublish")')).length === 1);

  // ---- delete, with a confirmation, back to the list ----
  await page.click('.model-actions button:has-text("Delete")');
  await page.waitForSelector('dialog.confirm[open]');
  await page.click('dialog.confirm button:has-text("Delete")');
  await page.waitForFunction((h) => location.hash === h, `#/p/${project}`);
  check('Delete, confirmed: the model is gone and the page is the project again',
    (await api('GET', `${P}/models/${watched}`)).status === 404);

  // ---- an Arabic model: the text reads right to left ----
  const arabic = await create({ name: 'ar-class', language: 'ar', annotation_ids: [ar] });
  await trained(arabic);
  await go(`#/p/${project}/m/${arabic}`);
  await page.waitForSelector('.model-page h1:has-text("ar-class")');
  await page.waitForSelector('#mp-text');
  const arText = 'الطعام لذيذ جدا والخدمة ممتازة';
  await page.fill('#mp-text', arText);
  await page.click('.predict-form button[type=submit]');
  await page.waitForSelector('.pred-text mark');
  const dirs = await page.evaluate(() => ({
    text: getComputedStyle(document.querySelector('.pred-text')).direction,
    input: getComputedStyle(document.getElementById('mp-text')).direction,
    lang: document.querySelector('.pred-text').lang,
  }));
  check('an Arabic prediction shows right to left, with a highlighted span',
    dirs.text === 'rtl' && dirs.input === 'rtl' && dirs.lang === 'ar' &&
    arText.includes((await markedTexts(page))[0]), dirs);
  await page.setViewportSize({ width: 360, height: 800 });
  v = await axeViolations(page);
  check('axe: no serious or critical violation (Arabic model, 360 px)', v.length === 0, v);
  await shot(page, 'model-arabic-360');

  // ---- an ABSA model: the spans of every aspect, then of the one selected ----
  await page.setViewportSize({ width: 1280, height: 900 });
  const absa = await create({ name: 'absa', language: 'en', annotation_ids: restaurants });
  await trained(absa);
  await go(`#/p/${project}/m/${absa}`);
  await page.waitForSelector('.model-page h1:has-text("absa")');
  await page.waitForSelector('svg.heat-map'); // the polarity confusion
  const review = 'The pasta was delicious but the waiter was rude.';
  await page.fill('#mp-text', review);
  await page.click('.predict-form button[type=submit]');
  await page.waitForSelector('.pred-text mark');
  const absaWant = (await api('POST', `${P}/models/${absa}/predict`, { texts: [review], explain: true }))
    .body.predictions[0].aspects;
  const texts = (list) => [...new Set(list.map((x) => x.text))].sort();
  const allMarked = [...new Set(await markedTexts(page))].sort();
  check('ABSA: every detected aspect is listed and its spans are marked',
    absaWant.length > 0 && (await page.$$('.pred-items button')).length === absaWant.length &&
    JSON.stringify(allMarked) === JSON.stringify(texts(absaWant.flatMap((a) => a.explanation))),
    { allMarked, absaWant });
  await page.click('.pred-items li:first-child button');
  await page.waitForSelector('.pred-items li:first-child button[aria-pressed="true"]');
  const one = absaWant[0];
  const oneMarked = [...new Set(await markedTexts(page))].sort();
  check('ABSA: the selected aspect marks only its spans and those of its polarity (dashed)',
    JSON.stringify(oneMarked) ===
      JSON.stringify(texts([...one.explanation, ...(one.polarity_explanation || [])])) &&
    ((one.polarity_explanation || []).length === 0 || (await page.$$('.pred-text mark.hl-pol')).length > 0),
    { oneMarked, one });
  await page.setViewportSize({ width: 360, height: 800 });
  v = await axeViolations(page);
  check('axe: no serious or critical violation (ABSA model, 360 px)', v.length === 0, v);
  await shot(page, 'model-absa-360');

  check('no Content-Security-Policy violation', cspErrors.length === 0, cspErrors);
  check('no request left the daemon’s origin', outside.length === 0, outside);
  check('no script error', pageErrors.length === 0, pageErrors);
  console.log(`model page test took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  await stopDaemon();
  if (TMP && failed === 0) fs.rmSync(TMP, { recursive: true, force: true });
  else if (TMP) console.log(`model page: files kept in ${TMP}`);
}

main()
  .catch((e) => {
    failed++;
    console.log(`FAIL ${e && e.stack ? e.stack : e}`);
  })
  .finally(async () => {
    await cleanup();
    console.log(`model page: ${passed} passed, ${failed} failed`);
    process.exit(failed === 0 ? 0 : 1);
  });
