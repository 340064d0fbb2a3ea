// SPDX-License-Identifier: MIT
// sessions: a project's labeling sessions (GET /projects/{id}/annotations)
// with their label inventories drawn as bar charts (plain SVG), a form to
// create one (POST .../annotations), and for each an upload of a JSON-lines
// (or JSON array) file to POST .../annotations/{id}/documents, sent with
// XMLHttpRequest so that its upload progress can be shown.
import { api, csrf, problemErrors, problemMessage } from './api.js';
import { h, clear, fmtTime } from './dom.js';

const TYPES = ['ABSA', 'CLASS', 'LABEL', 'CLASSLABEL'];
const LANGUAGES = [['en', 'English'], ['de', 'German'], ['ar', 'Arabic']];
const GROUPS = [
  ['classes', 'Classes'], ['labels', 'Labels'],
  ['aspect_categories', 'Aspect categories'], ['polarities', 'Polarities'],
];
const MAX_BARS = 12;
const ROW = 34; // a label line and its bar under it

// A horizontal bar chart of counts ({name: n}) as SVG: the largest first,
// at most MAX_BARS bars, each under its label and count (so that it reads
// at any width); its text alternative lists every bar.
function barChart(title, counts) {
  const all = Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const shown = all.slice(0, MAX_BARS);
  const max = Math.max(1, ...shown.map(([, n]) => n));
  const summary = `${title}: ${all.map(([k, n]) => `${k} ${n}`).join(', ')}`;
  const svg = h('svg:svg', {
    class: 'chart bars', role: 'img', 'aria-label': summary,
    width: '100%', height: String(shown.length * ROW),
  });
  shown.forEach(([name, n], i) => {
    const y = i * ROW;
    svg.appendChild(h('svg:text', { x: '0', y: String(y + 13), 'aria-hidden': 'true' },
      h('svg:tspan', { 'unicode-bidi': 'plaintext' }, name)));
    svg.appendChild(h('svg:text', {
      class: 'count', x: '100%', y: String(y + 13), 'text-anchor': 'end', 'aria-hidden': 'true',
    }, String(n)));
    svg.appendChild(h('svg:rect', {
      class: 'track', x: '0', y: String(y + 18), height: '8', rx: '4', width: '100%',
      'aria-hidden': 'true',
    }));
    svg.appendChild(h('svg:rect', {
      class: 'bar', x: '0', y: String(y + 18), height: '8', rx: '4',
      width: `${Math.max((100 * n) / max, 0.5)}%`, 'aria-hidden': 'true',
    }));
  });
  return h('figure', { class: 'chart-box' },
    h('figcaption', null, title,
      all.length > shown.length ? h('span', { class: 'muted' }, ` (the ${MAX_BARS} largest of ${all.length})`) : null),
    svg);
}

// The label inventory of session s: one chart per group that has counts.
function inventory(s) {
  const labels = s.labels || {};
  const charts = GROUPS.filter(([k]) => labels[k] && Object.keys(labels[k]).length)
    .map(([k, title]) => barChart(title, labels[k]));
  return charts.length ? h('div', { class: 'charts' }, charts)
    : h('p', { class: 'muted' }, 'No labels yet: upload documents.');
}

