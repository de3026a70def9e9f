// The idvmock QA dashboard: one page over the admin API (docs/dashboard.md).
//
// Rules this file keeps:
// - Everything a client of the mock sent (userIds, hosts, paths, headers, bodies) is hostile
//   data: it reaches the page only through textContent, text nodes and attribute values set
//   with setAttribute, never as HTML. Nothing here parses HTML.
// - The page runs under a Content-Security-Policy without inline scripts or styles: looks
//   are classes of app.css, never style attributes.
// - Cheap for the mock: one live stream of the journal for the page (fetch, not
//   EventSource, which cannot send the admin token), and the other views are read only while
//   they are shown and the tab is visible.

const TOKEN_KEY = 'idvmock-admin-token';
const JOURNAL_INITIAL = 200; // entries read when the journal opens
const JOURNAL_MAX_ROWS = 500; // rows kept in the page; older ones leave it
const REFRESH_MS = 3000; // how often a shown view (users, sessions, ...) is read again
const NUDGE_MS = 1000; // at most this often when journal events ask for a refresh
const VIEWS = ['journal', 'users', 'sessions', 'scenarios', 'overview'];
const VIEW_TITLES = { journal: 'Journal', users: 'Users', sessions: 'Sessions', scenarios: 'Scenario files and rules', overview: 'Overview' };

// The admin API is the folder above the page's: /__admin/ui/ → /__admin/ (also behind a
// proxy that adds a prefix).
const API_BASE = location.pathname.replace(/\/ui(\/[^/]*)?$/, '/');

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------------------
// DOM helpers: every value is text.

function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  setProps(el, props);
  appendKids(el, kids);
  return el;
}

function setProps(el, props) {
  if (!props) return;
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.setAttribute('class', v);
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'data') for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = String(dv);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function appendKids(el, kids) {
  for (const kid of kids.flat(Infinity)) {
    if (kid === undefined || kid === null || kid === false) continue;
    el.append(kid instanceof Node ? kid : String(kid));
  }
}

const SVG_NS = 'http://www.w3.org/2000/svg';
function s(tag, attrs, ...kids) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  appendKids(el, kids);
  return el;
}

// dl builds a definition list from [term, value] pairs, leaving out empty values.
function dl(cls, pairs) {
  const list = h('dl', { class: cls });
  for (const [term, value] of pairs) {
    if (value === undefined || value === null || value === '') continue;
    list.append(h('div', null, h('dt', { text: term }), h('dd', null, value)));
  }
  return list;
}

function code(text, cls) { return h('code', { class: cls, text }); }

// pre shows a body: JSON pretty-printed when it parses, as sent otherwise.
function pre(text, label) {
  let shown = text;
  try {
    if (/^\s*[[{]/.test(text)) shown = JSON.stringify(JSON.parse(text), null, 2);
  } catch { /* not JSON: as sent */ }
  return h('pre', { class: 'code', tabindex: 0, 'aria-label': label }, shown);
}

let idCounter = 0;
const nextId = (prefix) => `${prefix}-${++idCounter}`;

function fmtTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso || '');
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

function fmtDateTime(iso) {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime()) || d.getFullYear() < 2) return '';
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

function fmtMillis(ms) {
  if (typeof ms !== 'number') return '';
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return `${ms < 1 ? ms.toFixed(2) : (ms < 10 ? ms.toFixed(1) : Math.round(ms))} ms`;
}

function plural(n, one, many) { return `${n} ${n === 1 ? one : many}`; }

// codeClass colours a code: SUCCESS and 2xx good, a business refusal a warning, the rest bad.
function codeClass(c) {
  if (!c) return 'code-none';
  if (c === 'SUCCESS' || c === 'ok' || /^2\d\d$/.test(c)) return 'code-ok';
  if (/^(PARAMETER_ERROR|IAM_FAILED|CLIENT_ERROR|SIGNATURE_NOT_EXIST|ACCOUNT_DISABLED|3\d\d|4\d\d)$/.test(c)) return 'code-warn';
  return 'code-bad';
}

// ---------------------------------------------------------------------------------------
// The admin API.

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || '',
  generation: 0, // bumped when the page stops (a 401): answers of older calls are dropped
  view: 'journal',
  overview: null,
  offline: '',
};

class ApiError extends Error {
  constructor(status, body, fallback) {
    super(describeBody(body) || fallback || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}
class Stopped extends Error {} // the page stopped (token refused) while the call ran

// describeBody turns an admin error ({error, hint, problems}) or a vendor envelope into text,
// verbatim.
function describeBody(b) {
  if (!b || typeof b !== 'object') return '';
  if (b.error) return b.hint ? `${b.error} (${b.hint})` : String(b.error);
  if (b.message) return b.code ? `${b.code}: ${b.message}` : String(b.message);
  return '';
}

function authHeaders(extra) {
  const headers = Object.assign({}, extra);
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  return headers;
}

// api calls the admin API and returns its JSON; an error answer throws ApiError carrying the
// body, a 401 shows the token prompt.
async function api(path, opts = {}) {
  const gen = state.generation;
  const init = { method: opts.method || 'GET', headers: authHeaders(), cache: 'no-store', credentials: 'same-origin', signal: opts.signal };
  if (opts.body !== undefined) {
    init.headers['Content-Type'] = opts.type || 'application/json';
    init.body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  }
  let res;
  try {
    res = await fetch(API_BASE + path, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    setOffline(`The mock did not answer (${e.message}); retrying.`);
    throw new ApiError(0, null, `the mock did not answer: ${e.message}`);
  }
  const text = await res.text().catch(() => '');
  if (gen !== state.generation) throw new Stopped();
  setOffline('');
  let body = null;
  try { body = text ? JSON.parse(text) : {}; } catch { body = null; }
  if (res.status === 401) {
    askForToken(body);
    throw new Stopped();
  }
  if (!res.ok) throw new ApiError(res.status, body, `HTTP ${res.status}: ${text.slice(0, 300)}`);
  if (body === null) throw new ApiError(res.status, null, `the answer is not JSON: ${text.slice(0, 300)}`);
  return body;
}

const enc = encodeURIComponent;

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== undefined && v !== null) q.set(k, String(v));
  const str = q.toString();
  return str ? `?${str}` : '';
}

function setOffline(msg) {
  if (msg === state.offline) return;
  state.offline = msg;
  const el = $('connection');
  el.textContent = msg;
  el.hidden = !msg;
}

// ---------------------------------------------------------------------------------------
// Announcements: results of actions and errors, in a polite live region that is also seen.

let announceTimer = 0;
function announce(msg, kind = 'ok') {
  const el = $('announce');
  clearTimeout(announceTimer);
  el.className = `announce ${kind}`;
  el.replaceChildren(h('span', { text: msg }));
  if (kind === 'ok') announceTimer = setTimeout(() => { el.replaceChildren(); el.className = 'announce'; }, 8000);
}

function announceError(what, err) {
  if (err instanceof Stopped || err.name === 'AbortError') return;
  const lines = [`${what}: ${err.message}`];
  for (const p of (err.body && err.body.problems) || []) lines.push(problemText(p));
  announce(lines.join('\n'), 'error');
}

// problemText is one problem of a refused declaration: "line L, column C: message (hint)".
function problemText(p) {
  let where = '';
  if (p.line) where = p.column ? `line ${p.line}, column ${p.column}: ` : `line ${p.line}: `;
  else if (p.path) where = `${p.path}: `;
  return `${where}${p.message || ''}${p.hint ? ` (${p.hint})` : ''}`;
}

// ---------------------------------------------------------------------------------------
// The admin token.

function askForToken(body) {
  const refused = Boolean(state.token);
  stopAll();
  if (refused) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = '';
  }
  $('loading').hidden = true;
  $('app').hidden = true;
  $('login').hidden = false;
  const err = $('login-error');
  if (refused) {
    err.textContent = `The token was refused: ${describeBody(body) || 'HTTP 401'}`;
    err.hidden = false;
  } else {
    err.textContent = '';
    err.hidden = true;
  }
  document.title = 'Admin token · idvmock';
  const input = $('login-token');
  input.value = '';
  input.focus();
}

