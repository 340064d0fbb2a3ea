// SPDX-License-Identifier: MIT
// projects: the projects the caller has a role in (GET /projects), each with
// its workspace, the caller's role and the ways into it.
import { api, problemMessage } from './api.js';
import { h, fmtTime } from './dom.js';

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
    items.map((p) => {
      ctx.setProjectName(p.id, p.name);
      const canTrain = p.role === 'MANAGER' || p.role === 'OWNER';
      return h('li', { class: 'card project' },
        h('h2', null, h('a', { href: `#/p/${p.id}` }, p.name)),
        h('p', { class: 'meta' }, `${p.workspace_name} · your role: `,
          h('span', { class: 'pill' }, p.role)),
        h('p', { class: 'meta' }, `Created ${fmtTime(p.created)}`),
        h('div', { class: 'links' },
          h('a', { href: `#/p/${p.id}` }, 'Models'),
          h('a', { href: `#/p/${p.id}/sessions` }, 'Labeling sessions'),
          canTrain ? h('a', { href: `#/p/${p.id}/train` }, 'New training') : null));
    })));
  return null;
}