export async function render(root, ctx) {
  const pid = ctx.projectId;
  const r = await api('GET', `/projects/${pid}/annotations`);
  if (r.status === 401) {
    ctx.signedOut();
    return null;
  }
  root.appendChild(h('div', { class: 'head' },
    h('h1', { tabindex: '-1' }, 'Labeling sessions'),
    h('div', { class: 'actions' }, h('a', { class: 'button', href: `#/p/${pid}` }, 'Models'))));
  if (r.status !== 200 || !r.body) {
    root.appendChild(h('p', { class: 'notice bad', role: 'alert' }, problemMessage(r)));
    return null;
  }
  const list = h('div', { class: 'sessions' });
  const xhrs = new Set();
  root.appendChild(createForm(pid, ctx, (s) => {
    list.insertBefore(sessionCard(s), list.firstChild);
    empty.hidden = true;
  }));
  const empty = h('p', { class: 'card empty', hidden: (r.body.items || []).length > 0 },
    'No labeling sessions yet.');
  root.appendChild(h('h2', { class: 'sr-only' }, 'Sessions'));
  root.appendChild(empty);
  root.appendChild(list);
  for (const s of r.body.items || []) list.appendChild(sessionCard(s));

  // One session: its facts, its inventory, its upload.
  function sessionCard(s) {
    const facts = h('p', { class: 'meta muted' });
    const charts = h('div');
    const headingId = `s-${s.id}-h`;
    function draw(x) {
      clear(facts).append(`${x.type} · ${x.language} · ${x.document_count} documents · created ${fmtTime(x.created)} · #${x.id}`);
      clear(charts).appendChild(inventory(x));
    }
    draw(s);
    const card = h('section', { class: 'card session', 'aria-labelledby': headingId, 'data-id': s.id },
      h('h3', { id: headingId, dir: 'auto' }, s.name), facts, charts, upload(s, draw));
    return card;
  }

  // The upload control of session s; draw(session) shows the answer.
  function upload(s, draw) {
    const id = `up-${s.id}`;
    const file = h('input', {
      type: 'file', id, accept: '.jsonl,.ndjson,.json,application/json,application/x-ndjson',
      'aria-describedby': `${id}-status`,
    });
    const bar = h('progress', { id: `${id}-progress`, max: '100', value: '0', hidden: true,
      'aria-label': `Upload to ${s.name}` });
    const status = h('p', { class: 'upload-status', id: `${id}-status`, role: 'status' });
    const errors = h('ul', { class: 'field-error', hidden: true });
    const button = h('button', { type: 'submit' }, 'Upload');
    const form = h('form', { class: 'upload', onsubmit: send },
      h('div', { class: 'field' },
        h('label', { for: id }, 'Add documents (a JSON-lines file)'),
        h('div', { class: 'actions' }, file, button)),
      bar, status, errors);

    function send(ev) {
      ev.preventDefault();
      const f = file.files && file.files[0];
      errors.hidden = true;
      clear(errors);
      if (!f) {
        status.textContent = 'Choose a file first.';
        file.focus();
        return;
      }
      const xhr = new XMLHttpRequest();
      xhrs.add(xhr);
      xhr.open('POST', `/projects/${pid}/annotations/${s.id}/documents`);
      xhr.setRequestHeader('Content-Type',
        /\.json$/i.test(f.name) ? 'application/json' : 'application/x-ndjson');
      if (csrf()) xhr.setRequestHeader('X-CSRF-Token', csrf());
      xhr.responseType = 'text';
      bar.hidden = false;
      bar.value = 0;
      button.disabled = true;
      status.textContent = `Uploading ${f.name}…`;
      xhr.upload.addEventListener('progress', (e) => {
        if (!e.lengthComputable) return;
        const pct = Math.round((100 * e.loaded) / e.total);
        bar.value = pct;
        status.textContent = `Uploading ${f.name}: ${pct} % (${e.loaded} of ${e.total} bytes)`;
      });
      xhr.addEventListener('loadend', () => {
        xhrs.delete(xhr);
        button.disabled = false;
        let body = null;
        try {
          body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
        } catch (e) {
          body = null;
        }
        if (xhr.status === 201 && body && body.annotation) {
          bar.value = 100;
          status.textContent = `Uploaded ${f.name}: ${body.documents_added} documents added, ` +
            `${body.annotation.document_count} in all.`;
          draw(body.annotation);
          file.value = '';
          return;
        }
        if (xhr.status === 401) {
          ctx.signedOut();
          return;
        }
        bar.hidden = true;
        const resp = { status: xhr.status, body };
        status.textContent = xhr.status === 0 ? 'The upload failed: the daemon cannot be reached.'
          : `Nothing was stored: ${problemMessage(resp)}`;
        const fields = Object.entries(problemErrors(resp)).slice(0, 10);
        for (const [field, msg] of fields) errors.appendChild(h('li', null, `${field}: ${msg}`));
        errors.hidden = fields.length === 0;
      });
      xhr.send(f);
    }
    return form;
  }

  return () => {
    for (const x of xhrs) x.abort();
  };
}

// The form that creates a session; added(session) shows the new one.
function createForm(pid, ctx, added) {
  const errs = {};
  const inputs = {};
  function field(name, label, control) {
    inputs[name] = control;
    errs[name] = h('p', { class: 'field-error', id: `err-s-${name}` });
    control.setAttribute('aria-describedby', `err-s-${name}`);
    return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, errs[name]);
  }
  const name = h('input', { id: 'new-name', name: 'name', required: true, maxlength: '255', autocomplete: 'off', dir: 'auto' });
  const type = h('select', { id: 'new-type', name: 'type' }, TYPES.map((t) => h('option', { value: t }, t)));
  const lang = h('select', { id: 'new-language', name: 'language' },
    LANGUAGES.map(([v, t]) => h('option', { value: v }, t)));
  const note = h('p', { class: 'field-error', role: 'alert' });
  const form = h('form', { class: 'card', novalidate: true, onsubmit: send, 'aria-labelledby': 'new-h' },
    h('h2', { id: 'new-h' }, 'New labeling session'),
    h('div', { class: 'row' },
      field('name', 'Name', name), field('type', 'Type', type), field('language', 'Language', lang)),
    note,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create session')));

  async function send(ev) {
    ev.preventDefault();
    note.textContent = '';
    for (const [k, el] of Object.entries(errs)) {
      el.textContent = '';
      inputs[k].removeAttribute('aria-invalid');
    }
    const r = await api('POST', `/projects/${pid}/annotations`,
      { name: name.value, type: type.value, language: lang.value });
    if (r.status === 201 && r.body) {
      ctx.announce(`Session ${r.body.name} created.`);
      name.value = '';
      added(r.body);
      return;
    }
    if (r.status === 401) {
      ctx.signedOut();
      return;
    }
    const fields = problemErrors(r);
    let first = null;
    for (const [k, msg] of Object.entries(fields)) {
      if (errs[k]) {
        errs[k].textContent = msg;
        inputs[k].setAttribute('aria-invalid', 'true');
        first = first || inputs[k];
      } else {
        note.textContent += `${k}: ${msg} `;
      }
    }
    if (!Object.keys(fields).length) note.textContent = problemMessage(r);
    if (first) first.focus();
  }
  return form;
}