// stopAll stops the stream and the refreshes and removes everything the admin API showed,
// so that nothing stays on the page without a token.
function stopAll() {
  state.generation++;
  stopJournal();
  stopRefresh();
  journal.rows.clear();
  usersView.cache.clear();
  usersView.jumps.clear();
  sessionsView.cache.clear();
  for (const id of ['journal-list', 'users-list', 'sessions-list', 'scenarios-body', 'overview-body', 'facts', 'announce', 'declare-problems', 'journal-skipped']) {
    $(id).replaceChildren();
    delete $(id).dataset.json;
  }
  $('declare-problems').hidden = true;
  $('journal-skipped').hidden = true;
  $('journal-state').textContent = '';
  state.overview = null;
}

function wireLogin() {
  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const token = $('login-token').value.trim();
    if (!token) {
      const err = $('login-error');
      err.textContent = 'Enter the admin token: the mock logs it when it generates one, or it is the one given with --admin-token or --admin-token-file.';
      err.hidden = false;
      return;
    }
    state.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    start();
  });
  $('forget-token').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = '';
    stopAll();
    start();
  });
}

// ---------------------------------------------------------------------------------------
// Start, header and views.

async function start() {
  try {
    const ov = await api('overview');
    $('login').hidden = true;
    $('loading').hidden = true;
    $('app').hidden = false;
    $('forget-token').hidden = !state.token;
    showFacts(ov);
    route();
    startJournal();
  } catch (e) {
    if (e instanceof Stopped) return;
    $('loading').textContent = `The dashboard cannot start: ${e.message}`;
    $('loading').classList.add('problem-box');
    setTimeout(start, 3000);
  }
}

function showFacts(ov) {
  state.overview = ov;
  const store = ov.storeStatus && ov.storeStatus !== 'ok' ? `${ov.store} (${ov.storeStatus})` : ov.store;
  $('facts').replaceChildren(...dl('facts', [
    ['Version', ov.version],
    ['Auth', ov.auth],
    ['Store', store],
  ]).childNodes);
}

