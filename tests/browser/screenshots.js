// SPDX-License-Identifier: MIT
// `make screenshots`: every view of the dashboard, at 1280 px and at 360 px,
// into docs/screenshots/ (the README shows them). The daemon gets the demo
// data, and when DATA (../shared/data) holds the public corpora also
// SemEval-16 restaurants (ABSA, en) and GermEval 2018 (CLASS, de); models
// are trained on them (on the demo data otherwise) before anything is shot.
// Usage: node tests/browser/screenshots.js MODELD_BIN DATA OUTDIR
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const { demoData, startDaemon, launch, signIn } = require('./demo.js');

const BIN = path.resolve(process.argv[2] || 'build/rel/modeld');
const DATA = path.resolve(process.argv[3] || '../shared/data');
const OUT = path.resolve(process.argv[4] || 'docs/screenshots');
const SEMEVAL = path.join(DATA, 'semeval16_en_restaurants.jsonl');
const GERMEVAL = path.join(DATA, 'germeval2018_de.jsonl');
const MOBILE_MAX = 2200; // px of a 360 px page shot at most

// One request to the daemon with the token: resolves {status, body}.
function call(base, token, method, p, body) {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? null : JSON.stringify(body);
    const req = http.request(`${base}${p}`, {
      method,
      headers: Object.assign({ Authorization: `Bearer ${token}` },
        text ? { 'Content-Type': 'application/json' } : {}),
    }, (res) => {
      let out = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { out += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: out ? JSON.parse(out) : null }));
    });
    req.on('error', reject);
    if (text) req.write(text);
    req.end();
  });
}

// Start a training; resolves the model once it is no longer QUEUED or TRAINING.
async function train(base, token, project, body) {
  const r = await call(base, token, 'POST', `/projects/${project}/models`, body);
  if (r.status !== 201) throw new Error(`training ${body.name}: ${r.status} ${JSON.stringify(r.body)}`);
  for (let i = 0; i < 1800; i++) {
    const m = await call(base, token, 'GET', `/projects/${project}/models/${r.body.id}`);
    if (!['CREATED', 'QUEUED', 'TRAINING'].includes(m.body.status)) return m.body;
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error(`training ${body.name} did not finish`);
}

async function main() {
  const real = fs.existsSync(SEMEVAL) && fs.existsSync(GERMEVAL);
  const data = demoData(BIN, (db, project, imp) => {
    if (!real) return;
    imp('SemEval-16 restaurants (en)', 'ABSA', 'en', SEMEVAL);
    imp('GermEval 2018 (de)', 'CLASS', 'de', GERMEVAL);
  });
  const S = data.sessions;
  const d = await startDaemon(BIN, data.db, data.tmp, 2);
  let browser = null;
  try {
    const P = data.project;
    const models = [];
    if (real) {
      console.log('training on ../shared/data (SemEval-16, GermEval 2018)…');
      models.push(await train(d.base, data.token, P, { name: 'restaurants-absa',
        display_name: 'Restaurant aspects (SemEval-16)', language: 'en',
        short_description: 'Aspect categories and polarities of restaurant reviews',
        annotation_ids: [S['SemEval-16 restaurants (en)']] }));
      models.push(await train(d.base, data.token, P, { name: 'germeval-class',
        display_name: 'Offensive language (GermEval 2018)', language: 'de',
        annotation_ids: [S['GermEval 2018 (de)']] }));
    }
    models.push(await train(d.base, data.token, P, { name: 'demo-absa', language: 'en',
      annotation_ids: [S['Restaurant reviews (en)'], S['More restaurant reviews (en)']] }));
    models.push(await train(d.base, data.token, P, { name: 'bewertungen', language: 'de',
      display_name: 'Bewertungen', annotation_ids: [S['Bewertungen (de)']] }));
    models.push(await train(d.base, data.token, P, { name: 'arabic-reviews', language: 'ar',
      annotation_ids: [S['مراجعات (ar)']] }));
    const featured = models[0];

    fs.mkdirSync(OUT, { recursive: true });
    browser = await launch();
    const shots = [
      ['signin', null, '#token'],
      ['projects', '#/', '.project .counts:not(:empty)'],
      ['models', `#/p/${P}`, 'table.models tbody tr .badge'],
      ['model', `#/p/${P}/m/${featured.id}`, 'main h1'],
      ['train', `#/p/${P}/train`, '#f-name'],
      ['sessions', `#/p/${P}/sessions`, 'section.session svg.chart'],
    ];
    for (const [suffix, width, height, scheme] of [['desktop', 1280, 860, 'light'],
      ['mobile', 360, 740, 'light'], ['dark', 1280, 860, 'dark']]) {
      const context = await browser.newContext({ viewport: { width, height },
        deviceScaleFactor: 1, colorScheme: scheme });
      const page = await context.newPage();
      for (const [name, hash, selector] of shots) {
        if (scheme === 'dark' && !['models', 'model'].includes(name)) continue;
        if (hash === null) {
          await page.goto(`${d.base}/ui/`);
        } else {
          if (page.url() === 'about:blank' || (await page.$('#token'))) await signIn(page, d.base, data.token);
          await page.goto(`${d.base}/ui/${hash}`);
        }
        await page.waitForSelector(selector);
        if (name === 'model') { // show a prediction with its highlighted evidence
          await page.fill('#mp-text', 'The pasta was delicious, but the service was slow and the wine too expensive.');
          await page.click('button:has-text("Predict")');
          await page.waitForSelector('.pred-text mark');
        }
        await page.waitForTimeout(name === 'model' ? 2000 : 400); // charts, fonts, the live status
        const file = path.join(OUT, `${name}-${suffix}.png`);
        // the whole page; at 360 px its first screens (a phone scrolls)
        const full = await page.evaluate(() => document.documentElement.scrollHeight);
        await page.screenshot({ path: file, fullPage: true,
          clip: { x: 0, y: 0, width, height: width < 800 ? Math.min(full, MOBILE_MAX) : full } });
        console.log(`wrote ${path.relative(process.cwd(), file)}`);
      }
      await context.close();
    }
  } finally {
    if (browser) await browser.close().catch(() => {});
    d.proc.kill('SIGTERM');
    fs.rmSync(data.tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
