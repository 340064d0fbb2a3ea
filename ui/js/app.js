// SPDX-License-Identifier: MIT
// app: the dashboard's shell. Reads the session (GET /session), shows the
// sign-in form when there is none, and otherwise routes the location's hash
// to a view:
//   #/                     the caller's projects          (projects.js)
//   #/p/{pid}              a project's models, live       (models.js)
//   #/p/{pid}/m/{mid}      a model's page                 (model.js)
//   #/p/{pid}/train        the form to start a training   (train.js)
//   #/p/{pid}/sessions     labeling sessions and uploads  (sessions.js)
// A view is render(root, ctx) -> cleanup (or a promise of it); the cleanup
// runs when the view is left (it closes event streams, timers).
import { api, session, signIn, signOut, problemMessage } from './api.js';
import { h, clear } from './dom.js';

const main = document.getElementById('main');
const crumbsEl = document.getElementById('crumbs');
const whoEl = document.getElementById('who');
const announceEl = document.getElementById('announce');

let user = null;          // the signed-in user ({id, name}), or null
let cleanup = null;       // the current view's cleanup
let generation = 0;       // bumps on each route, so a slow view cannot draw over a newer one
let routed = false;       // a view was shown already since the page was loaded
const projectNames = new Map(); // project id -> name, for the breadcrumbs
const modelNames = new Map(); // "pid/mid" -> the model's display name, for the breadcrumbs

// Tell assistive technology about something that happened out of focus.
function announce(text) {
  announceEl.textContent = '';
  setTimeout(() => { announceEl.textContent = text; }, 50);
}

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

// The breadcrumbs: [label, hash] pairs, the last one the current page.
function crumbs(items) {
  clear(crumbsEl);
  items.forEach(([label, hash], i) => {
    const last = i === items.length - 1;
    crumbsEl.appendChild(h('li', null,
      last ? h('span', { 'aria-current': 'page' }, label) : h('a', { href: hash }, label)));
  });
}

function projectLabel(pid) {
  return projectNames.get(pid) || `Project ${pid}`;
}

function modelLabel(pid, mid) {
  return modelNames.get(`${pid}/${mid}`) || `Model ${mid}`;
}

// Learn the names the breadcrumbs of a route show (the project's, the
// model's) when they are not known yet; redraw(...) then draws them again.
async function learnNames(pid, mid, redraw) {
  const [p, m] = await Promise.all([
    pid && !projectNames.has(pid) ? api('GET', '/projects') : null,
    mid && !modelNames.has(`${pid}/${mid}`) ? api('GET', `/projects/${pid}/models/${mid}`) : null,
  ]).catch(() => [null, null]);
  if (p && p.status === 200 && p.body) {
    for (const x of p.body.items || []) projectNames.set(x.id, x.name);
  }
  if (m && m.status === 200 && m.body) {
    modelNames.set(`${pid}/${mid}`, m.body.display_name || m.body.name);
  }
  if (p || m) redraw();
}

function showWho() {
  clear(whoEl);
  if (!user) return;
  whoEl.appendChild(h('span', { class: 'user' }, user.name || `user ${user.id}`));
  whoEl.appendChild(h('button', { type: 'button', class: 'link', onclick: doSignOut }, 'Sign out'));
}

async function doSignOut() {
  await signOut().catch(() => null);
  user = null;
  showWho();
  announce('Signed out.');
  route();
}

// Called by views when the daemon answers 401: the session has ended.
function signedOut() {
  user = null;
  showWho();
  route();
}