function route() {
  const wanted = location.hash.replace(/^#/, '');
  if (VIEWS.includes(wanted)) state.view = wanted;
  else if (wanted === '' || !document.getElementById(wanted)) state.view = 'journal';
  for (const section of document.querySelectorAll('main > .view')) section.hidden = section.dataset.view !== state.view;
  for (const a of document.querySelectorAll('nav.views a')) {
    if (a.dataset.view === state.view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${VIEW_TITLES[state.view]} · idvmock`;
  stopRefresh();
  if (state.view !== 'journal') refreshView();
}

// ---------------------------------------------------------------------------------------
// Refreshing the shown view: on an interval while it is shown and the tab visible, and soon
// after journal events (at most once a second). Never in the background.

const refresher = { timer: 0, due: 0, running: false, again: false, last: 0 };
const loaders = {};

function stopRefresh() {
  clearTimeout(refresher.timer);
  refresher.timer = 0;
  refresher.due = 0;
}

function scheduleRefresh(ms) {
  const due = Date.now() + ms;
  if (refresher.timer && refresher.due <= due) return;
  clearTimeout(refresher.timer);
  refresher.due = due;
  refresher.timer = setTimeout(refreshView, ms);
}

async function refreshView() {
  clearTimeout(refresher.timer);
  refresher.timer = 0;
  const view = state.view;
  if (document.hidden || $('app').hidden || !loaders[view]) return;
  if (refresher.running) {
    refresher.again = true;
    return;
  }
  refresher.running = true;
  refresher.last = Date.now();
  const gen = state.generation;
  try {
    await loaders[view]();
  } catch (e) {
    if (!(e instanceof Stopped) && !(e instanceof ApiError && e.status === 0)) announceError(`Reading ${VIEW_TITLES[view]}`, e);
  } finally {
    refresher.running = false;
  }
  if (gen !== state.generation) return;
  if (refresher.again || view !== state.view) {
    refresher.again = false;
    scheduleRefresh(0);
  } else {
    scheduleRefresh(REFRESH_MS);
  }
}

// nudge asks for a refresh of the shown view because the journal moved.
function nudge() {
  if (state.view === 'journal' || document.hidden) return;
  scheduleRefresh(Math.max(150, refresher.last + NUDGE_MS - Date.now()));
}

document.addEventListener('visibilitychange', () => {
  if (document.hidden) stopRefresh();
  else if (!$('app').hidden && state.view !== 'journal') refreshView();
});

// keyedRender shows items in container in order, one element per key. An item that changed
// is drawn again and morphed into its element, so that the element and its controls stay
// (a click in progress, the focus, an open <details>, a choice in a select survive a refresh).
function keyedRender(container, cache, items, keyOf, render) {
  const seen = new Set();
  const els = [];
  for (const item of items) {
    const key = keyOf(item);
    seen.add(key);
    const json = JSON.stringify(item);
    let hit = cache.get(key);
    if (!hit) {
      hit = { json, el: render(item) };
      cache.set(key, hit);
    } else if (hit.json !== json) {
      morph(hit.el, render(item));
      hit.json = json;
    }
    els.push(hit.el);
  }
  for (const key of [...cache.keys()]) if (!seen.has(key)) cache.delete(key);
  els.forEach((el, i) => {
    if (container.children[i] !== el) container.insertBefore(el, container.children[i] || null);
  });
  while (container.children.length > els.length) container.lastElementChild.remove();
}

// morph makes the element from look like the element to while keeping from's nodes wherever
// a node of to is of the same kind (same tag, same data-key). What the user set is kept: the
// open attribute of <details>, the choice of a select whose options did not change, and
// everything under an element marked data-keep (content read on demand).
function morph(from, to) {
  for (const { name, value } of [...to.attributes]) {
    if (name !== 'open' && from.getAttribute(name) !== value) from.setAttribute(name, value);
  }
  for (const { name } of [...from.attributes]) {
    if (name !== 'open' && !to.hasAttribute(name)) from.removeAttribute(name);
  }
  if (from.dataset.keep !== undefined) return;
  if (from.tagName === 'SELECT') {
    morphSelect(from, to);
    return;
  }
  morphChildren(from, [...to.childNodes]);
}

// morphChildren makes from's children those of toKids: an element with a data-key is matched
// by its key wherever it is (rows inserted on top keep the rows below), the others by position.
function morphChildren(from, toKids) {
  const keyed = new Map();
  for (const a of from.children) if (a.dataset.key) keyed.set(a.dataset.key, a);
  toKids.forEach((b, i) => {
    const a = from.childNodes[i];
    const key = b.nodeType === Node.ELEMENT_NODE ? b.dataset.key : undefined;
    if (key && keyed.has(key)) {
      const match = keyed.get(key);
      keyed.delete(key);
      if (match !== a) from.insertBefore(match, a || null);
      morph(match, b);
    } else if (!a) {
      from.append(b);
    } else if (a.nodeType !== b.nodeType || (a.nodeType === Node.ELEMENT_NODE && !sameElement(a, b))) {
      if (a.nodeType === Node.ELEMENT_NODE && keyed.has(a.dataset.key)) from.insertBefore(b, a); // a may be wanted further on
      else a.replaceWith(b);
    } else if (a.nodeType === Node.ELEMENT_NODE) {
      morph(a, b);
    } else if (a.data !== b.data) {
      a.data = b.data;
    }
  });
  while (from.childNodes.length > toKids.length) from.lastChild.remove();
}

function sameElement(a, b) {
  return a.tagName === b.tagName && (a.dataset.key || '') === (b.dataset.key || '');
}

function morphSelect(from, to) {
  const options = (sel) => [...sel.options].map((o) => `${o.value}\n${o.text}`).join('\n');
  if (options(from) === options(to)) return; // what it shows is the user's
  const kept = from.value;
  from.replaceChildren(...to.options);
  if ([...from.options].some((o) => o.value === kept)) from.value = kept;
}

// act runs an action of a button: disables it meanwhile, announces the result or the error.
async function act(button, what, fn) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    const msg = await fn(button);
    if (msg) announce(msg);
  } catch (e) {
    announceError(what, e);
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
  scheduleRefresh(0);
}

// ---------------------------------------------------------------------------------------
// 1. The live journal.

const journal = {
  rows: new Map(), // id → <li>
  lastId: 0,
  controller: null,
  skipped: 0,
  retryMs: 2000,
  filtersKey: '', // the filters the shown entries were read with
};

function journalFilters() {
  const form = $('journal-filters');
  const out = {};
  for (const el of form.elements) if (el.name && el.value.trim()) out[el.name] = el.value.trim();
  return out;
}

function stopJournal() {
  if (journal.controller) journal.controller.abort();
  journal.controller = null;
  setLive(false);
}

// setLive marks whether the stream is connected (the list's data-live says it to tests too).
function setLive(live) {
  $('journal-list').dataset.live = String(live);
  $('journal-state').dataset.live = String(live);
}

function setJournalState(text) { $('journal-state').textContent = text; }

// startJournal reads the latest entries, then follows the stream of new ones.
async function startJournal() {
  stopJournal();
  const ctl = new AbortController();
  journal.controller = ctl;
  const filters = journalFilters();
  journal.filtersKey = JSON.stringify(filters);
  const list = $('journal-list');
  list.replaceChildren();
  journal.rows.clear();
  journal.lastId = 0;
  journal.skipped = 0;
  showSkipped();
  setJournalState('Loading…');
  for (;;) {
    try {
      const data = await api(`requests${query({ ...filters, limit: JOURNAL_INITIAL })}`, { signal: ctl.signal });
      for (const e of data.requests || []) {
        addEntry(e, false);
        journal.lastId = Math.max(journal.lastId, e.id || 0);
      }
      break;
    } catch (e) {
      if (ctl.signal.aborted || e instanceof Stopped) return;
      setJournalState(`The journal cannot be read: ${e.message}. Retrying…`);
      if (!(await sleep(journal.retryMs, ctl.signal))) return;
    }
  }
  showEmpty();
  follow(ctl, filters);
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const t = setTimeout(() => resolve(true), ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(false); }, { once: true });
  });
}

// follow reads /__admin/events with fetch and a stream reader, and reconnects after the last
// id seen when the stream ends.
async function follow(ctl, filters) {
  let failures = 0;
  while (!ctl.signal.aborted) {
    let res;
    try {
      res = await fetch(API_BASE + `events${query({ ...filters, after: journal.lastId })}`, {
        headers: authHeaders({ Accept: 'text/event-stream' }), cache: 'no-store', signal: ctl.signal,
      });
    } catch (e) {
      if (ctl.signal.aborted) return;
      res = null;
      setJournalState(`Live updates lost (${e.message}); reconnecting…`);
    }
    if (res && res.status === 401) {
      askForToken(await res.json().catch(() => null));
      return;
    }
    if (res && !res.ok) {
      const body = await res.json().catch(() => null);
      setJournalState(`Live updates paused: ${describeBody(body) || `HTTP ${res.status}`}. Retrying…`);
    } else if (res) {
      failures = 0;
      setLive(true);
      setJournalState('Live');
      try {
        await readEvents(res.body, (ev) => onStreamEvent(ev));
      } catch (e) {
        if (ctl.signal.aborted) return;
      }
      setLive(false);
      if (ctl.signal.aborted) return;
      setJournalState('Reconnecting…');
    }
    failures++;
    const wait = failures <= 1 ? journal.retryMs : Math.min(30000, journal.retryMs * 2 ** Math.min(failures - 1, 4));
    if (!(await sleep(wait, ctl.signal))) return;
  }
}

// readEvents parses a text/event-stream body and calls onEvent for each message.
async function readEvents(body, onEvent) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let ev = { event: 'message', data: [], id: null };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true });
    const lines = buf.split('\n');
    buf = lines.pop();
    for (let line of lines) {
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        if (ev.data.length) onEvent({ event: ev.event, data: ev.data.join('\n'), id: ev.id });
        ev = { event: 'message', data: [], id: null };
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value2 = colon < 0 ? '' : line.slice(colon + 1);
      if (value2.startsWith(' ')) value2 = value2.slice(1);
      if (field === 'event') ev.event = value2;
      else if (field === 'data') ev.data.push(value2);
      else if (field === 'id') ev.id = value2;
      else if (field === 'retry' && /^\d+$/.test(value2)) journal.retryMs = Math.max(500, Number(value2));
    }
  }
}

function onStreamEvent(ev) {
  if (ev.event === 'unavailable') { // the shared journal could not be read this time
    let why = ev.data;
    try { why = JSON.parse(ev.data); } catch { /* as sent */ }
    setJournalState(`Live, but the journal could not be read: ${why}`);
    return;
  }
  if (ev.event === 'reset') { // the mock restarted: the rows shown are of a journal that is gone
    startJournal();
    return;
  }
  if (ev.event === 'reset') { // the mock restarted: the rows shown are of a journal that is gone
    let why = '';
    try { why = JSON.parse(ev.data).reason || ''; } catch { /* none */ }
    announce(`The journal was read again${why ? `: ${why}` : ''}.`);
    startJournal();
    return;
  }
  if (ev.event !== 'entries') return;
  setJournalState('Live');
  let msg;
  try { msg = JSON.parse(ev.data); } catch { return; }
  for (const e of msg.entries || []) { // oldest first: each goes on top
    addEntry(e, true);
    journal.lastId = Math.max(journal.lastId, e.id || 0);
  }
  if (ev.id && /^\d+$/.test(ev.id)) journal.lastId = Math.max(journal.lastId, Number(ev.id));
  if (msg.skipped > 0) {
    journal.skipped += msg.skipped;
    showSkipped();
  }
  showEmpty();
  nudge();
}

function showEmpty() { $('journal-empty').hidden = journal.rows.size > 0; }

function showSkipped() {
  const box = $('journal-skipped');
  if (!journal.skipped) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  box.replaceChildren(
    h('span', { text: `${plural(journal.skipped, 'entry', 'entries')} arrived faster than the page shows them; the journal keeps them. ` }),
    h('button', { type: 'button', class: 'quiet', onclick: () => startJournal() }, 'Read the journal again'),
  );
  box.hidden = false;
}

function addEntry(e, onTop) {
  if (!e || journal.rows.has(e.id)) return;
  const row = entryRow(e);
  const list = $('journal-list');
  if (onTop) list.prepend(row);
  else list.append(row);
  journal.rows.set(e.id, row);
  while (journal.rows.size > JOURNAL_MAX_ROWS) {
    const last = list.lastElementChild;
    journal.rows.delete(Number(last.dataset.id));
    last.remove();
  }
}

// entryRow is one journal entry: a summary line that opens to everything the journal kept.
function entryRow(e) {
  const what = e.kind && e.kind !== 'request'
    ? [h('span', { class: `kind kind-${e.kind}`, text: e.kind }), e.attempt ? ` attempt ${e.attempt} ` : ' ', h('span', { class: 'target', text: e.path || '' })]
    : [h('span', { class: 'method', text: e.method || '' }), ' ', h('span', { class: 'op', text: e.operation || e.path || '' })];
  const answeredBy = [];
  if (e.unmatched) answeredBy.push(h('span', { class: 'tag tag-miss', text: 'unknown userId' }));
  if (e.scenario) answeredBy.push(h('span', { class: 'tag', text: `scenario ${e.scenario}` }));
  if (e.state) answeredBy.push(h('span', { class: 'tag', text: `state ${e.state}` }));
  if (e.rule) answeredBy.push(h('span', { class: 'tag', text: `rule ${e.rule}` }));
  if (e.fault) answeredBy.push(h('span', { class: 'tag tag-fault', text: `fault ${e.fault}` }));
  if (e.error) answeredBy.push(h('span', { class: 'tag tag-fault', text: e.error }));
  const summary = h('summary', null,
    h('span', { class: 'c-time' }, h('time', { datetime: e.time, text: fmtTime(e.time) })),
    h('span', { class: 'c-what' }, what),
    h('span', { class: 'c-user' }, e.userId ? h('span', { class: 'user-id', text: e.userId }) : h('span', { class: 'muted', text: '—' })),
    h('span', { class: 'c-region', text: e.region || '' }),
    h('span', { class: 'c-code' }, codeCell(e)),
    h('span', { class: 'c-why' }, answeredBy.length ? answeredBy : h('span', { class: 'muted', text: e.source || '' })),
    h('span', { class: 'c-ms', text: fmtMillis(e.latencyMillis) }),
  );
  const body = h('div', { class: 'entry-detail' }, h('p', { class: 'muted', text: 'Loading…' }));
  const details = h('details', { class: 'entry-details' }, summary, body);
  let loaded = false;
  details.addEventListener('toggle', async () => {
    if (!details.open || loaded) return;
    loaded = true;
    try {
      const full = await api(`requests/${enc(e.id)}`);
      body.replaceChildren(...entryDetail(full.request || full.entry || full));
    } catch (err) {
      if (err instanceof Stopped) return;
      loaded = false;
      body.replaceChildren(h('p', { class: 'problem-box', text: `This entry cannot be read: ${err.message}` }));
    }
  });
  return h('li', {
    class: `entry${e.unmatched ? ' unmatched' : ''}`,
    data: { id: e.id, userId: e.userId || '', code: e.code || '', kind: e.kind || 'request', operation: e.operation || '' },
  }, details);
}

// codeCell is the envelope code and the HTTP status of a request; for a delivery, the
// receiver's HTTP status, or that there was none.
function codeCell(e) {
  if (e.code) return [h('span', { class: `code-badge ${codeClass(e.code)}`, text: e.code }), h('span', { class: 'status', text: e.status ? ` ${e.status}` : '' })];
  if (e.status) return h('span', { class: `code-badge ${e.error ? 'code-bad' : codeClass(String(e.status))}`, text: `HTTP ${e.status}` });
  return h('span', { class: `code-badge ${e.error ? 'code-bad' : 'code-none'}`, text: e.error ? 'failed' : '—' });
}

// entryDetail is everything the journal kept of one entry.
function entryDetail(e) {
  const out = [];
  const isRequest = !e.kind || e.kind === 'request';
  const target = `${e.host ? `${e.host}` : ''}${e.path || ''}${e.query ? `?${e.query}` : ''}`;

  const request = h('section', { class: 'part' }, h('h3', { text: isRequest ? 'Request' : `${e.kind} sent by the mock` }),
    h('p', { class: 'request-line' }, code(`${e.method || ''} ${target}`)));
  const headers = isRequest ? e.requestHeaders : e.headers;
  if (headers && Object.keys(headers).length) {
    request.append(headerTable(headers, isRequest ? 'Request headers' : 'Headers sent (aai-* signature headers)'));
  }
  if (isRequest) request.append(h('p', { class: 'muted small', text: 'Secrets are shown masked, as the journal keeps them (the access token keeps its first four characters and its length).' }));
  const reqBody = isRequest ? e.requestBody : e.body;
  if (reqBody) appendKids(request, [h('h4', { text: 'Body' }), pre(reqBody, 'Request body'), clippedNote(reqBody)]);
  out.push(request);

  const answer = h('section', { class: 'part' }, h('h3', { text: isRequest ? 'Answer' : 'Receiver\'s answer' }),
    dl('pairs', [
      ['Status', e.status ? String(e.status) : (isRequest ? '' : 'no answer')],
      ['Code', e.code ? h('span', { class: `code-badge ${codeClass(e.code)}`, text: e.code }) : ''],
      ['Time taken', fmtMillis(e.latencyMillis)],
      ['transactionId', e.transactionId ? code(e.transactionId) : ''],
      ['Attempt', e.attempt ? String(e.attempt) : ''],
      ['Error', e.error || ''],
      ['Note', e.note || ''],
    ]));
  if (e.responseBody) appendKids(answer, [h('h4', { text: 'Body' }), pre(e.responseBody, 'Answer body'), clippedNote(e.responseBody)]);
  out.push(answer);

  if (isRequest) {
    const why = h('section', { class: 'part' }, h('h3', { text: 'Why this answer' }),
      dl('pairs', [
        ['Answered by', e.source || ''],
        ['Scenario', e.scenario || ''],
        ['State', e.state || ''],
        ['Rule', e.rule || ''],
        ['Faults', e.fault || ''],
        ['signatureId', e.signatureId ? code(e.signatureId) : ''],
        ['Time', fmtDateTime(e.time)],
        ['Token', e.token ? code(e.token) : ''],
      ]));
    if (e.unmatched) why.append(h('p', { class: 'problem-box', text: 'No user or rule knows this userId.' }));
    if (e.nearMisses && e.nearMisses.length) {
      const list = h('ul', { class: 'near-misses' });
      for (const m of e.nearMisses) {
        list.append(h('li', null,
          h('span', { class: 'muted', text: `${m.kind} ` }), h('strong', { class: 'user-id', text: m.name }),
          m.differences && m.differences.length ? h('ul', null, m.differences.map((d) => h('li', { text: d }))) : null));
      }
      why.append(h('h4', { text: 'Near misses' }), list);
    }
    out.push(why);
    out.push(curlPart(e));
  }
  return out;
}

function clippedNote(text) {
  return text.length >= 8192 ? h('p', { class: 'muted small', text: 'The journal keeps the first 8 KiB of a body: this one is clipped.' }) : null;
}

function headerTable(headers, caption) {
  const rows = Object.keys(headers).sort().map((name) => {
    const v = headers[name];
    return h('tr', null, h('th', { scope: 'row', text: name }), h('td', null, code(Array.isArray(v) ? v.join(', ') : String(v))));
  });
  return h('div', { class: 'table-wrap' }, h('table', { class: 'kv' }, h('caption', { text: caption }), h('tbody', null, rows)));
}

// shellQuote quotes one value for a POSIX shell: inside single quotes nothing is special,
// and a single quote is closed, escaped and reopened.
function shellQuote(v) { return `'${String(v).replace(/'/g, "'\\''")}'`; }

const CURL_SKIP = new Set(['host', 'content-length', 'connection', 'accept-encoding', 'transfer-encoding']);

// curlCommand repeats a journaled request against this mock, with its Host (which picks the
// region), headers and body.
function curlCommand(e) {
  const url = `${location.origin}${e.path || '/'}${e.query ? `?${e.query}` : ''}`;
  const parts = ['curl', '-sS', '-X', shellQuote(e.method || 'GET'), shellQuote(url)];
  if (e.host && e.host !== location.host) parts.push('-H', shellQuote(`Host: ${e.host}`));
  const headers = e.requestHeaders || {};
  for (const name of Object.keys(headers).sort()) {
    if (CURL_SKIP.has(name.toLowerCase())) continue;
    const v = headers[name];
    parts.push('-H', shellQuote(`${name}: ${Array.isArray(v) ? v.join(', ') : v}`));
  }
  if (e.requestBody) parts.push('--data-raw', shellQuote(e.requestBody));
  // The URL on the first line, then one option and its value a line, continued with a backslash.
  const lines = [parts.slice(0, 5).join(' ')];
  for (let i = 5; i < parts.length; i += 2) lines.push(`${parts[i]} ${parts[i + 1]}`);
  return lines.join(' \\\n  ');
}

function curlPart(e) {
  const id = nextId('curl');
  const text = curlCommand(e);
  const area = h('textarea', { id, class: 'curl', readonly: true, rows: Math.min(8, text.split('\n').length), spellcheck: 'false' });
  area.value = text;
  const button = h('button', { type: 'button', class: 'copy-curl' }, 'Copy as curl');
  button.addEventListener('click', () => copyText(text, area));
  return h('section', { class: 'part part-wide' },
    h('h3', { text: 'Repeat it' }),
    h('div', { class: 'actions' }, button),
    h('label', { for: id, text: 'curl command (masked values stay masked: put the real token back before running it)' }),
    area);
}

// copyText copies to the clipboard; where the page may not (plain http beyond localhost), it
// selects the text for the user to copy.
async function copyText(text, area) {
  try {
    if (!navigator.clipboard || !window.isSecureContext) throw new Error('no clipboard');
    await navigator.clipboard.writeText(text);
    announce('The curl command is on the clipboard.');
  } catch {
    area.focus();
    area.select();
    let copied = false;
    try { copied = document.execCommand('copy'); } catch { copied = false; }
    announce(copied ? 'The curl command is on the clipboard.' : 'The curl command is selected: press Ctrl+C (⌘C on a Mac) to copy it.');
  }
}

function wireJournal() {
  const form = $('journal-filters');
  let timer = 0;
  const restart = (delay) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      // Read again only when the filters changed.
      if (!$('app').hidden && JSON.stringify(journalFilters()) !== journal.filtersKey) startJournal();
    }, delay);
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); restart(0); });
  form.addEventListener('change', () => restart(0));
  form.addEventListener('input', (ev) => { if (ev.target.tagName === 'INPUT') restart(400); });
  form.addEventListener('reset', () => restart(0));
}

