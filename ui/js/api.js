// SPDX-License-Identifier: MIT
// api: the dashboard's one way to the daemon. Same-origin requests with the
// session cookie (HttpOnly: this code never sees it, nor the token it came
// from); the CSRF token of the session is kept in memory only and sent in
// X-CSRF-Token on every method that changes state. A reloaded page gets it
// back from GET /session (session()).

let csrfToken = null;

const SAFE = new Set(['GET', 'HEAD']);

// The session's CSRF token (null when signed out); set by session(),
// signIn() and signOut().
export function csrf() {
  return csrfToken;
}

// Send method path (with body as JSON when given). Resolves to
// {status, headers, body}: body is the parsed JSON answer, or null when the
// answer is empty (or not JSON). HTTP errors resolve too; only a network
// failure rejects.
export async function api(method, path, body) {
  const headers = {};
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (!SAFE.has(method) && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let parsed = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      parsed = null;
    }
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

// The field errors of an RFC 9457 problem answer ({status, body}) as a map
// field name -> message (the first message of each field); {} when there
// are none.
export function problemErrors(resp) {
  const out = {};
  const errs = resp && resp.body && Array.isArray(resp.body.errors) ? resp.body.errors : [];
  for (const e of errs) {
    const field = e && (e.field || e.name || e.pointer);
    if (field && !(field in out)) out[field] = String(e.message || e.detail || 'invalid');
  }
  return out;
}

// A one-line message for an answer that failed: the problem's detail, else
// its title, else the status.
export function problemMessage(resp) {
  const b = resp && resp.body;
  if (b && typeof b.detail === 'string') return b.detail;
  if (b && typeof b.title === 'string') return b.title;
  return `The daemon answered ${resp ? resp.status : 'nothing'}.`;
}

// Follow the event stream at path (authenticated by the cookie): for each
// named event, handlers[name](parsed data) is called. handlers.error (if
// any) gets the EventSource's error events (the browser reconnects by
// itself unless the stream was closed). Returns close().
export function events(path, handlers) {
  const es = new EventSource(path);
  for (const [name, fn] of Object.entries(handlers)) {
    if (name === 'error' || name === 'open') continue;
    es.addEventListener(name, (ev) => {
      let data = null;
      try {
        data = JSON.parse(ev.data);
      } catch (e) {
        data = ev.data;
      }
      fn(data);
    });
  }
  if (handlers.open) es.addEventListener('open', () => handlers.open());
  if (handlers.error) es.addEventListener('error', () => handlers.error(es.readyState));
  return () => es.close();
}

// The current session (GET /session): the user and expiry, and the CSRF
// token is remembered; null when signed out.
export async function session() {
  const r = await api('GET', '/session');
  if (r.status !== 200 || !r.body) {
    csrfToken = null;
    return null;
  }
  csrfToken = r.body.csrf_token;
  return r.body;
}

// Sign in with a token (POST /session): resolves to the answer; on 201 the
// CSRF token is remembered (the token itself is not kept anywhere).
export async function signIn(token) {
  const r = await api('POST', '/session', { token });
  if (r.status === 201 && r.body) csrfToken = r.body.csrf_token;
  return r;
}

// Sign out (DELETE /session) and forget the CSRF token.
export async function signOut() {
  const r = await api('DELETE', '/session');
  csrfToken = null;
  return r;
}
