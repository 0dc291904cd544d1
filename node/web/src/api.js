// api.js - the page's one way to the node: fetch on the same origin with
// the session cookie (HttpOnly, never seen here), the CSRF token of the
// session kept in memory only, and the hide-private flag
// (sessionStorage: a flag, never a credential). spec/web.md.
let csrf = null;

export function setCsrf(token) {
  csrf = token;
}

const HIDE_KEY = 'entente.hidePrivate';

export function hidePrivate() {
  return sessionStorage.getItem(HIDE_KEY) === '1';
}

export function setHidePrivate(on) {
  sessionStorage.setItem(HIDE_KEY, on ? '1' : '0');
}

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.reason ? `${e.message} (${e.reason})` : e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code;
    this.field = e.field;
  }
}

export async function api(method, path, body) {
  const headers = {Accept: 'application/json'};
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf || '';
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

// A query string from an object, hide_private added when the switch is on.
export function query(params, withHide) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {}))
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  if (withHide && hidePrivate()) q.set('hide_private', '1');
  const s = q.toString();
  return s ? `?${s}` : '';
}

// A money value or any field value as text.
export function show(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object' && 'amount' in v) return `${v.amount} ${v.currency}`;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function initials(name) {
  return (name || '?')
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0].toUpperCase())
    .join('');
}