// ---------------------------------------------------------------------------------------
// 2. Users.

// jumps keeps the state a user picked in a card's select until Jump applies it: a refresh
// that draws the card again keeps the choice.
const usersView = { cache: new Map(), users: [], jumps: new Map() };

loaders.users = async () => {
  const data = await api('users');
  usersView.users = data.users || [];
  renderUsers();
};

function renderUsers() {
  const find = $('users-find').value.trim().toLowerCase();
  const users = usersView.users.filter((u) => !find || String(u.userId).toLowerCase().includes(find));
  const list = $('users-list');
  keyedRender(list, usersView.cache, users, (u) => u.userId, userCard);
  if (!users.length) list.replaceChildren(h('p', { class: 'empty', text: find ? 'No user matches.' : 'No user is declared.' }));
}

function nextText(u) {
  const n = u.next;
  const following = u.states && u.states.length > 1 ? u.states[(u.stateIndex + 1) % u.states.length] : '';
  const to = following ? ` before “${following}”` : '';
  if (!n) return u.states && u.states.length > 1 ? 'The last state: it stays.' : 'One state: it always answers the same.';
  if (n.calls) return `${n.callsLeft || 0} of ${plural(n.calls, 'call', 'calls')} left${to}.`;
  if (n.after) {
    if (typeof n.secondsLeft !== 'number') return `Moves to “${following}” ${n.after} after its first call in this state; no call yet.`;
    return `${n.secondsLeft.toFixed(1)} s left of ${n.after}${to}.`;
  }
  return '';
}

