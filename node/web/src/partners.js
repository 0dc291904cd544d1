// partners.js - the nodes this node works with (GET /v1/peers): their
// name, whether a session is open, when they were last seen, and the
// safety code to compare with the partner over another channel.
import {useEffect, useState} from 'preact/hooks';
import {html} from './html.js';
import {api} from './api.js';
import {useEvents} from './events.js';

export function Partners() {
  const tick = useEvents();
  const [peers, setPeers] = useState(null);
  const [error, setError] = useState('');
  useEffect(() => {
    api('GET', '/v1/peers').then(setPeers, (e) => setError(e.message));
  }, [tick]);
  return html`<main>
    <h1>Partners</h1>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    ${peers && peers.length === 0 && html`<p>No partner yet.</p>`}
    ${peers && peers.length > 0 && html`<table class="list"><thead><tr>
        <th scope="col">Partner</th><th scope="col">State</th>
        <th scope="col">Last seen</th><th scope="col">Safety code</th></tr></thead>
      <tbody>${peers.map((p) => html`<tr aria-label=${p.name || p.org}>
        <th scope="row">${p.name || '(unknown)'} <small class="org">${p.org.slice(0, 12)}…</small></th>
        <td>${p.connected ? 'Connected' : 'Offline'}</td>
        <td>${p.last_seen ? html`<time datetime=${p.last_seen}>${p.last_seen.replace('T', ' ').slice(0, 19)}</time>` : 'never'}</td>
        <td class="safety">${p.safety}</td>
      </tr>`)}</tbody></table>`}
  </main>`;
}
