// main.js - the page's shell: who is logged in (GET /v1/access/me: the
// session cookie decides), the navigation, the Hide private fields switch
// (kept in sessionStorage so that it survives navigation and reload) and
// the views, one per file. Addresses are the page's own paths (/board,
// /objects/ID, /inbox, /reports), which the node answers with this page.
import {render} from 'preact';
import {useEffect, useState} from 'preact/hooks';
import {html} from './html.js';
import {api, setCsrf, hidePrivate, setHidePrivate} from './api.js';
import {startEvents, stopEvents} from './events.js';
import {Login} from './login.js';
import {Board} from './board.js';
import {ObjectPage} from './object.js';
import {Inbox} from './inbox.js';
import {Reports} from './reports.js';
import {Partners} from './partners.js';
import {Table} from './table.js';
import {Admin} from './admin.js';

const TYPE = 'opportunity';

function App() {
  const [me, setMe] = useState(undefined);
  const [org, setOrg] = useState(null);
  const [path, setPath] = useState(location.pathname);
  const [hide, setHide] = useState(hidePrivate());

  const go = (p) => {
    history.pushState(null, '', p);
    setPath(p);
  };
  const loadMe = async () => {
    try {
      const [m, s] = await Promise.all([api('GET', '/v1/access/me'),
        api('GET', '/v1/status').catch(() => ({}))]);
      setCsrf(m.csrf);
      setOrg(s.org || null);
      setMe(m);
      startEvents();
    } catch (e) {
      setMe(null);
    }
  };
  useEffect(() => {
    loadMe();
    const pop = () => setPath(location.pathname);
    addEventListener('popstate', pop);
    return () => removeEventListener('popstate', pop);
  }, []);

  if (me === undefined) return html`<main>Loading…</main>`;
  if (me === null) return html`<${Login} onLogin=${() => loadMe()} />`;

  const logout = async () => {
    await api('POST', '/v1/logout').catch(() => {});
    stopEvents();
    setCsrf(null);
    setMe(null);
    go('/');
  };
  const toggle = (e) => {
    setHidePrivate(e.target.checked);
    setHide(e.target.checked);
  };
  const readOnly = me.role === 'viewer';
  const isAdmin = me.operator || me.role === 'admin';
  const link = (p, text) => html`<a href=${p} aria-current=${path.startsWith(p) ? 'page' : undefined}
    onClick=${(e) => { e.preventDefault(); go(p); }}>${text}</a>`;
  let view;
  const m = path.match(/^\/objects\/([0-9a-f]{64})$/);
  if (m) view = html`<${ObjectPage} key=${m[1] + hide} id=${m[1]} org=${org} readOnly=${readOnly} />`;
  else if (path.startsWith('/inbox')) view = html`<${Inbox} go=${go} readOnly=${readOnly} />`;
  else if (path.startsWith('/table')) view = html`<${Table} type=${TYPE} go=${go} />`;
  else if (path.startsWith('/admin'))
    view = isAdmin ? html`<${Admin} />` : html`<main><h1>Administration</h1><p role="alert">Only an admin of this node may see this.</p></main>`;
  else if (path.startsWith('/partners')) view = html`<${Partners} />`;
  else if (path.startsWith('/reports')) view = html`<${Reports} key=${hide} type=${TYPE} />`;
  else view = html`<${Board} key=${hide} type=${TYPE} org=${org} go=${go} readOnly=${readOnly} />`;

  return html`<div class="app">
    <header>
      <nav aria-label="Views">${link('/board', 'Board')} ${link('/table', 'Table')} ${link('/inbox', 'Inbox')} ${link('/reports', 'Reports')} ${link('/partners', 'Partners')}${isAdmin && html` ${link('/admin', 'Admin')}`}</nav>
      <label class="switch"><input type="checkbox" role="switch" checked=${hide} onChange=${toggle} /> Hide private fields</label>
      <span class="who">${me.user} (${me.role})</span>
      <button type="button" onClick=${logout}>Log out</button>
    </header>
    ${view}
  </div>`;
}

render(html`<${App} />`, document.getElementById('app'));