function userCard(u) {
  const titleId = nextId('user');
  const name = u.userId;
  const status = u.profileStatus || '';
  const states = u.states || [];
  // States without a name are numbered from 0 by the mock: they show as their number.
  const steps = h('ol', { class: 'steps', 'aria-label': `States of ${name}` },
    states.map((label, i) => h('li', {
      class: i === u.stateIndex ? 'step current' : (i < u.stateIndex ? 'step done' : 'step'),
      'aria-current': i === u.stateIndex ? 'step' : null,
    }, h('span', { class: 'step-n', text: String(i + 1) }), label !== String(i) ? h('span', { class: 'step-label', text: label }) : null)));
  if (u.loop) steps.append(h('li', { class: 'step loop', 'aria-label': 'then back to the first state' }, '↺'));
  const progressive = states.length > 1;

  const card = h('article', { class: 'card user-card', 'aria-labelledby': titleId, data: { userId: name } },
    h('header', { class: 'card-head' },
      h('h3', { id: titleId, class: 'user-id', text: name }),
      status ? h('span', { class: `badge badge-${status.toLowerCase()}`, text: status }) : null),
    dl('meta', [
      ['Source', u.source],
      ['Scenario', u.scenario || ''],
      ['Regions', (u.regions || []).join(', ')],
      ['Calls in this state', String(u.calls ?? 0)],
      ['Sessions started', u.runtimeSessions ? String(u.runtimeSessions) : ''],
    ]),
    progressive ? steps : null,
    h('p', { class: 'next', text: nextText(u) }),
  );

  const actions = h('div', { class: 'actions', role: 'group', 'aria-label': `Actions on ${name}` });
  const canAdvance = u.loop || u.stateIndex < states.length - 1;
  if (progressive) actions.append(h('button', {
    type: 'button', class: 'act-advance', disabled: !canAdvance,
    'aria-describedby': titleId,
    onclick: (ev) => act(ev.currentTarget, `Advance ${name}`, async () => {
      const r = await api(`users/${enc(name)}/advance`, { method: 'POST' });
      updateUser(r.user);
      return `${name} is now in state “${r.user.state}”.`;
    }),
  }, 'Advance'));
  if (states.length > 1) {
    const picked = usersView.jumps.get(name);
    const chosen = picked !== undefined && Number(picked) < states.length ? Number(picked) : u.stateIndex;
    const select = h('select', { class: 'jump-state' },
      states.map((label, i) => h('option', { value: String(i), selected: i === chosen, text: `${i + 1}. ${label}` })));
    select.addEventListener('change', () => usersView.jumps.set(name, select.value));
    actions.append(h('label', { class: 'inline-label' }, h('span', { text: 'State' }), select));
    actions.append(h('button', {
      type: 'button', class: 'act-jump', 'aria-describedby': titleId,
      onclick: (ev) => act(ev.currentTarget, `Jump ${name}`, async (button) => {
        const to = usersView.jumps.get(name) ?? button.closest('article').querySelector('select.jump-state').value;
        const r = await api(`users/${enc(name)}/state`, { method: 'PUT', body: { state: to } });
        usersView.jumps.delete(name);
        updateUser(r.user);
        return `${name} is now in state “${r.user.state}”.`;
      }),
    }, 'Jump to state'));
  }
  actions.append(h('button', {
    type: 'button', class: 'quiet act-reset', 'aria-describedby': titleId,
    onclick: (ev) => act(ev.currentTarget, `Reset ${name}`, async () => {
      const r = await api(`reset${query({ userId: name })}`, { method: 'POST' });
      return `Reset ${name} (${plural(r.reset ?? 0, 'record', 'records')} cleared).`;
    }),
  }, 'Reset user'));
  actions.append(h('button', {
    type: 'button', class: 'quiet act-deactivate', 'aria-describedby': titleId,
    disabled: status === 'INACTIVE',
    onclick: (ev) => act(ev.currentTarget, `Deactivate ${name}`, async () => {
      const r = await api(`users/${enc(name)}/deactivate`, { method: 'POST' });
      updateUser(r.user);
      return `${name}'s profile is now ${r.user.profileStatus || 'INACTIVE'}.`;
    }),
  }, 'Deactivate'));
  actions.append(h('button', {
    type: 'button', class: 'quiet act-edit', 'aria-describedby': titleId,
    onclick: (ev) => act(ev.currentTarget, `Read ${name}`, async () => {
      const r = await api(`users/${enc(name)}`);
      $('declare-id').value = name;
      $('declare-yaml').value = JSON.stringify(r.definition || {}, null, 2);
      $('declare-yaml').focus();
      return `${name}'s declaration is in the form below (as JSON, which the form takes too).`;
    }),
  }, 'Edit declaration'));
  card.append(actions);
  return card;
}

