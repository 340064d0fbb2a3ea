// SPDX-License-Identifier: MIT
// dom: small helpers to build the dashboard's elements without innerHTML
// (text is always text, never markup), a time formatter and an accessible
// confirmation dialog.

// Build an element: h('button', {class: 'primary', onclick: fn,
// 'aria-label': 'Close'}, 'text', childNode, [more], null). attrs: class,
// for, aria-*, on<event> functions, other attributes (true: present,
// false/null/undefined: left out; value, checked and selected set the
// property). children: strings, numbers, nodes, arrays of them, null.
export function h(tag, attrs, ...children) {
  const svg = tag.startsWith('svg:');
  const el = svg
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2).toLowerCase(), v);
    } else if (k === 'class') {
      el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    } else if (k === 'for') {
      el.setAttribute('for', v);
    } else if (!svg && (k === 'value' || k === 'checked' || k === 'selected')) {
      el[k] = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// Remove every child of node; returns node.
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

const timeFmt = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
});

// A time for people: unix seconds (or an RFC 3339 string) in the browser's
// locale and time zone; '—' when absent.
export function fmtTime(unixSeconds) {
  if (unixSeconds === null || unixSeconds === undefined || unixSeconds === '') return '—';
  const d = typeof unixSeconds === 'number' ? new Date(unixSeconds * 1000) : new Date(unixSeconds);
  return Number.isNaN(d.getTime()) ? String(unixSeconds) : timeFmt.format(d);
}

// Ask message in a modal <dialog> (focus goes to Cancel, Escape cancels,
// focus returns where it was). Resolves to true for OK, false otherwise.
export function confirmDialog(message, okLabel = 'OK') {
  return new Promise((resolve) => {
    const before = document.activeElement;
    const id = `dlg-${Math.random().toString(36).slice(2)}`;
    let answer = false;
    const cancel = h('button', { type: 'button', onclick: () => dlg.close() }, 'Cancel');
    const ok = h('button', {
      type: 'button', class: 'danger',
      onclick: () => { answer = true; dlg.close(); },
    }, okLabel);
    const dlg = h('dialog', { class: 'confirm', 'aria-labelledby': id, 'aria-modal': 'true' },
      h('p', { id }, message),
      h('div', { class: 'actions' }, cancel, ok));
    dlg.addEventListener('close', () => {
      dlg.remove();
      if (before && typeof before.focus === 'function') before.focus();
      resolve(answer);
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    cancel.focus();
  });
}
