// SPDX-License-Identifier: MIT
// projects: the projects the caller has a role in (GET /projects), each with
// its workspace, the caller's role and the ways into it.
import { api, problemMessage } from './api.js';
import { h, fmtTime } from './dom.js';

// Projects whose counts are read (two requests each); the others show none.
const SUMMARIES = 24;

// Fill el with what project pid holds: its labeling sessions and documents,
// its models (the first page of up to 200) by how far they are.
async function summary(pid, el) {
  const [a, m] = await Promise.all([
    api('GET', `/projects/${pid}/annotations`),
    api('GET', `/projects/${pid}/models?limit=200`),
  ]).catch(() => [null, null]);
  const parts = [];
  if (a && a.status === 200 && a.body) {
    const items = a.body.items || [];
    const docs = items.reduce((n, s) => n + (s.document_count || 0), 0);
    parts.push(`${items.length} labeling session${items.length === 1 ? '' : 's'} (${docs} documents)`);
  }
  if (m && m.status === 200 && m.body) {
    const items = m.body.items || [];
    const more = m.body.next_cursor ? '+' : '';
    const busy = items.filter((x) => x.status === 'QUEUED' || x.status === 'TRAINING').length;
    const ready = items.filter((x) => ['READY', 'ACTIVE', 'PUBLISHED'].includes(x.status)).length;
    parts.push(`${items.length}${more} model${items.length === 1 && !more ? '' : 's'}` +
      (items.length ? ` (${ready} ready${busy ? `, ${busy} training` : ''})` : ''));
  }
  el.textContent = parts.join(' · ');
}

export async function render(root, ctx) {
  const r = await api('GET', '/projects');
  if (r.status === 401) {
    ctx.signedOut();
    return null;
  }
  root.appendChild(h('div', { class: 'head' }, h('h1', { tabindex: '-1' }, 'Projects')));
  if (r.status !== 200 || !r.body) {
    root.appendChild(h('p', { class: 'error', role: 'alert' }, problemMessage(r)));
    return null;
  }
  const items = r.body.items || [];
  if (!items.length) {
    root.appendChild(h('p', { class: 'card empty' },
      'You have no role in any project yet. An owner of a project can add you.'));
    return null;
  }
  root.appendChild(h('ul', { class: 'grid plain', 'aria-label': 'Your projects' },
    items.map((p, i) => {
      ctx.setProjectName(p.id, p.name);
      const canTrain = p.role === 'MANAGER' || p.role === 'OWNER';
      const counts = h('p', { class: 'counts' });
      if (i < SUMMARIES) summary(p.id, counts);
      return h('li', { class: 'card project' },
        h('h2', null, h('a', { href: `#/p/${p.id}` }, h('bdi', null, p.name))),
        h('p', { class: 'meta' }, h('bdi', null, p.workspace_name), ' · your role: ',
          h('span', { class: 'pill' }, p.role)),
        counts,
        h('p', { class: 'meta' }, `Created ${fmtTime(p.created)}`),
        h('div', { class: 'links' },
          h('a', { href: `#/p/${p.id}` }, 'Models'),
          h('a', { href: `#/p/${p.id}/sessions` }, 'Labeling sessions'),
          canTrain ? h('a', { href: `#/p/${p.id}/train` }, 'New training') : null));
    })));
  return null;
}
