// events.js - live updates: one EventSource on GET /v1/events (same
// origin, the session cookie goes with it); every event the node lets
// this user see bumps a counter the views watch and reload on.
import {useEffect, useState} from 'preact/hooks';

const listeners = new Set();
let source = null;
let count = 0;
let lastObject = null;

export function startEvents() {
  if (source) return;
  source = new EventSource('/v1/events');
  const bump = (e) => {
    count++;
    try {
      lastObject = JSON.parse(e.data).object || null;
    } catch (err) {
      lastObject = null;
    }
    for (const f of listeners) f(count);
  };
  source.onmessage = bump;
  for (const k of ['object.created', 'fields.changed', 'private.changed',
                   'comment.added', 'approval.given', 'approval.requested',
                   'member.joined', 'member.left', 'member.role_changed',
                   'invite.redeemed'])
    source.addEventListener(k, bump);
}

export function stopEvents() {
  if (source) source.close();
  source = null;
}

// The object of the last event (null when none or unknown).
export function lastEventObject() {
  return lastObject;
}

// A number that changes whenever an event arrives.
export function useEvents() {
  const [n, setN] = useState(count);
  useEffect(() => {
    listeners.add(setN);
    return () => listeners.delete(setN);
  }, []);
  return n;
}
