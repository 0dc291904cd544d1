// timeline.js - the object page's activity timeline: who changed what and
// when, from the node's own events of the object (GET /v1/events?object=ID,
// pages of JSON, each event already cut to what this user may read). A
// private field's value is shown only while private fields are shown;
// hidden, the entry says that private fields changed and nothing more.
import {useEffect, useState} from 'preact/hooks';
import {html, Lock} from './html.js';
import {api, query, show, hidePrivate} from './api.js';

const PAGES = 10; /* at most 10 pages of 1,000 events examined per load */

export async function loadTimeline(id) {
  let out = [];
  let after = null;
  for (let i = 0; i < PAGES; i++) {
    const p = await api('GET', `/v1/events${query({object: id, follow: 'false', limit: 1000, after})}`);
    out = out.concat(p.events);
    if (p.next === p.last || p.next === after) break;
    after = p.next;
  }
  return out.reverse(); /* newest first */
}

function values(m) {
  return Object.entries(m || {}).map(([k, v]) => `${k} = ${v === null ? '(cleared)' : show(v)}`).join(', ');
}

function what(e, names, hide) {
  const d = e.data || {};
  const who = (org) => names[org] || (org ? org.slice(0, 12) : '?');
  switch (e.kind) {
  case 'object.created': return `created this ${d.type || 'object'}${d.shared ? `: ${values(d.shared)}` : ''}`;
  case 'fields.changed': {
    const rest = Object.fromEntries(Object.entries(d.shared || {}).filter(([k]) => k !== 'stage'));
    const parts = [];
    if (d.stage !== undefined) parts.push(`moved it to ${d.stage}`);
    if (Object.keys(rest).length) parts.push(`set ${values(rest)}`);
    return parts.join('; ') || 'changed fields';
  }
  case 'private.changed':
    return hide ? html`<${Lock} /> changed private fields (hidden)`
      : html`<${Lock} /> set private ${values(d.private)}`;
  case 'comment.added': return `commented: ${d.text}`;
  case 'member.joined': return `added ${who(d.member)} as ${d.role}`;
  case 'member.left': return d.how === 'left' ? `${who(d.member)} left` : `removed ${who(d.member)}`;
  case 'member.role_changed': return `made ${who(d.member)} ${d.role} (was ${d.from})`;
  case 'invite.created': return `created an invite (${d.role})`;
  case 'invite.redeemed': return `joined with an invite (${d.role})`; // the event's org is the joiner
  case 'invite.revoked': return `revoked an invite (${d.role})`;
  case 'key.rotated': return `rotated the object's key (epoch ${d.epoch})`;
  case 'approval.given': return `${d.decision === 'rejected' ? 'rejected' : 'approved'} ${d.approval}${d.stage ? ` (${d.stage})` : ''}`;
  case 'approval.requested': return `asked for ${d.approval}`;
  case 'equivocation.detected': return 'signed two different changes with one number (equivocation)';
  default: return e.kind;
  }
}

// The timeline of object id; names maps org ids to names; tick reloads.
export function Timeline({id, names, tick}) {
  const [events, setEvents] = useState(null);
  const [error, setError] = useState('');
  const hide = hidePrivate();
  useEffect(() => {
    loadTimeline(id).then(setEvents, (e) => setError(e.message));
  }, [id, tick]);
  return html`<section aria-label="Activity"><h2>Activity</h2>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    ${events === null ? !error && html`<p>Loading…</p>` : events.length === 0 ? html`<p>No activity this node knows of.</p>`
      : html`<ol class="timeline">${events.map((e) => html`<li key=${e.id}>
        <time datetime=${e.time}>${e.time.replace('T', ' ').slice(0, 19)}</time>
        <strong>${e.user || names[e.org] || (e.org ? e.org.slice(0, 12) : 'this node')}</strong>
        ${' '}${what(e, names, hide)}</li>`)}</ol>`}
  </section>`;
}
