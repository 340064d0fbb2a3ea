// SPDX-License-Identifier: MIT
// models: a project's models (GET /projects/{id}/models, newest first, a
// page at a time through the API's cursor), filtered by status, type and
// language, and kept live by ONE EventSource on GET /projects/{id}/events
// (created, model, deleted, resync, shutdown, revoked). The list is read
// again each time the stream opens, and a page read while events came in
// leaves the rows those events set, so no change falls in between.
import { api, events, problemMessage } from './api.js';
import { h, clear, fmtTime } from './dom.js';

const STATUSES = ['CREATED', 'QUEUED', 'TRAINING', 'FAILED', 'READY', 'ACTIVE', 'PUBLISHED'];
const TYPES = ['ABSA', 'CLASS', 'LABEL', 'CLASSLABEL'];
const LANGUAGES = [['en', 'English'], ['de', 'German'], ['ar', 'Arabic']];
const PAGE = 25;

// A progress bar (role progressbar) for percent 0..100; update() moves it.
export function progressBar(label) {
  const fill = h('div', { class: 'fill' });
  const pct = h('span', { class: 'pct' }, '0 %');
  const bar = h('div', {
    class: 'progress', role: 'progressbar', 'aria-label': label,
    'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0',
  }, h('div', { class: 'track' }, fill), pct);
  bar.update = (value) => {
    const v = Math.max(0, Math.min(100, Number(value) || 0));
    const text = `${v >= 100 ? 100 : v.toFixed(v >= 10 ? 0 : 1)} %`;
    fill.style.width = `${v}%`;
    fill.classList.toggle('done', v >= 100);
    pct.textContent = text;
    bar.setAttribute('aria-valuenow', String(Math.round(v)));
    bar.setAttribute('aria-valuetext', text);
  };
  return bar;
}

export function fmtScore(score) {
  return score === null || score === undefined ? '—' : Number(score).toFixed(3);
}

function select(id, label, options, value, onchange) {
  return h('div', { class: 'field' },
    h('label', { for: id }, label),
    h('select', { id, onchange },
      h('option', { value: '' }, 'All'),
      options.map((o) => {
        const [v, text] = Array.isArray(o) ? o : [o, o];
        return h('option', { value: v, selected: v === value }, text);
      })));
}