function updateUser(u) {
  if (!u) return;
  const i = usersView.users.findIndex((x) => x.userId === u.userId);
  if (i >= 0) usersView.users[i] = u;
  else {
    // In the mock's order (by userId), so that the next refresh moves no card.
    const at = usersView.users.findIndex((x) => x.userId > u.userId);
    usersView.users.splice(at < 0 ? usersView.users.length : at, 0, u);
  }
  renderUsers();
}

function wireUsers() {
  $('users-find').addEventListener('input', renderUsers);
  const yaml = $('declare-yaml');
  yaml.placeholder = 'states:\n  - name: started\n    profileStatus: INIT\n    sessions: [{bizId: order-1}]\n    after: 3 calls\n  - name: passed\n    profileStatus: ACTIVE\n    sessions: [{bizId: order-1, overallResult: PASS}]';
  $('declare-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const id = $('declare-id').value.trim();
    const box = $('declare-problems');
    const button = ev.submitter || $('declare-form').querySelector('button[type=submit]');
    if (!id) {
      showProblems(box, 'Give the userId to declare.', []);
      $('declare-id').focus();
      return;
    }
    button.disabled = true;
    try {
      const r = await api(`users/${enc(id)}`, { method: 'PUT', type: 'application/yaml', body: yaml.value });
      box.hidden = true;
      box.replaceChildren();
      if (r.user) updateUser(r.user);
      announce(`Declared ${id}.`);
    } catch (e) {
      if (e instanceof Stopped) return;
      showProblems(box, e.message, (e.body && e.body.problems) || []);
      announceError(`Declaring ${id}`, e);
    } finally {
      button.disabled = false;
    }
    scheduleRefresh(0);
  });
}

// showProblems lists each problem of a refused declaration where it happened, with a button
// that puts the cursor there.
function showProblems(box, message, problems) {
  const list = h('ul', null, problems.map((p) => {
    const li = h('li', null, h('span', { text: problemText(p) }));
    if (p.line) {
      li.append(' ', h('button', {
        type: 'button', class: 'quiet small', onclick: () => selectLine($('declare-yaml'), p.line, p.column),
      }, `Go to line ${p.line}`));
    }
    return li;
  }));
  box.replaceChildren(h('p', { class: 'problem-title', text: message }), problems.length ? list : null);
  box.hidden = false;
}

function selectLine(area, line, column) {
  const lines = area.value.split('\n');
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
  offset += Math.max(0, (column || 1) - 1);
  area.focus();
  area.setSelectionRange(offset, offset);
}

// ---------------------------------------------------------------------------------------
// 3. Sessions.

const sessionsView = { cache: new Map() };

loaders.sessions = async () => {
  const data = await api(`sessions${query({ limit: 100 })}`);
  const sessions = data.sessions || [];
  const list = $('sessions-list');
  keyedRender(list, sessionsView.cache, sessions, (x) => x.signatureId, sessionCard);
  if (!sessions.length) list.replaceChildren(h('p', { class: 'empty', text: 'No session was started through Generate URL yet.' }));
};

const COMPLETIONS = [
  ['PASS', { overallResult: 'PASS' }, 'Complete PASS'],
  ['FAIL', { overallResult: 'FAIL', errorCode: 'LIVENESS_ATTACK' }, 'Complete FAIL'],
  ['INCOMPLETE', { overallResult: 'INCOMPLETE' }, 'Complete INCOMPLETE'],
  ['SUBMIT', { state: 'submitted' }, 'Submit'],
];

function sessionCard(x) {
  const titleId = nextId('session');
  const finished = x.state === 'finished';
  const card = h('article', { class: 'card session-card', 'aria-labelledby': titleId, data: { signatureId: x.signatureId } },
    h('header', { class: 'card-head' },
      h('h3', { id: titleId }, h('span', { class: 'muted', text: 'signatureId ' }), code(x.signatureId)),
      h('span', { class: `badge badge-${String(x.state || '').toLowerCase()}`, text: x.state || '' }),
      x.overallResult ? h('span', { class: `badge badge-${x.overallResult.toLowerCase()}`, text: x.overallResult }) : null),
    dl('meta', [
      ['userId', x.userId ? h('span', { class: 'user-id', text: x.userId }) : ''],
      ['bizId', x.bizId || ''],
      ['Region', x.region || ''],
      ['Started', x.createdAt ? fmtDateTime(x.createdAt) : ''],
      ['Callback', x.callbackUrl ? code(x.callbackUrl) : 'none (the signed webhook, when one is set)'],
    ]));
  const actions = h('div', { class: 'actions', role: 'group', 'aria-label': `Complete session ${x.signatureId}` });
  if (finished) actions.append(h('p', { class: 'muted', text: 'Finished: its outcome is final. Generate URL starts a new session.' }));
  for (const [key, body, label] of finished ? [] : COMPLETIONS) {
    const disabled = key === 'SUBMIT' && x.state === 'submitted';
    actions.append(h('button', {
      type: 'button', class: `act-complete act-${key.toLowerCase()}${key === 'SUBMIT' ? ' quiet' : ''}`, disabled,
      'aria-describedby': titleId,
      onclick: (ev) => act(ev.currentTarget, `${label} ${x.signatureId}`, async () => {
        const r = await api(`sessions/${enc(x.signatureId)}/complete`, { method: 'POST', body });
        const st = r.session || {};
        return `Session ${x.signatureId} is ${st.state || 'updated'}${st.overallResult ? ` (${st.overallResult})` : ''}.`;
      }),
    }, label));
  }
  card.append(actions);

  const deliveries = x.deliveries || [];
  const section = h('section', { class: 'deliveries' }, h('h4', { text: deliveries.length ? `Deliveries (${deliveries.length})` : 'Deliveries' }));
  if (!deliveries.length) section.append(h('p', { class: 'muted', text: 'None yet.' }));
  const list = h('ol', { class: 'journal compact' });
  for (const d of deliveries) list.append(deliveryRow(d));
  section.append(list);
  card.append(section);
  return card;
}

