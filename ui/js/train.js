// SPDX-License-Identifier: MIT
// train: the form that starts a training (POST /projects/{id}/models). Its
// fields are the body's (name, display_name, language, base_id, the
// sessions as annotation_ids or as trainset_ and testset_annotation_ids,
// short_ and long_description); the labeling sessions are picked from the
// project's list with their type, language and document count. The
// daemon's validation errors (the problem's errors[]) are shown next to
// the fields they name; a 201 goes to the project's live model list.
import { api, problemErrors, problemMessage } from './api.js';
import { h } from './dom.js';

const LANGUAGES = [['en', 'English'], ['de', 'German'], ['ar', 'Arabic']];

export async function render(root, ctx) {
  const pid = ctx.projectId;
  const [sr, br] = await Promise.all([
    api('GET', `/projects/${pid}/annotations`),
    api('GET', '/base-models'),
  ]);
  if (sr.status === 401 || br.status === 401) {
    ctx.signedOut();
    return null;
  }
  root.appendChild(h('div', { class: 'head' }, h('h1', { tabindex: '-1' }, 'Start a training')));
  if (sr.status !== 200 || !sr.body) {
    root.appendChild(h('p', { class: 'notice bad', role: 'alert' }, problemMessage(sr)));
    return null;
  }
  const sessions = sr.body.items || [];
  const bases = br.status === 200 && br.body ? br.body.items || [] : [];

  const errs = {}; // field -> the element showing its error
  const inputs = {}; // field -> the control to focus for it

  function errorSlot(field) {
    const el = h('p', { class: 'field-error', id: `err-${field}` });
    errs[field] = el;
    return el;
  }

  function textField(field, label, attrs, help) {
    const id = `f-${field}`;
    const input = h(attrs.rows ? 'textarea' : 'input', {
      id, name: field, 'aria-describedby': `${help ? `help-${field} ` : ''}err-${field}`, ...attrs,
    });
    inputs[field] = input;
    return h('div', { class: 'field' },
      h('label', { for: id }, label),
      input,
      help ? h('p', { class: 'help', id: `help-${field}` }, help) : null,
      errorSlot(field));
  }

  function selectField(field, label, options, help) {
    const id = `f-${field}`;
    const sel = h('select', { id, name: field, 'aria-describedby': `help-${field} err-${field}` },
      options.map(([v, t]) => h('option', { value: v }, t)));
    inputs[field] = sel;
    return h('div', { class: 'field' },
      h('label', { for: id }, label),
      sel,
      h('p', { class: 'help', id: `help-${field}` }, help),
      errorSlot(field));
  }

  // A list of the project's sessions to tick, for the body field `field`.
  function sessionList(field, legend, help) {
    const boxes = sessions.map((s) => {
      const id = `f-${field}-${s.id}`;
      return h('label', { class: 'choice', for: id },
        h('input', { type: 'checkbox', id, name: field, value: String(s.id), onchange: picked }),
        h('span', { class: 'what' },
          h('span', null, h('bdi', null, s.name)),
          h('small', null, `${s.type} · ${s.language} · ${s.document_count} documents · #${s.id}`)));
    });
    const fs = h('fieldset', { 'aria-describedby': `help-${field} err-${field}` },
      h('legend', null, legend),
      h('p', { class: 'help', id: `help-${field}` }, help),
      sessions.length
        ? h('div', { class: 'choices' }, boxes)
        : h('p', { class: 'muted' }, 'This project has no labeling sessions yet. ',
          h('a', { href: `#/p/${pid}/sessions` }, 'Create one and upload documents.')),
      errorSlot(field));
    inputs[field] = boxes.length ? boxes[0].querySelector('input') : fs;
    fs.checked = () => [...fs.querySelectorAll('input:checked')].map((i) => Number(i.value));
    return fs;
  }

  // Ticking a session fills in the language when none is chosen yet: a
  // model's sessions must all have its language.
  function picked(ev) {
    const s = sessions.find((x) => String(x.id) === ev.target.value);
    if (ev.target.checked && s && inputs.language && !inputs.language.value && !inputs.base_id.value) {
      inputs.language.value = s.language;
    }
  }

  const split = sessionList('annotation_ids', 'Labeling sessions',
    'Their documents are split 80/20 into a train and a test set. The sessions must share one type, which is the model\u2019s type.');
  const train = sessionList('trainset_annotation_ids', 'Train set', 'The sessions to train on.');
  const test = sessionList('testset_annotation_ids', 'Test set', 'The sessions to evaluate on; none of the train set.');
  const separate = h('div', { hidden: true }, train, test);
  const modeSplit = h('input', { type: 'radio', name: 'mode', id: 'mode-split', value: 'split', checked: true, onchange: mode });
  const modeSep = h('input', { type: 'radio', name: 'mode', id: 'mode-separate', value: 'separate', onchange: mode });
  function mode() {
    split.hidden = !modeSplit.checked;
    separate.hidden = modeSplit.checked;
  }

  const formError = h('div', { class: 'notice bad', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Start training');
  const form = h('form', { class: 'card', novalidate: true, onsubmit: send },
    formError,
    h('div', { class: 'row' },
      textField('name', 'Name', { required: true, maxlength: '128', autocomplete: 'off' },
        'Unique in the workspace.'),
      textField('display_name', 'Display name', { maxlength: '255', autocomplete: 'off' },
        'Optional; the name by default.')),
    h('div', { class: 'row' },
      selectField('language', 'Language', [['', 'From the base model'], ...LANGUAGES],
        'Required unless a base model is chosen.'),
      selectField('base_id', 'Base model', [['', 'None'],
        ...bases.map((b) => [String(b.id), `${b.name} (${b.language})`])],
      'Optional: start from a base model\u2019s weights.')),
    h('fieldset', null,
      h('legend', null, 'How to test'),
      h('div', { class: 'actions' },
        h('label', { for: 'mode-split', class: 'choice' }, modeSplit, ' Split the sessions'),
        h('label', { for: 'mode-separate', class: 'choice' }, modeSep, ' Separate train and test sessions'))),
    split,
    separate,
    textField('short_description', 'Short description', { maxlength: '255', autocomplete: 'off' }),
    textField('long_description', 'Long description', { rows: '3', maxlength: '4000' }),
    h('div', { class: 'actions' }, submit,
      h('a', { href: `#/p/${pid}` }, 'Cancel')));
  root.appendChild(form);

  function clearErrors() {
    formError.hidden = true;
    for (const [field, el] of Object.entries(errs)) {
      el.textContent = '';
      const input = inputs[field];
      if (input) input.removeAttribute('aria-invalid');
    }
  }

  async function send(ev) {
    ev.preventDefault();
    clearErrors();
    const body = { name: inputs.name.value };
    const val = (f) => inputs[f].value.trim();
    if (val('display_name')) body.display_name = val('display_name');
    if (val('language')) body.language = val('language');
    if (val('base_id')) body.base_id = Number(val('base_id'));
    if (modeSplit.checked) {
      body.annotation_ids = split.checked();
    } else {
      body.trainset_annotation_ids = train.checked();
      body.testset_annotation_ids = test.checked();
    }
    if (val('short_description')) body.short_description = val('short_description');
    if (val('long_description')) body.long_description = val('long_description');
    submit.disabled = true;
    let r;
    try {
      r = await api('POST', `/projects/${pid}/models`, body);
    } catch (e) {
      r = { status: 0, body: { detail: 'The daemon cannot be reached.' } };
    }
    submit.disabled = false;
    if (r.status === 201) {
      ctx.announce(`Training ${body.name} started.`);
      ctx.navigate(`#/p/${pid}`);
      return;
    }
    if (r.status === 401) {
      ctx.signedOut();
      return;
    }
    const fields = problemErrors(r);
    let first = null;
    const other = [];
    for (const [field, msg] of Object.entries(fields)) {
      if (errs[field]) {
        errs[field].textContent = `${msg}.`.replace(/\.\.$/, '.');
        if (inputs[field]) inputs[field].setAttribute('aria-invalid', 'true');
        if (!first) first = inputs[field];
      } else {
        other.push(`${field}: ${msg}`);
      }
    }
    if (other.length || !first) {
      formError.textContent = other.length ? other.join('; ') : problemMessage(r);
      formError.hidden = false;
    }
    if (first) {
      first.focus();
    } else {
      formError.setAttribute('tabindex', '-1');
      formError.focus();
    }
  }

  mode();
  return null;
}
