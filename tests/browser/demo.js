// SPDX-License-Identifier: MIT
// demo: what the dashboard test and `make screenshots` share. A fresh
// database with the demo data of tools/demo.sh (made with the admin CLI, as
// the README shows), a daemon serving it on an ephemeral port of 127.0.0.1,
// and Debian's headless Chromium with the flags the issue names. Every
// process it starts is stopped by stop().
'use strict';

const { chromium } = require('playwright-core');
const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const DEMO = path.resolve(__dirname, '../../tools/demo-data');

function modeld(bin, ...args) {
  return execFileSync(bin, args, { encoding: 'utf8' }).trim();
}

// The demo database in a fresh temporary folder: a workspace, a project, a
// user (OWNER) with a token, the four demo sessions. extra(db, project) may
// import more. Returns {tmp, db, project, user, token, sessions: {name: id}}.
function demoData(bin, extra) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'modeld-ui.'));
  const db = path.join(tmp, 'demo.db');
  modeld(bin, 'migrate', '--db', db);
  const ws = modeld(bin, 'workspace', 'create', '--db', db, '--name', 'Demo workspace');
  const project = modeld(bin, 'project', 'create', '--db', db, '--workspace', ws, '--name', 'Demo project');
  const user = modeld(bin, 'user', 'create', '--db', db, '--name', 'demo');
  const token = modeld(bin, 'token', 'create', '--db', db, '--user', user, '--expires-in', '7200');
  modeld(bin, 'member', 'add', '--db', db, '--project', project, '--user', user, '--role', 'OWNER');
  const sessions = {};
  const imp = (name, type, lang, file) => {
    sessions[name] = Number(modeld(bin, 'annotations', 'import', '--db', db, '--project', project,
      '--name', name, '--type', type, '--language', lang, file));
  };
  imp('Restaurant reviews (en)', 'ABSA', 'en', path.join(DEMO, 'restaurants_en.jsonl'));
  imp('More restaurant reviews (en)', 'ABSA', 'en', path.join(DEMO, 'restaurants_en_more.jsonl'));
  imp('Bewertungen (de)', 'CLASS', 'de', path.join(DEMO, 'reviews_de.jsonl'));
  imp('مراجعات (ar)', 'CLASS', 'ar', path.join(DEMO, 'reviews_ar.jsonl'));
  if (extra) extra(db, Number(project), imp);
  return { tmp, db, project: Number(project), user: Number(user), token, sessions };
}

// Start `bin serve` on db; resolves {base, proc} once it logs "listening on".
function startDaemon(bin, db, tmp, workers) {
  return new Promise((resolve, reject) => {
    const args = ['serve', '--db', db, '--data-dir', path.join(tmp, 'artifacts'),
      '--bind', '127.0.0.1', '--port', '0', '--workers', String(workers)];
    const proc = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => reject(new Error('the daemon did not start: ' + log)), 15000);
    proc.stderr.on('data', (d) => {
      log += d;
      if (log.length > 200000) log = log.slice(-100000);
      const m = /listening on (http:\/\/[0-9.]+:[0-9]+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve({ base: m[1], proc, log: () => log });
      }
    });
    proc.on('exit', (code) => reject(new Error(`the daemon exited (${code}): ${log}`)));
  });
}

function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

// Sign page in through the dashboard's own form (the token is pasted once).
async function signIn(page, base, token) {
  await page.goto(`${base}/ui/`);
  await page.waitForSelector('#token');
  await page.fill('#token', token);
  await page.click('form button[type=submit]');
  await page.waitForSelector('.who .user');
}

module.exports = { modeld, demoData, startDaemon, launch, signIn };
