// The outbox: every report is saved on the device (IndexedDB, with its photos and
// an idempotency key) before any network call, and sent until the server has it.
// The key makes a resend harmless: the server answers the same report again.
import { csrfAnywhere } from './csrf.js';

const DB = 'sentinel';

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => {
      req.result.createObjectStore('outbox', { keyPath: 'key' });
      req.result.createObjectStore('sent', { keyPath: 'key' });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx(store, mode, fn) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const t = db.transaction(store, mode);
    const result = fn(t.objectStore(store));
    t.oncomplete = () => resolve(result.result ?? result);
    t.onerror = () => reject(t.error);
  });
}

export function newKey() {
  return crypto.randomUUID();
}

/** Saves a report (JSON-able object) with its photo blobs; returns its key. */
export async function save(report, photos, key = newKey()) {
  await tx('outbox', 'readwrite', (s) => s.put({ key, report, photos, state: 'waiting', created: Date.now() }));
  return key;
}

export async function waiting() {
  return tx('outbox', 'readonly', (s) => s.getAll());
}

export async function sent(key) {
  return tx('sent', 'readonly', (s) => s.get(key));
}

let flushing = null;

/**
 * Sends every waiting report once. Returns { sent: [{key, code}], refused: [{key, problem}] }.
 * A network failure leaves the rest waiting; a refusal (4xx) marks the report
 * refused with the server's reasons and keeps it as a draft.
 */
export function flush() {
  flushing ??= run().finally(() => { flushing = null; });
  return flushing;
}

async function run() {
  const out = { sent: [], refused: [], offline: false };
  for (const item of await waiting()) {
    if (item.state !== 'waiting') continue;
    const form = new FormData();
    form.append('report', new Blob([JSON.stringify(item.report)], { type: 'application/json' }));
    item.photos.forEach((p, i) => form.append('photo', p, `photo${i}.jpg`));
    let res;
    try {
      res = await fetch('/api/v1/reports', { method: 'POST', body: form, headers: await csrfAnywhere({ 'Idempotency-Key': item.key }) });
    } catch {
      out.offline = true;
      break;
    }
    if (res.status === 201) {
      const body = await res.json();
      // The reporter_key proves later, on the tracking page, that this phone filed it.
      await tx('sent', 'readwrite', (s) => s.put({ key: item.key, code: body.tracking_code, reporter_key: body.reporter_key, at: Date.now() }));
      await tx('outbox', 'readwrite', (s) => s.delete(item.key));
      out.sent.push({ key: item.key, code: body.tracking_code });
    } else if (res.status >= 400 && res.status < 500 && res.status !== 429 && res.status !== 408) {
      let problem = { title: res.statusText };
      try { problem = await res.json(); } catch { /* not JSON */ }
      // A stale CSRF token (a session from before) is no fault of the report:
      // it stays waiting and goes with the next page's fresh token.
      if (problem.type === '/problems/cross-site') {
        out.offline = true;
        break;
      }
      await tx('outbox', 'readwrite', (s) => s.put({ ...item, state: 'refused', problem }));
      out.refused.push({ key: item.key, problem });
    } else {
      // 429, 5xx: the server is there but busy; try again later.
      out.offline = true;
      break;
    }
  }
  return out;
}

/** The secret this device was given for a tracking code, if it filed that report. */
export async function reporterKey(code) {
  const all = await tx('sent', 'readonly', (s) => s.getAll());
  return all.find((s) => s.code === code)?.reporter_key ?? null;
}

/** Every report this phone sent, newest first: its code and when. */
export async function mine() {
  const all = await tx('sent', 'readonly', (s) => s.getAll());
  return all.sort((a, b) => b.at - a.at).map(({ code, at }) => ({ code, at }));
}

export async function discard(key) {
  await tx('outbox', 'readwrite', (s) => s.delete(key));
}
