// login.js - the login view: POST /v1/login makes a session (the cookie
// is HttpOnly; the answer's CSRF token stays in memory).
import {useState} from 'preact/hooks';
import {html} from './html.js';
import {api} from './api.js';

export function Login({onLogin}) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    setError('');
    try {
      const s = await api('POST', '/v1/login', {user, password});
      onLogin(s);
    } catch (err) {
      setError(err.message);
    }
  };
  return html`<main class="login">
    <h1>Entente</h1>
    <form onSubmit=${submit}>
      <label>User <input name="user" autocomplete="username" value=${user}
        onInput=${(e) => setUser(e.target.value)} required /></label>
      <label>Password <input name="password" type="password"
        autocomplete="current-password" value=${password}
        onInput=${(e) => setPassword(e.target.value)} required /></label>
      <button type="submit">Log in</button>
      ${error && html`<p role="alert" class="error">${error}</p>`}
    </form>
  </main>`;
}