export async function render(root, ctx) {
  const pid = ctx.projectId;
  const filters = { status: '', type: '', language: '' };
  const rows = new Map(); // model id -> {tr, cells, model}
  let cursor = null;
  let closed = false;
  let loading = 0;

  const title = h('h1', { tabindex: '-1' }, 'Models');
  const live = h('span', { class: 'live', role: 'status' }, 'Connecting…');
  const tbody = h('tbody');
  const table = h('table', { class: 'models' },
    h('caption', { class: 'sr-only' }, 'Models of this project, newest first'),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, 'Name'),
      h('th', { scope: 'col' }, 'Type'),
      h('th', { scope: 'col' }, 'Language'),
      h('th', { scope: 'col' }, 'Status'),
      h('th', { scope: 'col' }, 'Progress'),
      h('th', { scope: 'col', class: 'num' }, 'Score'),
      h('th', { scope: 'col' }, 'Created'),
      h('th', { scope: 'col' }, 'Owner'))),
    tbody);
  const empty = h('p', { class: 'empty', hidden: true }, 'No models match.');
  const error = h('p', { class: 'notice bad', role: 'alert', hidden: true });
  const more = h('button', { type: 'button', hidden: true, onclick: () => load(false) }, 'Show more');

  root.appendChild(h('div', { class: 'head' },
    h('div', null, title, live),
    h('div', { class: 'actions' },
      h('a', { class: 'button', href: `#/p/${pid}/sessions` }, 'Labeling sessions'),
      h('a', { class: 'button primary', href: `#/p/${pid}/train` }, 'New training'))));
  root.appendChild(h('section', { class: 'card', 'aria-labelledby': 'models-h' },
    h('h2', { id: 'models-h', class: 'sr-only' }, 'Models'),
    h('div', { class: 'filters', role: 'group', 'aria-label': 'Filters' },
      select('f-status', 'Status', STATUSES, '', (e) => setFilter('status', e.target.value)),
      select('f-type', 'Type', TYPES, '', (e) => setFilter('type', e.target.value)),
      select('f-language', 'Language', LANGUAGES, '', (e) => setFilter('language', e.target.value))),
    error,
    h('div', { class: 'table-wrap' }, table),
    empty,
    h('div', { class: 'pager' }, more)));

  // the project's name for the heading and the breadcrumbs
  api('GET', '/projects').then((r) => {
    const p = r.status === 200 && r.body ? (r.body.items || []).find((x) => x.id === pid) : null;
    if (p && !closed) {
      title.textContent = `Models of ${p.name}`;
      ctx.setProjectName(pid, p.name);
      document.title = `${title.textContent} · modeld`;
    }
  }).catch(() => null);

  function matches(m) {
    return (!filters.status || m.status === filters.status) &&
      (!filters.type || m.type === filters.type) &&
      (!filters.language || m.language === filters.language);
  }

  function cell(label, cls, ...children) {
    return h('td', { 'data-label': label, class: cls }, ...children);
  }

  function makeRow(m) {
    const name = m.display_name || m.name;
    const bar = progressBar(`Progress of ${name}`);
    const cells = {
      name: cell('Name', 'name', h('a', { href: `#/p/${pid}/m/${m.id}` }, name),
        name !== m.name ? h('div', { class: 'muted small' }, m.name) : null),
      type: cell('Type', null),
      language: cell('Language', null),
      status: cell('Status', null),
      progress: cell('Progress', null, bar),
      score: cell('Score', 'num'),
      created: cell('Created', null, fmtTime(m.created)),
      owner: cell('Owner', null),
    };
    const tr = h('tr', { 'data-id': m.id }, Object.values(cells));
    const row = { tr, cells, bar, model: null, evAt: 0 };
    update(row, m);
    return row;
  }

  function update(row, m) {
    const before = row.model;
    row.model = m;
    row.cells.type.textContent = m.type || '—';
    row.cells.language.textContent = m.language || '—';
    clear(row.cells.status).appendChild(h('span', { class: `badge s-${m.status}` }, m.status));
    if (m.status === 'FAILED' && m.failure_reason) {
      row.cells.status.appendChild(h('div', { class: 'muted small' }, m.failure_reason));
    }
    row.bar.update(m.progress);
    row.cells.score.textContent = fmtScore(m.score);
    row.cells.owner.textContent = m.owner || '—';
    if (before && before.status !== m.status && (m.status === 'READY' || m.status === 'FAILED')) {
      ctx.announce(`${m.display_name || m.name}: ${m.status}${m.status === 'READY' ? `, score ${fmtScore(m.score)}` : ''}`);
    }
  }

  function showEmpty() {
    empty.hidden = rows.size > 0;
    table.hidden = rows.size === 0;
  }

  // Show m: update its row, or add one in its place (newest first: by id,
  // descending). A model older than every loaded one comes with its page.
  function upsert(m) {
    const row = rows.get(m.id);
    if (row) {
      row.evAt = evCount;
      update(row, m);
      return;
    }
    if (!matches(m)) return;
    let before = null;
    for (const tr of tbody.children) {
      if (Number(tr.dataset.id) < m.id) {
        before = tr;
        break;
      }
    }
    if (!before && cursor) return;
    const r = makeRow(m);
    r.evAt = evCount;
    rows.set(m.id, r);
    tbody.insertBefore(r.tr, before);
    showEmpty();
  }

  function remove(id) {
    const row = rows.get(id);
    if (!row) return;
    row.tr.remove();
    rows.delete(id);
    showEmpty();
  }

  // Events counted as they come (evCount); a row remembers the count of the
  // last event that set it (evAt), a deleted model the count of its deletion.
  // A page read while events came in may be older than those events: it then
  // leaves their rows as the events made them (any later change brings its
  // own event), so a reply overtaken by the stream never turns a row back.
  let evCount = 0;
  const deletedAt = new Map();

  // Read the first page (reset) or the next one.
  async function load(reset) {
    const my = ++loading;
    const ev0 = evCount;
    const q = new URLSearchParams({ limit: String(PAGE) });
    for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
    if (!reset && cursor) q.set('cursor', cursor);
    more.disabled = true;
    const r = await api('GET', `/projects/${pid}/models?${q}`);
    if (closed || my !== loading) return;
    more.disabled = false;
    if (r.status === 401) {
      ctx.signedOut();
      return;
    }
    if (r.status !== 200 || !r.body) {
      error.textContent = problemMessage(r);
      error.hidden = false;
      return;
    }
    error.hidden = true;
    const fresh = (row) => row.evAt > ev0; // set by an event during this read
    const kept = new Map();
    if (reset) { // rows created by an event during this read stay
      for (const [id, row] of rows) if (fresh(row) && matches(row.model)) kept.set(id, row);
    }
    for (const m of r.body.items || []) {
      if ((deletedAt.get(m.id) || 0) > ev0) continue; // deleted meanwhile
      let row = rows.get(m.id);
      if (row) {
        if (!fresh(row)) update(row, m);
      } else {
        row = makeRow(m);
      }
      if (reset) kept.set(m.id, row);
      else if (!rows.has(m.id)) {
        rows.set(m.id, row);
        tbody.appendChild(row.tr);
      }
    }
    if (reset) { // newest first, as the API lists them
      rows.clear();
      clear(tbody);
      for (const id of [...kept.keys()].sort((a, b) => b - a)) {
        rows.set(id, kept.get(id));
        tbody.appendChild(kept.get(id).tr);
      }
    }
    cursor = r.body.next_cursor || null;
    more.hidden = !cursor;
    showEmpty();
  }

  function setFilter(key, value) {
    filters[key] = value;
    cursor = null;
    load(true);
  }

  const close = events(`/projects/${pid}/events`, {
    open: () => {
      live.textContent = 'Live';
      live.classList.add('on');
      // the stream carries changes from now on: read the list again for any
      // change made before (the first read may have been served before the
      // stream was open; after a reconnection, changes may have been missed)
      load(true);
    },
    error: async (state) => {
      live.classList.remove('on');
      if (state !== EventSource.CLOSED) {
        live.textContent = 'Reconnecting…';
        return;
      }
      // the daemon refused the stream (the browser does not retry then):
      // signed out, or no longer a member
      live.textContent = 'Not live: reload the page to try again.';
      const r = await api('GET', '/session').catch(() => null);
      if (!closed && r && r.status === 401) {
        closeAll();
        ctx.signedOut();
      }
    },
    created: (m) => { evCount++; upsert(m); },
    model: (m) => { evCount++; upsert(m); },
    deleted: (d) => { evCount++; deletedAt.set(d.id, evCount); remove(d.id); },
    resync: () => load(true),
    shutdown: () => {
      live.textContent = 'The daemon is stopping; reconnecting…';
      live.classList.remove('on');
    },
    revoked: () => {
      closeAll();
      ctx.signedOut();
    },
  });

  function closeAll() {
    if (closed) return;
    closed = true;
    close();
  }

  await load(true);
  return closeAll;
}
