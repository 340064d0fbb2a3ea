// SPDX-License-Identifier: MIT
// model: the page of one model (#/p/{pid}/m/{mid}). It shows the model's
// timeline (created, queued, started, finished), its progress live while it
// trains (the model's event stream, GET …/events, no polling: when the
// stream says training is over, the model is read once more for its
// metrics), the evaluation (per-label precision/recall/F1 bars, a confusion
// heat map, the ABSA figures, whatever else the metrics hold), the warnings,
// the top features per label (GET …/explanation), a box to try predictions
// with the explanation spans highlighted in the text, and the actions a
// manager has: PATCH to ACTIVE/PUBLISHED/READY, cancel, delete, each after a
// confirmation. Every text from the API (names, labels, messages, the text
// typed) goes into the page as text nodes, never as markup.
//
// renderModel(root, {projectId, modelId, navigate}) draws into root and
// returns the cleanup that app.js calls when the view is left (it closes the
// event stream; answers that arrive later are dropped). When the context
// also has setProjectName(id, name) and signedOut() (app.js's view
// context), the breadcrumbs get the project's name and a 401 goes back to
// the sign-in.

import { api, problemErrors, events } from './api.js';
import { h, clear, fmtTime, confirmDialog } from './dom.js';
import { barChart, heatMap, fmt2 } from './charts.js';

const TRAINING = new Set(['CREATED', 'QUEUED', 'TRAINING']);
const TRAINED = new Set(['READY', 'ACTIVE', 'PUBLISHED']);
const MANAGERS = new Set(['MANAGER', 'OWNER']);
const LANGUAGES = { en: 'English', de: 'German', ar: 'Arabic' };
const HEAD_NAMES = { class: 'Classes', label: 'Labels', category: 'Aspect categories', polarity: 'Polarities' };
const WAITING = { CREATED: 'waiting to be queued', QUEUED: 'waiting for a worker', TRAINING: 'training now' };
const HIGHLIGHTS = 6; // colours of highlighted spans (.hl-0 … .hl-5 in model.css)

// Appends children to parent, leaving out null, undefined and false
// (Node.append would write them as text) and flattening arrays.
function add(parent, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    parent.append(typeof c === 'number' ? String(c) : c);
  }
  return parent;
}

// A button that calls fn on click.
function button(label, cls, fn, attrs) {
  const b = h('button', { type: 'button', class: cls, ...(attrs || {}) }, label);
  b.addEventListener('click', fn);
  return b;
}

// Visually hidden text for screen readers.
function srOnly(text) {
  return h('span', { class: 'sr-only' }, text);
}

// An RFC 3339 timestamp as the page shows times elsewhere (dom.js).
function when(iso) {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? fmtTime(t / 1000) : '';
}

