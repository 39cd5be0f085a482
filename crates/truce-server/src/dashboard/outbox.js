// The reports a monitor filed in this browser, kept in IndexedDB until the service has
// logged them. Each report gets its id and a request nonce when it is filed, so sending it
// again can never make a second report:
//
// - A resend with the same key and nonce is answered by the service with the first
//   receipt (200) if it had logged the first copy (docs/service.md, "Keys and signing").
// - When the service answers that nothing was logged (429 or 503: too busy; 401
//   `replayed-nonce`: the nonce was seen but has no receipt), the next attempt gets a new
//   nonce; the report's id still cannot be logged twice under the agreement (409), and a
//   409 for the report's own id means an earlier attempt was logged.
// - With no answer at all (offline, connection lost, 500) the same nonce is used again.
//
// The queue is sent when the browser says it is online again, on an interval, and when the
// monitor signs in; one pass at a time.

import { inStore, newNonce, signedFetch } from './sign.js';

/** Seconds between retries while reports wait. */
export const RETRY_INTERVAL_MS = 15_000;

/** A new report id: the day and 12 random hex digits (unique for the agreement). */
export function newReportId(now = Date.now()) {
  const day = new Date(now).toISOString().slice(0, 10).replaceAll('-', '');
  const random = [...crypto.getRandomValues(new Uint8Array(6))].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `dash-${day}-${random}`;
}

/** Every report of the outbox, oldest first. */
export async function allQueued() {
  const items = (await inStore('outbox', 'readonly', (store) => store.getAll())) ?? [];
  return items.sort((a, b) => a.created_ms - b.created_ms || (a.id < b.id ? -1 : 1));
}

function put(item) {
  return inStore('outbox', 'readwrite', (store) => store.put(item));
}

/** Removes report `id` from the outbox. */
export function discard(id) {
  return inStore('outbox', 'readwrite', (store) => store.delete(id));
}

/**
 * Files `report` (the JSON object to send, with its `agreement` and `id`) for key `keyName`:
 * it is stored with its nonce at once, whether or not it can be sent now.
 */
export async function enqueue(report, keyName) {
  const item = {
    id: report.id,
    agreement: report.agreement,
    key: keyName,
    body: JSON.stringify(report),
    nonce: newNonce(),
    created_ms: Date.now(),
    state: 'queued',
    attempts: 0,
    index: null,
    problem: null,
  };
  await put(item);
  return item;
}

/** The problem document (RFC 9457) of an answer, as plain strings. */
export async function problemOf(response) {
  try {
    const problem = await response.json();
    return {
      status: response.status,
      type: String(problem.type ?? ''),
      title: String(problem.title ?? ''),
      detail: String(problem.detail ?? ''),
      places: (Array.isArray(problem.errors) ? problem.errors : [])
        .map((p) => `${p.pointer ?? p.parameter ?? ''}: ${p.detail ?? ''}`.trim())
        .slice(0, 10),
    };
  } catch {
    return { status: response.status, type: '', title: `HTTP ${response.status}`, detail: '', places: [] };
  }
}

/** Sends one report; resolves with its new state (stored). */
async function sendOne(signer, item) {
  const next = { ...item, attempts: item.attempts + 1, last_try_ms: Date.now() };
  let response;
  try {
    response = await signedFetch(signer, { method: 'POST', path: '/v1/reports', body: item.body, nonce: item.nonce });
  } catch {
    // No answer: it may or may not have arrived. Keep the nonce, so a resend is recognised.
    next.state = 'queued';
    next.problem = { status: 0, type: 'offline', title: '', detail: '', places: [] };
    await put(next);
    return next;
  }
  if (response.status === 201 || response.status === 200) {
    const answer = await response.json().catch(() => ({}));
    const receipt = Array.isArray(answer.receipts) ? answer.receipts[0] : null;
    next.state = 'sent';
    next.index = Number.isSafeInteger(receipt?.index) ? receipt.index : null;
    next.problem = null;
    next.sent_ms = Date.now();
  } else {
    const problem = await problemOf(response);
    next.problem = problem;
    if (response.status === 429 || response.status === 503 || problem.type.endsWith(':replayed-nonce')) {
      // Nothing was logged for this nonce: the next attempt signs with a new one.
      next.state = 'queued';
      next.nonce = newNonce();
    } else if (response.status >= 500) {
      next.state = 'queued';
    } else if (response.status === 409 && `${problem.detail} ${problem.places.join(' ')}`.includes(item.id)) {
      // The id is taken under the agreement: an earlier attempt of this report was logged.
      next.state = 'sent';
      next.index = null;
    } else {
      next.state = 'failed';
    }
  }
  await put(next);
  return next;
}

let running = null;

/**
 * Sends every queued report of key `signer.name`, oldest first, one at a time; resolves with
 * the outbox afterwards. Stops at the first report that got no answer (the connection is
 * down). A pass already running is joined, not doubled.
 */
export function flush(signer) {
  if (running) return running;
  running = (async () => {
    try {
      if (!signer || navigator.onLine === false) return await allQueued();
      for (const item of await allQueued()) {
        if (item.state !== 'queued' || item.key !== signer.name) continue;
        const after = await sendOne(signer, item);
        if (after.state === 'queued' && after.problem?.type === 'offline') break;
      }
      return await allQueued();
    } finally {
      running = null;
    }
  })();
  return running;
}
