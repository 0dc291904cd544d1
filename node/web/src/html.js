// html.js - htm bound to Preact's h: the views' templates; and the lock
// icon that marks every private field (an SVG, so that it needs no font).
import {h} from 'preact';
import htm from 'htm';

export const html = htm.bind(h);

export function Lock() {
  return html`<svg class="lock" role="img" aria-label="private" viewBox="0 0 16 16" width="14" height="14">
    <title>private</title>
    <path d="M4 7V5a4 4 0 0 1 8 0v2h1v8H3V7h1zm2 0h4V5a2 2 0 0 0-4 0v2z" fill="currentColor" />
  </svg>`;
}