// A duration in seconds, short ("0.07 s", "12 s", "4 min 12 s", "2 h 5 min").
function fmtDuration(s) {
  if (!(s >= 0)) return '';
  if (s < 10) return `${s.toFixed(2)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

// A probability as a whole percentage ("87 %").
function pct(v) {
  return typeof v === 'number' ? `${Math.round(v * 100)} %` : '–';
}

// The message of a failed answer: the problem's detail and its field errors.
function problemText(resp, what) {
  const b = resp && resp.body;
  const fields = Object.entries(problemErrors(resp) || {}).map(([f, m]) => `${f}: ${m}`);
  const detail = b && typeof b.detail === 'string' ? b.detail : `HTTP ${resp ? resp.status : '?'}`;
  const more = fields.filter((f) => !detail.includes(f));
  return `${what} failed: ${detail}${more.length ? ` (${more.join('; ')})` : ''}`;
}

// The data of an event, parsed when api.js handed over text.
function eventData(d) {
  if (typeof d !== 'string') return d;
  try {
    return JSON.parse(d);
  } catch {
    return null;
  }
}

export function renderModel(root, ctx) {
  const { projectId, modelId, navigate } = ctx;
  const base = `/projects/${encodeURIComponent(projectId)}/models/${encodeURIComponent(modelId)}`;
  const projectHash = `#/p/${encodeURIComponent(projectId)}`;
  let disposed = false;
  let closeStream = null;
  let model = null;
  let role = null;
  let busy = false;

  // ---- the page's fixed frame; the sections are filled as data arrives ----
  const crumbs = h('p', { class: 'model-crumbs' }, h('a', { href: projectHash }, '← All models of the project'));
  const title = h('h1', { class: 'model-title', tabindex: '-1' }, `Model ${modelId}`);
  const subtitle = h('p', { class: 'model-subtitle' });
  const badges = h('div', { class: 'model-badges' });
  const actions = h('div', { class: 'model-actions', role: 'group', 'aria-label': 'Model actions' });
  const live = h('p', { class: 'sr-only', role: 'status' });
  const alertBox = h('div', { class: 'model-alert', role: 'alert' });
  const training = h('section', { class: 'card model-training', 'aria-labelledby': 'mp-training-h' });
  const warnings = h('section', { class: 'card model-warnings', 'aria-labelledby': 'mp-warnings-h' });
  const evaluation = h('section', { class: 'card model-evaluation', 'aria-labelledby': 'mp-eval-h' });
  const tryIt = h('section', { class: 'card model-try', 'aria-labelledby': 'mp-try-h' });
  const features = h('section', { class: 'card model-features', 'aria-labelledby': 'mp-features-h' });
  const details = h('section', { class: 'card model-details', 'aria-labelledby': 'mp-details-h' });
  for (const s of [training, warnings, evaluation, tryIt, features, details]) s.hidden = true;
  const loading = h('p', { class: 'muted' }, 'Loading the model…');
  const timeline = h('ol', { class: 'timeline' });
  const progressBar = h('progress', { id: 'mp-progress', max: '100', value: '0' });
  const progressText = h('span', { class: 'progress-value', 'aria-hidden': 'true' });
  const progressRow = h('div', { class: 'progress-row' },
    h('label', { for: 'mp-progress' }, 'Progress'), progressBar, progressText);
  const failure = h('p', { class: 'failure' });
  failure.hidden = true;
  const liveBadge = h('span', { class: 'live' });
  liveBadge.hidden = true;
  add(training, h('div', { class: 'card-head' }, h('h2', { id: 'mp-training-h' }, 'Training'), liveBadge),
    timeline, progressRow, failure);

  const page = h('div', { class: 'model-page' },
    crumbs,
    h('header', { class: 'model-head' },
      h('div', { class: 'model-head-text' }, title, subtitle, badges),
      actions),
    live, alertBox, loading, training, warnings, evaluation, tryIt, features, details);
  clear(root);
  add(root, page);

  function say(text) {
    live.textContent = text;
  }

  function showError(text) {
    clear(alertBox);
    if (text) add(alertBox, h('p', {}, text));
  }

  // ---- header: name, status, score, actions ----
  function renderHead() {
    const m = model;
    title.textContent = m.display_name || m.name;
    document.title = `${m.display_name || m.name} · modeld`;
    clear(subtitle);
    add(subtitle, 
      h('span', {}, m.name), ' · ', h('span', {}, m.type), ' · ',
      h('span', {}, LANGUAGES[m.language] || m.language),
      m.owner ? [' · by ', h('span', {}, m.owner)] : null);
    clear(badges);
    add(badges, 
      h('span', { class: `badge s-${m.status}` },
        srOnly('Status: '), m.status),
      m.score !== null && m.score !== undefined
        ? h('span', { class: 'score-badge' },
          h('span', { class: 'score-label' }, 'Score (micro-F1)'), ' ',
          h('span', { class: 'score-value' }, fmt2(m.score)))
        : null);
    renderActions();
  }

  function renderActions() {
    clear(actions);
    if (!model || !MANAGERS.has(role)) return;
    const s = model.status;
    const list = [];
    if (TRAINING.has(s)) list.push(button('Stop training', null, onCancel));
    if (s === 'READY') list.push(button('Activate', 'primary', () => onStatus('ACTIVE')));
    if (s === 'ACTIVE') {
      list.push(button('Publish', 'primary', () => onStatus('PUBLISHED')));
      list.push(button('Back to ready', null, () => onStatus('READY')));
    }
    if (s === 'PUBLISHED') list.push(button('Unpublish', null, () => onStatus('READY')));
    list.push(button('Delete', 'danger', onDelete));
    for (const b of list) b.disabled = busy;
    add(actions, ...list);
  }

  // ---- the timeline and the progress ----
  let ticker = null;

  function stopTicker() {
    clearInterval(ticker);
    ticker = null;
  }

  // What the step under way says: what it waits for, or how long training
  // has run (by this browser's clock, never below 0).
  function waitingText(m) {
    if (m.status !== 'TRAINING' || !m.started_at) return WAITING[m.status] || 'now';
    const s = Math.max(0, Math.floor((Date.now() - Date.parse(m.started_at)) / 1000));
    return `training for ${s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`}`;
  }

  function renderTraining() {
    const m = model;
    const failed = m.status === 'FAILED';
    const canceled = failed && m.failure_reason === 'canceled';
    const end = m.finished_at || (failed ? m.updated : null);
    const steps = [
      { label: 'Created', at: m.created },
      { label: 'Queued', at: m.queued_at },
      { label: 'Training started', at: m.started_at },
      { label: canceled ? 'Canceled' : failed ? 'Failed' : 'Finished', at: end },
    ];
    // the step under way: the first without a time, unless the model is over
    const current = failed || TRAINED.has(m.status) ? -1 : steps.findIndex((st) => !st.at);
    let prev = null;
    const items = steps.map((st, i) => {
      const t = st.at ? Date.parse(st.at) : NaN;
      const state = st.at ? (i === 3 && failed ? 'failed' : 'done') : i === current ? 'current' : 'pending';
      const gap = prev !== null && Number.isFinite(t) ? fmtDuration((t - prev) / 1000) : '';
      if (Number.isFinite(t)) prev = t;
      return h('li', { class: `step step-${state}`, 'aria-current': i === current ? 'step' : null },
        h('span', { class: 'step-dot', 'aria-hidden': 'true' }),
        h('span', { class: 'step-label' }, st.label),
        st.at
          ? h('time', { datetime: st.at }, when(st.at))
          : h('span', { class: 'step-time' }, i === current ? waitingText(m) : 'not yet'),
        gap ? h('span', { class: 'step-gap' }, `+${gap}`) : null,
        srOnly(state === 'done' ? ' (done)' : state === 'failed' ? ' (failed)' : ''));
    });
    const value = Math.max(0, Math.min(100, Number(m.progress) || 0));
    const shown = `${value >= 100 || value === 0 ? String(value) : value.toFixed(value < 10 ? 1 : 0)} %`;
    // the progress bar is updated in place, so it moves smoothly
    progressBar.value = value;
    progressBar.textContent = shown;
    progressText.textContent = shown;
    progressRow.className = `progress-row${failed ? ' progress-failed' : ''}`;
    clear(timeline);
    add(timeline, items);
    // while it trains, the elapsed time of the step under way goes on
    if (m.status === 'TRAINING' && !ticker) ticker = setInterval(renderTraining, 1000);
    if (m.status !== 'TRAINING' && ticker) stopTicker();
    clear(failure);
    failure.hidden = !(failed && m.failure_reason);
    if (!failure.hidden) {
      add(failure, h('strong', {}, canceled ? 'Canceled. ' : 'Training failed: '),
        canceled ? 'The training was stopped before it ended.' : m.failure_reason);
    }
  }

  // ---- the warnings ----
  function renderWarnings() {
    const list = model.warnings || [];
    warnings.hidden = list.length === 0;
    clear(warnings);
    if (!list.length) return;
    add(warnings, 
      h('h2', { id: 'mp-warnings-h' }, `Warnings (${list.length})`),
      h('ul', { class: 'warning-list' }, list.map((w) => h('li', { class: 'warning' },
        h('span', { class: 'warning-code' }, w.code),
        h('p', {}, w.message),
        Array.isArray(w.labels) && w.labels.length
          ? h('ul', { class: 'chips', 'aria-label': 'Labels concerned' },
            w.labels.map((l) => h('li', { class: 'chip' }, l)))
          : null))));
  }

  // ---- the evaluation ----
  function tile(label, value, note) {
    return h('div', { class: 'tile' },
      h('dt', {}, label),
      h('dd', {}, h('span', { class: 'tile-value' }, value), note ? h('span', { class: 'tile-note' }, note) : null));
  }

  function perLabelChart(labels, name) {
    const rows = labels.map((l) => ({
      label: l.label,
      note: l.train_support === 0 ? '(not in training)' : null,
      values: { precision: l.precision, recall: l.recall, f1: l.f1 },
      extra: [l.support ?? '–', l.train_support ?? '–'],
    }));
    const byF1 = [...labels].sort((a, b) => b.f1 - a.f1);
    const desc = byF1.length
      ? `${labels.length} ${name.toLowerCase()}. Highest F1: ${byF1[0].label} (${fmt2(byF1[0].f1)}); ` +
        `lowest: ${byF1[byF1.length - 1].label} (${fmt2(byF1[byF1.length - 1].f1)}).`
      : 'No entries.';
    return barChart({
      title: `${name}: precision, recall and F1 on the test set`,
      desc,
      series: [{ key: 'precision', name: 'Precision' }, { key: 'recall', name: 'Recall' }, { key: 'f1', name: 'F1' }],
      rows,
      extraHead: ['Test support', 'Training support'],
    });
  }

  function confusionDesc(c) {
    const total = c.matrix.flat().reduce((a, b) => a + b, 0);
    const right = c.labels.reduce((a, _, i) => a + ((c.matrix[i] && c.matrix[i][i]) || 0), 0);
    return `${c.labels.length} × ${c.labels.length} matrix over ${total} test items; ${right} on the diagonal (right).`;
  }

  function labelConfusion(list) {
    return h('figure', { class: 'chart-figure' },
      h('figcaption', {}, 'Labels: counts on the test documents'),
      h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': 'Label counts' },
        h('table', {},
          h('thead', {}, h('tr', {}, ['Label', 'True positive', 'False positive', 'False negative', 'True negative']
            .map((x, i) => h('th', { scope: 'col', class: i ? 'num' : null }, x)))),
          h('tbody', {}, list.map((r) => h('tr', {},
            h('th', { scope: 'row' }, r.label),
            [r.tp, r.fp, r.fn, r.tn].map((x) => h('td', { class: 'num' }, String(x)))))))));
  }

  const UNITS = {
    class: 'One count is a document’s class; micro-F1 equals accuracy.',
    label: 'One count is a label of a document.',
    'class+label': 'One count is a class or a label of a document.',
    aspect_category_polarity: 'One count is an (aspect category, polarity) pair, right only if both match.',
  };

  function renderEvaluation() {
    const met = model.metrics;
    clear(evaluation);
    evaluation.hidden = !met;
    if (!met) return;
    const tiles = [
      tile('Score (micro-F1)', fmt2(met.micro && met.micro.f1)),
      tile('Micro precision', fmt2(met.micro && met.micro.precision)),
      tile('Micro recall', fmt2(met.micro && met.micro.recall)),
      tile('Macro F1', fmt2(met.macro && met.macro.f1)),
    ];
    if (met.absa) {
      tiles.push(tile('Category F1', fmt2(met.absa.category && met.absa.category.f1),
        `P ${fmt2(met.absa.category && met.absa.category.precision)} · R ${fmt2(met.absa.category && met.absa.category.recall)}`));
      tiles.push(tile('Polarity accuracy', fmt2(met.absa.polarity_accuracy),
        `on ${met.absa.polarity_evaluated} detected aspects`));
    }
    tiles.push(tile('Test documents', String(met.test_size ?? '–'),
      met.duplicates_removed ? `${met.duplicates_removed} duplicates left out` : null));
    tiles.push(tile('Training documents', String(met.train_size ?? '–')));
    tiles.push(tile('Features', String(met.features ?? '–')));
    if (typeof met.training_seconds === 'number') tiles.push(tile('Training time', fmtDuration(met.training_seconds)));

    const charts = [];
    const labels = Array.isArray(met.labels) ? met.labels : [];
    const heads = [...new Set(labels.map((l) => l.head).filter(Boolean))];
    if (heads.length) {
      for (const hd of heads) charts.push(perLabelChart(labels.filter((l) => l.head === hd), HEAD_NAMES[hd] || hd));
    } else if (labels.length) {
      const name = model.type === 'ABSA' ? 'Aspect categories' : model.type === 'CLASS' ? 'Classes' : 'Labels';
      charts.push(perLabelChart(labels, name));
    }
    const conf = met.confusion || {};
    if (conf.class && Array.isArray(conf.class.labels) && conf.class.labels.length) {
      charts.push(heatMap({
        title: 'Confusion matrix of the classes', desc: confusionDesc(conf.class),
        labels: conf.class.labels, matrix: conf.class.matrix, rowName: 'Actual', colName: 'Predicted',
      }));
    }
    if (conf.polarity && Array.isArray(conf.polarity.labels) && conf.polarity.labels.length) {
      charts.push(heatMap({
        title: 'Polarity confusion of the detected aspects', desc: confusionDesc(conf.polarity),
        labels: conf.polarity.labels, matrix: conf.polarity.matrix, rowName: 'Actual', colName: 'Predicted',
      }));
    }
    if (Array.isArray(conf.label) && conf.label.length) charts.push(labelConfusion(conf.label));

    add(evaluation, 
      h('h2', { id: 'mp-eval-h' }, 'Evaluation'),
      h('p', { class: 'hint' }, `Measured on the test set. ${UNITS[met.unit] || ''}`),
      h('dl', { class: 'tiles' }, tiles),
      h('div', { class: 'chart-grid' }, charts));
  }

  // ---- the top features ----
  async function loadFeatures() {
    const r = await api('GET', `${base}/explanation`).catch(() => ({ status: 0, body: null }));
    if (disposed) return;
    clear(features);
    features.hidden = false;
    add(features, h('h2', { id: 'mp-features-h' }, 'What the model looks at'));
    if (r.status !== 200 || !r.body || !r.body.top_features) {
      add(features, h('p', { class: 'hint' }, r.body && r.body.detail ? r.body.detail : `No top features (HTTP ${r.status}).`));
      return;
    }
    add(features, h('p', { class: 'hint' },
      'The n-grams that weigh most for each label, strongest first. ',
      'In character n-grams, ␣ marks a word boundary.'));
    const tf = r.body.top_features;
    const headKeys = Object.keys(tf);
    for (const hd of headKeys) {
      const groups = Array.isArray(tf[hd]) ? tf[hd] : [];
      if (headKeys.length > 1) add(features, h('h3', {}, HEAD_NAMES[hd] || hd));
      add(features, h('div', { class: 'feature-grid' }, groups.map((g) => featureCard(g))));
    }
  }

  function featureItem(f, max) {
    const bar = h('span', { class: 'fbar', 'aria-hidden': 'true' });
    bar.style.width = `${Math.max(2, Math.round((f.weight / max) * 100))}%`; // CSSOM: allowed by the CSP
    const shown = f.kind === 'char' ? String(f.ngram).replace(/ /g, '␣') : f.ngram;
    return h('li', { class: 'feature' },
      h('span', { class: 'fname' },
        h('span', { class: 'ngram', title: f.kind === 'char' ? `character n-gram “${f.ngram}”` : null }, shown),
        h('span', { class: `kind kind-${f.kind}` }, f.kind)),
      h('span', { class: 'ftrack' }, bar),
      h('span', { class: 'fweight' }, f.weight.toFixed(2)));
  }

  function featureCard(g) {
    const list = Array.isArray(g.features) ? g.features : [];
    const max = Math.max(...list.map((f) => f.weight), 1e-9);
    const first = list.slice(0, 8);
    const rest = list.slice(8);
    return h('article', { class: 'feature-card' },
      h('h4', { dir: 'auto' }, g.label),
      list.length ? h('ol', { class: 'features' }, first.map((f) => featureItem(f, max))) : h('p', { class: 'hint' }, 'None.'),
      rest.length
        ? h('details', { class: 'more-features' },
          h('summary', {}, `${rest.length} more`),
          h('ol', { class: 'features', start: '9' }, rest.map((f) => featureItem(f, max))))
        : null);
  }

  // ---- try a prediction ----
  const rtl = () => (model && model.language === 'ar' ? 'rtl' : 'auto');
  let predictForm = null;

  function renderTry() {
    if (predictForm) {
      tryIt.hidden = !TRAINED.has(model.status);
      return; // built once: a status change keeps what was typed
    }
    tryIt.hidden = !TRAINED.has(model.status);
    const area = h('textarea', {
      id: 'mp-text', name: 'text', rows: '3', required: true, maxlength: '20000',
      dir: rtl(), lang: model.language, spellcheck: 'false',
      placeholder: model.language === 'ar' ? 'اكتب نصا…' : model.language === 'de' ? 'Einen Satz eingeben…' : 'Type a sentence…',
    });
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Predict');
    const out = h('div', { class: 'prediction' });
    predictForm = h('form', { class: 'predict-form' },
      h('label', { for: 'mp-text' }, 'Text'),
      area,
      h('div', { class: 'form-row' }, submit,
        h('span', { class: 'hint' }, 'The words behind each prediction are highlighted.')));
    predictForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      const text = area.value;
      if (!text.trim()) {
        area.focus();
        return;
      }
      submit.disabled = true;
      out.setAttribute('aria-busy', 'true');
      let r = null;
      try {
        r = await api('POST', `${base}/predict`, { texts: [text], explain: true });
      } catch (err) {
        r = null; // the daemon cannot be reached
      }
      if (disposed) return;
      submit.disabled = false;
      out.removeAttribute('aria-busy');
      clear(out);
      if (!r || r.status !== 200 || !r.body || !Array.isArray(r.body.predictions)) {
        const msg = r ? problemText(r, 'The prediction') : 'The prediction failed: the daemon cannot be reached.';
        add(out, h('p', { class: 'error' }, msg));
        say(msg);
        return;
      }
      const p = r.body.predictions[0];
      add(out, renderPrediction(r.body, p));
      // a short summary for screen readers; the result itself is below the button
      const items = predictedItems(r.body.type, p);
      say(items.length
        ? `Predicted: ${items.map((it) => `${it.name} ${pct(it.prob)}`).join(', ')}. Highlighted words follow the button.`
        : 'Nothing was predicted above the threshold.');
    });
    // Ctrl+Enter (⌘+Enter) predicts from the text box
    area.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        predictForm.requestSubmit();
      }
    });
    add(tryIt, h('h2', { id: 'mp-try-h' }, 'Try it'), predictForm, out);
  }

  // The predicted labels of one prediction, whatever the model type, each
  // with the spans behind it.
  function predictedItems(type, p) {
    const items = [];
    if (typeof p.class === 'string') {
      items.push({ name: p.class, prob: p.probability, what: 'class', spans: p.explanation || [] });
    }
    for (const l of p.labels || []) {
      items.push({ name: l.label, prob: l.probability, what: 'label', spans: l.explanation || [] });
    }
    for (const a of p.aspects || []) {
      items.push({
        name: a.category, prob: a.confidence, what: 'aspect', polarity: a.polarity,
        polarityProb: a.polarity_confidence, spans: a.explanation || [], pspans: a.polarity_explanation || [],
      });
    }
    return items;
  }

  // The text with the spans of the selected items marked. Offsets are code
  // points (the API's), so the text is cut as an array of code points.
  function markedText(text, items, selected) {
    const cps = Array.from(text);
    const spans = [];
    items.forEach((it, i) => {
      if (selected !== null && selected !== i) return;
      for (const s of it.spans) spans.push({ ...s, item: i, pol: false });
      if (selected === i) for (const s of it.pspans || []) spans.push({ ...s, item: i, pol: true });
    });
    const cuts = new Set([0, cps.length]);
    for (const s of spans) {
      if (s.start >= 0 && s.end <= cps.length && s.start < s.end) {
        cuts.add(s.start);
        cuts.add(s.end);
      }
    }
    const bounds = [...cuts].sort((a, b) => a - b);
    const out = h('p', { class: 'pred-text', dir: rtl(), lang: model.language });
    for (let k = 0; k + 1 < bounds.length; k++) {
      const a = bounds[k];
      const b = bounds[k + 1];
      const piece = cps.slice(a, b).join('');
      const cover = spans.filter((s) => s.start <= a && s.end >= b);
      if (!cover.length) {
        add(out, piece);
        continue;
      }
      cover.sort((x, y) => y.weight - x.weight);
      const top = cover[0];
      const names = [...new Set(cover.map((c) => `${items[c.item].name}${c.pol ? ` (${items[c.item].polarity})` : ''}`))];
      const mark = h('mark', {
        class: `hl hl-${top.item % HIGHLIGHTS}${cover.some((c) => c.pol) ? ' hl-pol' : ''}`, // dashed: behind the polarity too
        title: cover.map((c) => `${items[c.item].name}${c.pol ? ` polarity ${items[c.item].polarity}` : ''}: weight ${c.weight.toFixed(2)}`).join('\n'),
      }, piece, srOnly(` [evidence for ${names.join(', ')}]`));
      add(out, mark);
    }
    return out;
  }

  function renderPrediction(body, p) {
    const items = predictedItems(body.type, p);
    let selected = null;
    const box = h('div', { class: 'pred-result' });
    const textBox = h('div', { class: 'pred-text-box' });
    const legend = h('ul', { class: 'pred-items', 'aria-label': 'Predictions' });

    function draw() {
      clear(textBox);
      add(textBox, markedText(p.text, items, selected));
      clear(legend);
      items.forEach((it, i) => {
        const b = button('', 'pred-item', () => {
          selected = selected === i ? null : i;
          draw();
          legend.querySelectorAll('button')[i].focus();
        }, { 'aria-pressed': selected === i ? 'true' : 'false' });
        add(b, 
          h('span', { class: `swatch hl-${i % HIGHLIGHTS}`, 'aria-hidden': 'true' }),
          h('span', { class: 'pred-name', dir: 'auto' }, it.name),
          h('span', { class: 'pred-prob' }, pct(it.prob)),
          it.polarity ? h('span', { class: `polarity polarity-${it.polarity}` }, `${it.polarity} ${pct(it.polarityProb)}`) : null,
          srOnly(selected === i ? ' (only its evidence is highlighted)' : ''));
        add(legend, h('li', {}, b));
      });
    }
    draw();
    add(box, h('h3', { class: 'sr-only' }, 'Prediction'), textBox);
    if (body.explain_unavailable) add(box, h('p', { class: 'hint' }, body.explain_unavailable));
    if (!items.length) {
      add(box, h('p', { class: 'hint' }, 'Nothing was predicted above the threshold.'));
      return box;
    }
    add(box, h('p', { class: 'hint' },
      items.length > 1 ? 'Select a prediction to highlight only its evidence' : 'Select the prediction to highlight its evidence',
      body.type === 'ABSA' ? ' (with the words behind its polarity, underlined).' : '.'));
    add(box, legend);
    if (Array.isArray(p.classes) && p.classes.length > 1) {
      add(box, h('details', { class: 'all-classes' },
        h('summary', {}, 'Every class'),
        h('ul', {}, p.classes.map((c) => {
          const m = h('meter', { min: '0', max: '1', value: String(c.probability), 'aria-label': c.class });
          return h('li', {}, h('span', { dir: 'auto' }, c.class), m, h('span', { class: 'pred-prob' }, pct(c.probability)));
        }))));
    }
    return box;
  }

  // ---- details ----
  function renderDetails() {
    const m = model;
    const rows = [
      ['Internal name', m.name], ['Display name', m.display_name], ['Type', m.type],
      ['Language', LANGUAGES[m.language] || m.language], ['Owner', m.owner], ['Base model', m.base || 'none'],
      ['Short description', m.short_description], ['Long description', m.long_description],
      ['Created', when(m.created)], ['Updated', when(m.updated)], ['UUID', m.uuid],
    ].filter(([, v]) => v !== null && v !== undefined && v !== '');
    const sel = m.metrics && m.metrics.selected;
    const heads = sel ? (Array.isArray(sel.heads) && sel.heads.length ? sel.heads : [sel]) : [];
    clear(details);
    add(details, 
      h('h2', { id: 'mp-details-h' }, 'Details'),
      h('dl', { class: 'details-list' },
        rows.map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', { dir: 'auto' }, v)))),
      heads.length ? selectionTable(heads) : null);
  }

  // How each classifier head was chosen (metrics.selected), as a table.
  function selectionTable(heads) {
    const secs = (v) => (typeof v === 'number' ? fmtDuration(v) : null);
    const cells = (hs) => [hs.C, hs.solver, hs.class_weight,
      typeof hs.threshold === 'number' ? hs.threshold.toFixed(3) : null,
      hs.cv_folds, hs.base_transfer, secs(hs.cv_seconds), secs(hs.fit_seconds)];
    const head = ['Head', 'C', 'Solver', 'Class weight', 'Threshold', 'CV folds', 'Base transfer', 'CV time',
      'Fit time'];
    const table = h('table', {},
      h('thead', {}, h('tr', {}, head.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, heads.map((hs) => h('tr', {},
        h('th', { scope: 'row' }, hs.head || '–'),
        cells(hs).map((x) => h('td', {}, x === null || x === undefined ? '–' : String(x)))))));
    return h('details', { class: 'selection' },
      h('summary', {}, 'Model selection (cross-validation)'),
      h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': 'Model selection' },
        table));
  }

  // ---- live updates ----
  let retryTimer = null;
  let retryDelay = 1000;

  function setLive(state) {
    liveBadge.hidden = state === null;
    liveBadge.className = state === 'on' ? 'live on' : 'live';
    liveBadge.textContent = state === null ? '' : state === 'on' ? 'Live' : 'Reconnecting…';
  }

  function stopFollowing() {
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = null;
    setLive(null);
    if (closeStream) {
      const c = closeStream;
      closeStream = null;
      c();
    }
  }

  // Follows the model's event stream while it trains. EventSource
  // reconnects by itself after a dropped connection; when it gives up (the
  // daemon was away, or answered an error), the stream is opened again
  // after a growing pause, as long as the model trains.
  function follow() {
    if (closeStream || disposed) return;
    closeStream = events(`${base}/events`, {
      open: () => setLive('on'),
      error: (readyState) => {
        if (disposed || !closeStream) return;
        setLive('off');
        if (readyState !== 2) return; // CONNECTING: the browser retries
        const c = closeStream;
        closeStream = null;
        c();
        retryTimer = setTimeout(() => {
          retryTimer = null;
          if (!disposed && model && TRAINING.has(model.status)) follow();
        }, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 15000);
      },
      model: (d) => {
        retryDelay = 1000;
        onModelEvent(eventData(d));
      },
      deleted: () => {
        stopFollowing();
        onGone('This model was deleted.');
      },
      revoked: () => {
        stopFollowing();
        showError('Live updates stopped: your sign-in ended or no longer gives access to this project. Sign in again.');
      },
      // the daemon is stopping; EventSource reconnects by itself and the
      // first event then is the model as it is
      shutdown: () => {
        setLive('off');
        say('The server is restarting; live updates resume when it is back.');
      },
    });
  }

  function onModelEvent(m) {
    if (disposed || !m || !model || m.id !== model.id) return;
    const before = model.status;
    model = { ...model, ...m };
    renderHead();
    renderTraining();
    if (m.status !== before) say(`Status: ${m.status}`);
    if (!TRAINING.has(m.status)) {
      // training is over: the stream ends here, the metrics come with GET
      stopFollowing();
      reload(true);
    }
  }

  function onGone(text) {
    clear(root);
    add(root, h('div', { class: 'model-page' },
      h('h1', { tabindex: '-1' }, 'Model deleted'),
      h('p', {}, text),
      h('p', {}, h('a', { href: projectHash }, 'Back to the models of the project'))));
    const h1 = root.querySelector('h1');
    if (h1) h1.focus();
  }

  // Reads the model (and, once trained, what belongs to a trained model).
  async function reload(finished) {
    const r = await api('GET', base).catch(() => ({ status: 0, body: { detail: 'the daemon cannot be reached' } }));
    if (disposed) return;
    if (r.status === 404) {
      onGone('This model does not exist (any more).');
      return;
    }
    if (r.status === 401 && typeof ctx.signedOut === 'function') {
      ctx.signedOut();
      return;
    }
    if (r.status !== 200 || !r.body) {
      loading.remove();
      showError(problemText(r, 'Reading the model'));
      return;
    }
    model = r.body;
    renderAll();
    if (finished) {
      say(model.status === 'FAILED'
        ? `Training failed: ${model.failure_reason || ''}`
        : `Training finished. Score ${fmt2(model.score)}.`);
    }
    if (TRAINING.has(model.status)) follow();
  }

  function renderAll() {
    loading.remove();
    training.hidden = false;
    details.hidden = false;
    renderHead();
    renderTraining();
    renderWarnings();
    renderEvaluation();
    renderTry();
    if (TRAINED.has(model.status) && features.hidden) loadFeatures();
    renderDetails();
  }

  // ---- actions ----
  async function act(run) {
    if (busy) return;
    busy = true;
    showError('');
    renderActions();
    try {
      await run();
    } catch (err) {
      if (!disposed) showError('The daemon cannot be reached; reload the page to see where things stand.');
    } finally {
      busy = false;
      if (!disposed) {
        renderActions();
        const first = actions.querySelector('button');
        if (first && document.activeElement === document.body) first.focus();
      }
    }
  }

  function onStatus(to) {
    const name = model.display_name || model.name;
    const text = {
      ACTIVE: `Activate “${name}”? It moves from ${model.status} to ACTIVE.`,
      PUBLISHED: `Publish “${name}”? It moves from ${model.status} to PUBLISHED.`,
      READY: `Move “${name}” from ${model.status} back to READY?`,
    }[to];
    const label = { ACTIVE: 'Activate', PUBLISHED: 'Publish', READY: 'Move to READY' }[to];
    return act(async () => {
      if (!(await confirmDialog(text, label)) || disposed) return;
      const r = await api('PATCH', base, { status: to });
      if (disposed) return;
      if (r.status !== 200 || !r.body) {
        showError(problemText(r, `Changing the status to ${to}`));
        return;
      }
      model = r.body;
      renderHead();
      renderDetails();
      say(`Status: ${model.status}`);
    });
  }

  function onCancel() {
    const name = model.display_name || model.name;
    return act(async () => {
      if (!(await confirmDialog(`Stop the training of “${name}”? The model ends FAILED (canceled).`, 'Stop training')) || disposed) return;
      const r = await api('POST', `${base}/cancel`);
      if (disposed) return;
      if (r.status !== 200 || !r.body) {
        showError(problemText(r, 'Canceling'));
        return;
      }
      stopFollowing();
      model = r.body;
      renderAll();
      say('The training was canceled.');
    });
  }

  function onDelete() {
    const name = model.display_name || model.name;
    return act(async () => {
      if (!(await confirmDialog(`Delete “${name}”? Its trained artifact is removed and its name is freed. This cannot be undone.`, 'Delete')) || disposed) return;
      const r = await api('DELETE', base);
      if (disposed) return;
      if (r.status !== 204 && r.status !== 404) {
        showError(problemText(r, 'Deleting'));
        return;
      }
      stopFollowing();
      navigate(projectHash);
    });
  }

  // ---- start ----
  (async () => {
    const [pr] = await Promise.all([api('GET', '/projects').catch(() => ({ status: 0 })), reload(false)]);
    if (disposed) return;
    const items = pr.status === 200 && pr.body && Array.isArray(pr.body.items) ? pr.body.items : [];
    const project = items.find((p) => String(p.id) === String(projectId));
    if (project) {
      role = project.role;
      clear(crumbs);
      add(crumbs, h('a', { href: projectHash }, '← All models of ', h('span', {}, project.name)));
      if (typeof ctx.setProjectName === 'function') ctx.setProjectName(project.id, project.name);
    }
    if (model) renderActions();
  })();

  return () => {
    disposed = true;
    stopFollowing();
    stopTicker();
  };
}
