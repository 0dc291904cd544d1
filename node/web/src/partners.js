// partners.js - the nodes this node works with (GET /v1/peers): their
// name, whether a session is open, when they were last seen, and the
// safety code to compare with the partner over another channel; and the
// partnerships of account mapping (GET /v1/partners, spec/overlap.md):
// what each side shares, and the last overlap run's result, with a button
// that starts a run (POST /v1/partners/ORG/runs) and follows it until done.
import {useEffect, useState} from 'preact/hooks';
import {html} from './html.js';
import {api} from './api.js';
import {useEvents} from './events.js';

function Overlap({p}) {
  const [ov, setOv] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const url = `/v1/partners/${p.org}/overlap`;
  useEffect(() => {
    api('GET', url).then(setOv, (e) => setError(e.message));
  }, [p.org]);
  const run = async () => {
    setError('');
    setBusy(true);
    try {
      await api('POST', `/v1/partners/${p.org}/runs`);
      for (let i = 0; i < 120; i++) {
        const o = await api('GET', url);
        setOv(o);
        if (!o.run || o.run.state !== 'running') {
          if (o.run && o.run.state === 'failed') setError(o.run.error || 'the run failed');
          break;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    } catch (e) {
      setError(e.message);
    }
    setBusy(false);
  };
  const r = ov && ov.result;
  const name = p.name || p.org.slice(0, 12);
  return html`<section aria-label="Account overlap with ${name}"><h3>Account overlap with ${name}</h3>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    ${ov && html`<p>Sharing: ${ov.share ? ov.share.level : 'nothing'}${ov.share && ov.share.suspended ? ' (suspended)' : ''};
      runs today ${ov.runs_today} of ${ov.runs_per_day}.</p>`}
    <button type="button" disabled=${busy} onClick=${run}>${busy ? 'Running…' : `Run account overlap with ${name}`}</button>
    ${r && html`<p role="status">${r.matches} matching accounts (of ${r.mine} of ours)</p>`}
    ${r && r.accounts && r.accounts.length > 0 && html`<table class="list" aria-label="Matching accounts with ${name}"><thead><tr>
        <th scope="col">Account</th><th scope="col">Domain</th><th scope="col">Our flags</th><th scope="col">Their flags</th></tr></thead>
      <tbody>${r.accounts.map((a) => html`<tr key=${a.key}><th scope="row">${a.name}</th><td>${a.domain}</td>
        <td>${(a.flags || []).join(', ')}</td><td>${(a.partner_flags || []).join(', ')}</td></tr>`)}</tbody></table>`}
  </section>`;
}

export function Partners() {
  const tick = useEvents();
  const [peers, setPeers] = useState(null);
  const [error, setError] = useState('');
  const [ships, setShips] = useState(null);
  useEffect(() => {
    api('GET', '/v1/peers').then(setPeers, (e) => setError(e.message));
  }, [tick]);
  useEffect(() => {
    api('GET', '/v1/partners').then(setShips, () => setShips([]));
  }, []);
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
    <h2>Account mapping</h2>
    ${ships && ships.length === 0 && html`<p>No account-mapping partnership yet.</p>`}
    ${ships && ships.map((p) => html`<${Overlap} key=${p.org} p=${p} />`)}
  </main>`;
}
