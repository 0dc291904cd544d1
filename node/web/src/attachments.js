// attachments.js - the object page's attachments (GET
// /v1/objects/ID/attachments): name, size, who attached it, and whether
// this node holds all of its chunks yet; "Fetch" asks the members online
// for the missing chunks until it has them all (POST …/attachments/fetch,
// every 200 ms, at most 10 s); "Download" reads the
// file's checked bytes (POST …/attachments/read, base64) and saves them;
// "Attach" sends a chosen file (POST …/attachments {name, content}: at
// most 768 KiB, what fits in the API's 1 MiB body as base64).
import {useEffect, useState} from 'preact/hooks';
import {html} from './html.js';
import {api} from './api.js';

function size(n) {
  return n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`;
}

// An org id (lowercase RFC 4648 base32 of its key, no padding) as the hex
// of the key, the form an attachment's "by" takes.
function orgHex(org) {
  const A = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0;
  let acc = 0;
  let out = '';
  for (const c of org) {
    acc = (acc << 5) | A.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out += ((acc >> bits) & 0xff).toString(16).padStart(2, '0');
    }
  }
  return out;
}

export const UPLOAD_MAX = 768 * 1024;

function toBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(text) {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export function Attachments({id, names, tick, readOnly}) {
  const byHex = Object.fromEntries(Object.entries(names).map(([org, n]) => [orgHex(org), n]));
  const [file, setFile] = useState(null);
  const [busy, setBusy] = useState(false);
  const [list, setList] = useState(null);
  const [error, setError] = useState('');
  const load = () => api('GET', `/v1/objects/${id}/attachments`).then(setList, (e) => setError(e.message));
  useEffect(() => {
    load();
  }, [id, tick]);
  // asks again every 200 ms until complete, at most 10 s (as `entente
  // attachment get` does), the progress shown each time
  const fetchMissing = async (name) => {
    setError('');
    try {
      for (let i = 0; i < 50; i++) {
        const r = await api('POST', `/v1/objects/${id}/attachments/fetch`, {name});
        await load();
        if (r.complete) return;
        await new Promise((res) => setTimeout(res, 200));
      }
      setError(`${name}: the members online do not have the rest now`);
    } catch (e) {
      setError(e.message);
    }
  };
  const download = async (name) => {
    setError('');
    try {
      const r = await api('POST', `/v1/objects/${id}/attachments/read`, {name});
      const url = URL.createObjectURL(new Blob([fromBase64(r.content)], {type: 'application/octet-stream'}));
      const a = document.createElement('a');
      a.href = url;
      a.download = name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (e) {
      setError(e.message);
    }
  };
  const upload = async (e) => {
    e.preventDefault();
    setError('');
    if (!file) return;
    if (file.size > UPLOAD_MAX) {
      setError(`${file.name} is ${size(file.size)}; the page attaches files up to ${size(UPLOAD_MAX)} (larger ones: entente attach)`);
      return;
    }
    setBusy(true);
    try {
      const content = toBase64(new Uint8Array(await file.arrayBuffer()));
      await api('POST', `/v1/objects/${id}/attachments`, {name: file.name, content});
      setFile(null);
      e.target.reset();
      await load();
    } catch (err) {
      setError(err.message);
    }
    setBusy(false);
  };
  return html`<section aria-label="Attachments"><h2>Attachments</h2>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    ${list && list.length === 0 && html`<p>No attachment.</p>`}
    ${list && list.length > 0 && html`<table class="list"><thead><tr><th scope="col">File</th>
        <th scope="col">Size</th><th scope="col">Attached by</th><th scope="col">On this node</th></tr></thead>
      <tbody>${list.map((a) => html`<tr key=${a.op}>
        <th scope="row">${a.name}</th><td>${size(a.size)}</td>
        <td>${byHex[a.by] || a.by.slice(0, 12)}</td>
        <td>${a.complete ? html`<button type="button" aria-label="Download ${a.name}"
            onClick=${() => download(a.name)}>Download</button>` : html`${a.have} of ${a.chunks} parts
          <button type="button" aria-label="Fetch ${a.name}" onClick=${() => fetchMissing(a.name)}>Fetch</button>`}</td>
      </tr>`)}</tbody></table>`}
    <form class="create" onSubmit=${upload}>
      <label>File to attach <input type="file" disabled=${readOnly}
        onChange=${(e) => setFile(e.target.files[0] || null)} /></label>
      <button type="submit" disabled=${readOnly || busy || !file}>Attach</button>
    </form>
  </section>`;
}