// deliveryRow is a callback or webhook attempt; it opens to its headers and body.
function deliveryRow(d) {
  const row = entryRow(d);
  row.dataset.key = String(d.id);
  row.dataset.keep = ''; // a delivery does not change; what was opened and read stays
  return row;
}

// ---------------------------------------------------------------------------------------
// 4. Scenario files and rules.

let lastRefusal = '';
loaders.scenarios = async () => {
  const data = await api('scenarios');
  renderIfChanged($('scenarios-body'), data, renderScenarios);
  const refusal = data.reload && data.reload.error ? `${data.reload.failedAt}|${data.reload.error}` : '';
  if (refusal && refusal !== lastRefusal) announce(`The last change of the scenario files was refused: ${data.reload.error}`, 'error');
  lastRefusal = refusal;
};

function renderIfChanged(container, data, render) {
  const json = JSON.stringify(data);
  if (container.dataset.json === json) return;
  container.dataset.json = json;
  morphChildren(container, render(data));
}

function renderScenarios(d) {
  const out = [];
  const r = d.reload;
  if (r && r.error) {
    out.push(h('div', { class: 'refusal', id: 'reload-refusal' },
      h('h3', { text: 'The last change of the scenario files was refused' }),
      h('p', { text: `The mock keeps answering from the set loaded ${fmtDateTime(r.loadedAt || r.lastReload) || 'before'}. Refused ${fmtDateTime(r.failedAt) || ''}:` }),
      h('pre', { class: 'code refusal-text', tabindex: 0 }, r.error),
      h('p', { class: 'muted', text: 'Fix the file and save it again: the next good change is applied.' })));
  }
  const files = d.files || (r && r.files) || [];
  out.push(h('section', { class: 'panel' }, h('h3', { text: 'Files' }),
    files.length ? h('ul', { class: 'files' }, files.map((f) => h('li', null, code(f)))) : h('p', { class: 'muted', text: 'Only the built-in set: serve was started without --scenarios.' }),
    r ? dl('pairs', [
      ['Loaded', fmtDateTime(r.loadedAt || r.lastReload)],
      ['Watching', r.watching || 'no'],
      ['Last reload', r.error ? 'refused' : 'applied'],
    ]) : h('p', { class: 'muted', text: 'Not watched: serve --watch reloads the files when they change.' })));

  const rules = d.rules || [];
  const rulesPanel = h('section', { class: 'panel' }, h('h3', { text: `Rules (${rules.length})` }));
  if (!rules.length) rulesPanel.append(h('p', { class: 'muted', text: 'No rule is loaded.' }));
  else {
    rulesPanel.append(h('div', { class: 'table-wrap' }, h('table', { class: 'grid' },
      h('caption', { class: 'sr-only', text: 'Rules, in the order they are tried' }),
      h('thead', null, h('tr', null, ['Rule', 'Source', 'Matches', 'Answers', 'Faults', 'Hits'].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', null, rules.map((x) => h('tr', { data: { rule: x.name } },
        h('th', { scope: 'row' }, code(x.name)),
        h('td', { text: x.source || '' }),
        h('td', null, code(matchText(x.match))),
        h('td', { text: x.scenario || '' }),
        h('td', { text: (x.faults || []).join(', ') }),
        h('td', { class: 'num', text: String(x.hits ?? 0) })))))));
  }
  out.push(rulesPanel);

  const fired = d.faultsFired || [];
  out.push(h('section', { class: 'panel' }, h('h3', { text: 'Faults fired' }),
    fired.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'grid' },
      h('caption', { class: 'sr-only', text: 'Faults fired since the start or the last reset' }),
      h('thead', null, h('tr', null, ['Rule', 'Fault', 'Times'].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', null, fired.map((f) => h('tr', null, h('td', null, code(f.rule || '')), h('td', { text: f.kind || '' }), h('td', { class: 'num', text: String(f.count ?? 0) }))))))
      : h('p', { class: 'muted', text: 'No fault has fired.' })));

  out.push(h('section', { class: 'panel' }, h('h3', { text: 'Loaded names' }),
    dl('pairs', [
      ['Scenarios', (d.scenarios || []).join(', ')],
      ['Users', plural((d.users || []).length, 'user', 'users')],
      ['Solution codes', (d.solutionCodes || []).join(', ')],
    ])));
  return out;
}

function matchText(m) {
  if (!m || typeof m !== 'object') return String(m ?? '');
  return Object.entries(m).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join('; ');
}

// ---------------------------------------------------------------------------------------
// 5. Overview.

loaders.overview = async () => {
  const ov = await api('overview');
  showFacts(ov);
  renderIfChanged($('overview-body'), ov, renderOverview);
};

const MAX_SERIES = 7; // colours; more series are summed as "other"

function renderOverview(ov) {
  const out = [];
  out.push(h('section', { class: 'panel' }, h('h3', { text: 'This mock' }), dl('facts-grid', [
    ['Version', ov.version],
    ['Auth', ov.auth],
    ['Admin token', ov.adminToken ? 'required' : 'not required'],
    ['Store', ov.store],
    ['Store status', ov.storeStatus ? `${ov.storeStatus}${ov.storeError ? `: ${ov.storeError}` : ''}` : ''],
    ['Started', fmtDateTime(ov.startedAt)],
    ['Journal', ov.journal ? `${ov.journal.entries} of ${ov.journal.capacity} entries` : ''],
    ['Users', ov.users !== undefined ? String(ov.users) : ''],
    ['Scenarios', ov.scenarios !== undefined ? String(ov.scenarios) : ''],
    ['Rules', ov.rules !== undefined ? String(ov.rules) : ''],
    ['Last reload', ov.reload ? (ov.reload.error ? `refused: ${ov.reload.error}` : `applied ${fmtDateTime(ov.reload.loadedAt)}`) : ''],
  ])));
  const traffic = ov.traffic || [];
  const steps = ov.steps || 90;
  const stepSeconds = ov.stepSeconds || 10;
  out.push(trafficPanel('By code', 'code', groupTraffic(traffic, 'code', steps), steps, stepSeconds));
  out.push(trafficPanel('By region', 'region', groupTraffic(traffic, 'region', steps), steps, stepSeconds));
  return out;
}