function signInView(root) {
  crumbs([['Sign in', '#/']]);
  const err = h('p', { class: 'field-error', id: 'token-error', role: 'alert' });
  const input = h('input', {
    id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false',
    required: true, 'aria-describedby': 'token-help token-error',
  });
  const form = h('form', { class: 'card narrow', onsubmit: submit },
    h('h1', { tabindex: '-1' }, 'Sign in'),
    h('div', { class: 'field' },
      h('label', { for: 'token' }, 'Token'),
      input,
      h('p', { class: 'help', id: 'token-help' },
        'Paste a token printed by ', h('code', null, 'modeld token create'),
        '. It is exchanged once for a session cookie and not kept by this page.'),
      err),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Sign in')));
  async function submit(ev) {
    ev.preventDefault();
    err.textContent = '';
    input.removeAttribute('aria-invalid');
    let r;
    try {
      r = await signIn(input.value.trim());
    } catch (e) {
      err.textContent = 'The daemon cannot be reached.';
      return;
    }
    input.value = '';
    if (r.status !== 201) {
      input.setAttribute('aria-invalid', 'true');
      err.textContent = r.status === 400 ? 'That is not a token.' : problemMessage(r);
      input.focus();
      return;
    }
    const s = await session();
    user = s ? s.user : { id: 0, name: '' };
    showWho();
    announce('Signed in.');
    route();
  }
  root.appendChild(form);
  input.focus();
  return null;
}

// The model page is uimodel's module; without it (a build from before it
// landed) a note says so.
async function modelView(root, ctx) {
  let mod;
  try {
    mod = await import('./model.js');
  } catch (e) {
    root.appendChild(h('section', { class: 'card' },
      h('h1', { tabindex: '-1' }, `Model ${ctx.modelId}`),
      h('p', null, 'The model page is not part of this build.')));
    return null;
  }
  return mod.renderModel(root, { projectId: ctx.projectId, modelId: ctx.modelId,
    navigate: ctx.navigate });
}

function viewModule(name) {
  return async (root, ctx) => (await import(`./${name}.js`)).render(root, ctx);
}

const ROUTES = [
  [/^#?\/?$/, viewModule('projects'), () => []],
  [/^#\/p\/([1-9][0-9]*)$/, viewModule('models'), (p) => [[projectLabel(p), `#/p/${p}`]]],
  [/^#\/p\/([1-9][0-9]*)\/m\/([1-9][0-9]*)$/, modelView,
    (p, m) => [[projectLabel(p), `#/p/${p}`], [modelLabel(p, m), `#/p/${p}/m/${m}`]]],
  [/^#\/p\/([1-9][0-9]*)\/train$/, viewModule('train'),
    (p) => [[projectLabel(p), `#/p/${p}`], ['New training', `#/p/${p}/train`]]],
  [/^#\/p\/([1-9][0-9]*)\/sessions$/, viewModule('sessions'),
    (p) => [[projectLabel(p), `#/p/${p}`], ['Labeling sessions', `#/p/${p}/sessions`]]],
];

async function route() {
  const gen = ++generation;
  if (cleanup) {
    try { cleanup(); } catch (e) { /* a view's cleanup must not stop the next */ }
    cleanup = null;
  }
  clear(main);
  if (!user) {
    signInView(main);
    return;
  }
  const hash = location.hash || '#/';
  for (const [re, view, trail] of ROUTES) {
    const m = re.exec(hash);
    if (!m) continue;
    const projectId = m[1] ? Number(m[1]) : null;
    const modelId = m[2] ? Number(m[2]) : null;
    const redraw = () => {
      if (gen === generation) crumbs([['Projects', '#/'], ...trail(projectId, modelId)]);
    };
    redraw();
    learnNames(projectId, modelId, redraw);
    const ctx = {
      projectId, modelId, navigate, user, signedOut, announce,
      setProjectName: (id, name) => {
        projectNames.set(id, name);
        redraw();
      },
    };
    let c = null;
    try {
      c = await view(main, ctx);
    } catch (e) {
      if (gen !== generation) return;
      main.appendChild(h('p', { class: 'error', role: 'alert' },
        `This view failed: ${e && e.message ? e.message : e}`));
    }
    if (gen !== generation) {
      if (typeof c === 'function') c(); // left before it finished drawing
      return;
    }
    cleanup = typeof c === 'function' ? c : null;
    const title = main.querySelector('h1');
    if (title) {
      document.title = `${title.textContent} · modeld`;
      // a new view (not the first one of a page load, where the skip link
      // comes first) puts the focus on its heading when it was lost
      if (routed && (document.activeElement === document.body || document.activeElement === main)) {
        title.focus();
      }
    }
    routed = true;
    return;
  }
  crumbs([['Projects', '#/'], ['Not found', hash]]);
  main.appendChild(h('section', { class: 'card' }, h('h1', { tabindex: '-1' }, 'Not found'),
    h('p', null, 'There is no such page. ', h('a', { href: '#/' }, 'Go to the projects.'))));
}

async function start() {
  document.querySelector('.skip').addEventListener('click', (ev) => {
    ev.preventDefault();
    main.focus();
  });
  try {
    const s = await session();
    user = s ? s.user : null;
  } catch (e) {
    clear(main).appendChild(h('p', { class: 'error', role: 'alert' },
      'The daemon cannot be reached.'));
    return;
  }
  showWho();
  window.addEventListener('hashchange', () => route());
  await route();
}

start();