// groupTraffic sums the traffic by one key: [{name, counts, total}], biggest first, at most
// MAX_SERIES (the rest as "other").
function groupTraffic(traffic, key, steps) {
  const by = new Map();
  for (const t of traffic) {
    const name = String(t[key] || '(none)');
    let counts = by.get(name);
    if (!counts) by.set(name, (counts = new Array(steps).fill(0)));
    (t.counts || []).forEach((n, i) => { if (i < steps) counts[i] += Number(n) || 0; });
  }
  let series = [...by].map(([name, counts]) => ({ name, counts, total: counts.reduce((a, b) => a + b, 0) }))
    .filter((x) => x.total > 0)
    .sort((a, b) => b.total - a.total || a.name.localeCompare(b.name));
  if (series.length > MAX_SERIES) {
    const rest = series.slice(MAX_SERIES - 1);
    const counts = new Array(steps).fill(0);
    for (const x of rest) x.counts.forEach((n, i) => { counts[i] += n; });
    series = series.slice(0, MAX_SERIES - 1).concat([{ name: 'other', counts, total: counts.reduce((a, b) => a + b, 0) }]);
  }
  return series;
}

// Codes keep one colour everywhere: success green, refusals amber, errors red; others and
// regions take the palette in order.
const CODE_COLOURS = { SUCCESS: 1, PARAMETER_ERROR: 3, ERROR: 2, SERVICE_BUSY: 4, IAM_FAILED: 5, CLIENT_ERROR: 0 };

function colour(key, series) {
  const taken = new Set();
  const out = series.map((x) => {
    const c = key === 'code' ? CODE_COLOURS[x.name] : undefined;
    if (c !== undefined && !taken.has(c)) { taken.add(c); return c; }
    return -1;
  });
  let next = 0;
  return out.map((c) => {
    if (c >= 0) return c;
    while (taken.has(next) && next < MAX_SERIES - 1) next++;
    taken.add(next);
    return next;
  });
}

function trafficPanel(title, key, series, steps, stepSeconds) {
  const colours = colour(key, series);
  const minutes = Math.round((steps * stepSeconds) / 60);
  const titleId = nextId('chart');
  const descId = nextId('chart-desc');
  const total = series.reduce((a, x) => a + x.total, 0);
  const panel = h('section', { class: 'panel chart-panel', data: { chart: key } },
    h('h3', { id: titleId, text: `Requests ${title.toLowerCase()}, last ${minutes} minutes` }));
  const desc = total
    ? `${plural(total, 'request', 'requests')}: ${series.map((x) => `${x.name} ${x.total}`).join(', ')}. Bars of ${stepSeconds} seconds, oldest on the left.`
    : `No request of the vendor API in the last ${minutes} minutes.`;
  panel.append(h('p', { id: descId, class: 'muted small', text: desc }));
  panel.append(chart(series, colours, steps, stepSeconds, titleId, descId));
  if (series.length) {
    panel.append(h('ul', { class: 'legend', 'aria-label': `Legend, ${title.toLowerCase()}` },
      series.map((x, i) => h('li', null, h('span', { class: `swatch s${colours[i]}`, 'aria-hidden': 'true' }), h('span', { text: `${x.name} ` }), h('span', { class: 'muted', text: String(x.total) })))));
    panel.append(trafficTable(title, series, steps, stepSeconds));
  }
  return panel;
}

// chart is a stacked bar chart drawn at the width it is shown (the view is drawn again when
// the window's width changes), so that its text is never stretched.
function chart(series, colours, steps, stepSeconds, titleId, descId) {
  const W = Math.max(280, Math.round($('overview-body').clientWidth - 34)) || 900;
  const H = 200, left = 36, right = 8, top = 8, bottom = 24;
  const plotW = W - left - right, plotH = H - top - bottom;
  const totals = new Array(steps).fill(0);
  for (const x of series) x.counts.forEach((n, i) => { totals[i] += n; });
  const max = niceMax(Math.max(1, ...totals));
  const bw = plotW / steps;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: 'chart', role: 'img', 'aria-labelledby': titleId, 'aria-describedby': descId });
  const grid = s('g', { class: 'grid-lines' });
  for (const f of [0, 0.5, 1]) {
    const y = top + plotH - f * plotH;
    grid.append(s('line', { x1: left, x2: W - right, y1: y, y2: y }));
    grid.append(s('text', { x: left - 4, y: y + 4, 'text-anchor': 'end', class: 'axis' }, String(Math.round(max * f))));
  }
  svg.append(grid);
  const bars = s('g', { class: 'bars' });
  for (let i = 0; i < steps; i++) {
    let y = top + plotH;
    series.forEach((x, si) => {
      const n = x.counts[i];
      if (!n) return;
      const hgt = (n / max) * plotH;
      y -= hgt;
      bars.append(s('rect', { x: (left + i * bw + 0.5).toFixed(2), y: y.toFixed(2), width: Math.max(1, bw - 1).toFixed(2), height: hgt.toFixed(2), class: `s${colours[si]}` },
        s('title', null, `${x.name}: ${n}`)));
    });
  }
  svg.append(bars);
  const minutes = (steps * stepSeconds) / 60;
  const axis = s('g', { class: 'axis' });
  for (let m = minutes; m >= 0; m -= 5) {
    const x = left + plotW - (m * 60 / stepSeconds) * bw;
    axis.append(s('text', { x: x.toFixed(1), y: H - 6, 'text-anchor': m === minutes ? 'start' : (m === 0 ? 'end' : 'middle') }, m === 0 ? 'now' : `−${m} min`));
  }
  svg.append(axis);
  return h('div', { class: 'chart-wrap' }, svg);
}

function niceMax(n) {
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

// trafficTable is the chart as text: requests per series and per minute.
function trafficTable(title, series, steps, stepSeconds) {
  const perMinute = Math.max(1, Math.round(60 / stepSeconds));
  const minutes = Math.ceil(steps / perMinute);
  const heads = [];
  for (let m = minutes; m >= 1; m--) heads.push(m === 1 ? 'last min' : `−${m}…−${m - 1} min`);
  const rows = series.map((x) => {
    const cells = [];
    for (let m = 0; m < minutes; m++) {
      let n = 0;
      for (let i = m * perMinute; i < Math.min(steps, (m + 1) * perMinute); i++) n += x.counts[i];
      cells.push(h('td', { class: 'num', text: String(n) }));
    }
    return h('tr', null, h('th', { scope: 'row', text: x.name }), cells, h('td', { class: 'num', text: String(x.total) }));
  });
  return h('details', { class: 'chart-table' },
    h('summary', { text: 'The same as a table' }),
    h('div', { class: 'table-wrap' }, h('table', { class: 'grid' },
      h('caption', { text: `Requests ${title.toLowerCase()}, per minute` }),
      h('thead', null, h('tr', null, h('th', { scope: 'col', text: title.replace(/^By /, '') }), heads.map((t) => h('th', { scope: 'col', text: t })), h('th', { scope: 'col', text: 'Total' }))),
      h('tbody', null, rows))));
}

// ---------------------------------------------------------------------------------------
// Boot.

function boot() {
  wireLogin();
  wireJournal();
  wireUsers();
  window.addEventListener('hashchange', route);
  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      const body = $('overview-body');
      if (state.view !== 'overview' || !state.overview || !body.dataset.json) return;
      delete body.dataset.json;
      renderIfChanged(body, state.overview, renderOverview);
    }, 150);
  });
  $('declare-jump').addEventListener('click', () => {
    $('declare-form').scrollIntoView({ block: 'start' });
    $('declare-id').focus();
  });
  $('skip-link').addEventListener('click', (ev) => {
    ev.preventDefault();
    $('main').focus();
  });
  start();
}

boot();
