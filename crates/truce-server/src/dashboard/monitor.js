// The monitors' part of the page: signing in with a private key file, a report form whose
// reports wait in the browser's outbox until the service has logged them (outbox.js), and
// a review queue driven from the keyboard. Every write is signed in this page (sign.js); the
// service checks the signature and the role of every request, so nothing here decides who
// may do what. Untrusted values go in with textContent only.

import { TIME_ZONES, formatTime, t, term, termIds, timeParts } from './i18n.js';
import { RETRY_INTERVAL_MS, allQueued, discard, enqueue, flush, newReportId, problemOf } from './outbox.js';
import { el, verdictBadge } from './panel.js';
import { KeyFileError, forgetSigner, importKeyText, newNonce, rememberSigner, rememberedSigner, signedFetch } from './sign.js';

/** Rows of the review queue. */
const QUEUE_LIMIT = 50;
/** Largest uncertainty radius the form accepts, metres. */
const MAX_UNCERTAINTY_M = 100_000;
/** How far in the future a report's time may lie (clock differences), ms. */
const FUTURE_SLACK_MS = 5 * 60_000;
const CASUALTY_FIELDS = ['civilian_killed', 'civilian_injured', 'military_killed', 'military_injured'];

const $ = (id) => document.getElementById(id);

/** The problem document of an answer in one line: "401 Unauthorized: detail". */
export function problemText(problem) {
  const head = [problem.status || '', problem.title].filter(Boolean).join(' ');
  return [head, problem.detail, ...(problem.places ?? [])].filter(Boolean).join(' — ');
}

/** Whether an incident's finding says a monitor reviewed it (its chain of reasons names a review). */
export function isReviewed(item) {
  return (item?.findings ?? []).some((finding) => (finding.reasons ?? []).some((reason) => /^review `/.test(reason)));
}

/** The instant (ms) of a `datetime-local` value read in `zone`, or null. */
export function zonedInstant(local, zone) {
  const found = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d))?$/.exec(local ?? '');
  if (!found) return null;
  const [, y, mo, d, h, mi, s] = found.map(Number);
  const wall = Date.UTC(y, mo - 1, d, h, mi, Number.isFinite(s) ? s : 0);
  if (!Number.isFinite(wall)) return null;
  if (zone === 'UTC') return wall;
  // The offset at the guess, twice: enough across a change of the clocks.
  let guess = wall;
  for (let k = 0; k < 2; k += 1) {
    const parts = timeParts(guess, zone);
    const shown = Date.parse(`${parts.date}T${parts.time}:00Z`) + (guess % 60_000);
    guess = wall - (shown - guess);
  }
  return guess;
}

/** `ms` as a `datetime-local` value in `zone`. */
function localValue(ms, zone) {
  const { date, time } = timeParts(ms, zone);
  return `${date}T${time}`;
}

export class MonitorDesk {
  /**
   * `app` gives the page's state: `agreement()`, `parties()`, `zone()`, `incidents()`
   * ({store, selection}), `openIncident(id)`, `reload()`, `map` and `onSigner(signer)`.
   */
  constructor(app) {
    this.app = app;
    this.signer = null;
    this.queueRows = [];
    this.queueFocus = 0;
    this.reviewing = null;
    this.outbox = [];
    this.picking = false;
    this.listen();
    this.fillForm();
    window.setInterval(() => this.send(), RETRY_INTERVAL_MS);
    window.addEventListener('online', () => this.send());
    window.addEventListener('offline', () => this.renderOutbox());
  }

  // ---- signing in ----------------------------------------------------------------------

  /** Restores a key kept on this device, then shows the outbox. */
  async start() {
    const kept = await rememberedSigner();
    if (kept) await this.signIn(kept, { remembered: true });
    await this.refreshOutbox();
  }

  signinStatus(text, isError = false) {
    const status = $('signin-status');
    status.textContent = text;
    status.classList.toggle('error', isError);
  }

  /** Reads the chosen key file and signs in with it. */
  async signInFromFile() {
    const file = $('key-file').files?.[0];
    if (!file) {
      this.signinStatus(t('signin.error.no_file'), true);
      return;
    }
    if (!globalThis.crypto?.subtle) {
      this.signinStatus(t('signin.error.no_crypto'), true);
      return;
    }
    let signer;
    try {
      signer = await importKeyText(await file.text());
    } catch (error) {
      this.signinStatus(t(error instanceof KeyFileError ? error.key : 'signin.error.not_a_key'), true);
      return;
    } finally {
      $('key-file').value = '';
    }
    await this.signIn(signer, { remember: $('key-remember').checked });
  }

  /**
   * Checks `signer` with the service (a signed read of the registered sources: the service
   * answers 401 for a key it does not know or a signature that does not verify) and, if it
   * is a monitor's, makes it the page's signer.
   */
  async signIn(signer, { remember = false, remembered = false } = {}) {
    this.signinStatus(t('signin.checking'));
    let response;
    try {
      response = await signedFetch(signer, { path: '/v1/sources' });
    } catch {
      if (remembered) {
        // Offline with a kept key: use it; the service checks every request anyway.
        this.useSigner(signer, signer.role ?? 'monitor');
        this.signinStatus(t('signin.offline'));
        return true;
      }
      this.signinStatus(t('signin.error.network'), true);
      return false;
    }
    if (!response.ok) {
      const problem = await problemOf(response);
      this.signinStatus(t('signin.error.refused', { problem: problemText(problem) }), true);
      if (remembered) await forgetSigner().catch(() => {});
      return false;
    }
    const answer = await response.json().catch(() => ({}));
    const source = (answer.sources ?? []).find((s) => s?.name === signer.name);
    const role = typeof source?.role === 'string' ? source.role : '';
    if (role !== 'monitor' && role !== 'admin') {
      this.signinStatus(t('signin.error.role', { name: signer.name, role: role || '—' }), true);
      return false;
    }
    if (remember) {
      await rememberSigner({ ...signer, role }).catch(() => {});
    }
    this.useSigner(signer, role);
    this.signinStatus(t(remember || remembered ? 'signin.done_remembered' : 'signin.done', { name: signer.name }));
    this.send();
    return true;
  }

  useSigner(signer, role) {
    this.signer = { ...signer, role };
    $('signin').hidden = true;
    $('signed-in').hidden = false;
    $('monitor-tools').hidden = false;
    $('signed-in-as').textContent = t('signin.as', { name: signer.name, id: signer.keyId });
    this.app.onSigner(this.signer);
    this.fillForm();
    this.renderQueue();
  }

  async signOut() {
    this.signer = null;
    this.stopPicking();
    await forgetSigner().catch(() => {});
    $('signin').hidden = false;
    $('signed-in').hidden = true;
    $('monitor-tools').hidden = true;
    this.signinStatus(t('signin.signed_out'));
    this.app.onSigner(null);
  }

  // ---- the report form -----------------------------------------------------------------

  fillForm() {
    const form = $('report-form');
    const option = (value, label) => {
      const o = document.createElement('option');
      o.value = value;
      o.textContent = label;
      return o;
    };
    const keep = (select, fill) => {
      const value = select.value;
      fill();
      if ([...select.options].some((o) => o.value === value)) select.value = value;
    };
    keep(form.elements.action, () =>
      form.elements.action.replaceChildren(option('', t('form.choose')), ...termIds('action').map((id) => option(id, term('action', id)))),
    );
    keep(form.elements.target, () =>
      form.elements.target.replaceChildren(option('', t('form.choose')), ...termIds('target').map((id) => option(id, term('target', id)))),
    );
    keep(form.elements.accused, () =>
      form.elements.accused.replaceChildren(
        option('', t('form.accused_unknown')),
        ...this.app.parties().map((p) => option(p.id, `${p.name} (${p.id})`)),
      ),
    );
    keep(form.elements.zone, () => form.elements.zone.replaceChildren(...TIME_ZONES.map((zone) => option(zone, t(`tz.${zone}`)))));
    if (!form.elements.zone.value) form.elements.zone.value = this.app.zone();
    if (!form.elements.time.value) form.elements.time.value = localValue(Date.now(), form.elements.zone.value);
    $('form-agreement').textContent = this.app.agreement() ?? '—';
    this.showInstant();
  }

  /** Under the time: the instant in UTC, so the zone's reading is plain. */
  showInstant() {
    const form = $('report-form');
    const ms = zonedInstant(form.elements.time.value, form.elements.zone.value);
    $('form-time-utc').textContent = ms === null ? '' : t('form.time_is', { time: formatTime(ms, 'UTC') });
  }

  /** The report the form holds, or the problems: `{report, problems: [[field, message]]}`. */
  readForm() {
    const form = $('report-form');
    const f = form.elements;
    const problems = [];
    const number = (name) => (f[name].value.trim() === '' ? null : Number(f[name].value));
    if (!this.app.agreement()) problems.push(['action', t('form.error.agreement')]);
    if (!f.action.value) problems.push(['action', t('form.error.action')]);
    if (!f.target.value) problems.push(['target', t('form.error.target')]);
    const ms = zonedInstant(f.time.value, f.zone.value);
    if (ms === null) problems.push(['time', t('form.error.time')]);
    else if (ms > Date.now() + FUTURE_SLACK_MS) problems.push(['time', t('form.error.future')]);
    const lat = number('lat');
    const lon = number('lon');
    if (lat === null || !Number.isFinite(lat) || lat < -90 || lat > 90) problems.push(['lat', t('form.error.lat')]);
    if (lon === null || !Number.isFinite(lon) || lon < -180 || lon > 180) problems.push(['lon', t('form.error.lon')]);
    const uncertainty = number('uncertainty_m') ?? 0;
    if (!Number.isFinite(uncertainty) || uncertainty < 0 || uncertainty > MAX_UNCERTAINTY_M) {
      problems.push(['uncertainty_m', t('form.error.uncertainty', { max: MAX_UNCERTAINTY_M })]);
    }
    const casualties = {};
    for (const name of CASUALTY_FIELDS) {
      const n = number(name) ?? 0;
      if (!Number.isSafeInteger(n) || n < 0 || n > 4_294_967_295) problems.push([name, t('form.error.count')]);
      else if (n > 0) casualties[name] = n;
    }
    const text = f.text.value;
    if (text.length > 10_000) problems.push(['text', t('form.error.text')]);
    if (problems.length > 0) return { problems };
    const report = {
      agreement: this.app.agreement(),
      id: newReportId(),
      time: new Date(ms).toISOString(),
      lon,
      lat,
      uncertainty_m: uncertainty,
      action: f.action.value,
      target: f.target.value,
      ...casualties,
    };
    if (f.accused.value) report.accused = f.accused.value;
    if (text.trim() !== '') report.text = text;
    return { report, problems };
  }

  /** Marks the fields at fault with their messages (and clears the others). */
  showProblems(problems) {
    const form = $('report-form');
    for (const message of form.querySelectorAll('.field-error')) message.remove();
    for (const field of form.querySelectorAll('[aria-invalid]')) {
      field.removeAttribute('aria-invalid');
      field.removeAttribute('aria-describedby');
    }
    for (const [name, text] of problems) {
      const field = form.elements[name];
      if (!field || field.getAttribute('aria-invalid')) continue;
      const message = el('span', { className: 'field-error error', text });
      message.id = `error-${name}`;
      field.setAttribute('aria-invalid', 'true');
      field.setAttribute('aria-describedby', message.id);
      field.closest('label').append(message);
    }
    $('form-status').textContent = problems.length ? t('form.error.summary', { n: problems.length }) : '';
    $('form-status').classList.toggle('error', problems.length > 0);
    if (problems.length) form.elements[problems[0][0]]?.focus();
  }

  /** Files the form's report: into the outbox at once, then sent when the service answers. */
  async file() {
    if (!this.signer) return;
    const { report, problems } = this.readForm();
    this.showProblems(problems);
    if (!report) return;
    await enqueue(report, this.signer.name);
    const form = $('report-form');
    form.elements.text.value = '';
    for (const name of CASUALTY_FIELDS) form.elements[name].value = '0';
    $('form-status').textContent = t(navigator.onLine === false ? 'form.queued_offline' : 'form.queued', { id: report.id });
    await this.refreshOutbox();
    await this.send();
  }

  startPicking() {
    this.picking = true;
    $('pick-place').setAttribute('aria-pressed', 'true');
    $('form-status').textContent = t('form.pick_help');
    this.app.map.onPick = (place) => {
      const form = $('report-form');
      form.elements.lat.value = place.lat.toFixed(5);
      form.elements.lon.value = place.lon.toFixed(5);
      this.app.map.setMarker(place);
      this.stopPicking();
      $('form-status').textContent = t('form.picked', { lat: place.lat.toFixed(5), lon: place.lon.toFixed(5) });
      form.elements.lat.focus();
    };
  }

  stopPicking() {
    this.picking = false;
    this.app.map.onPick = null;
    $('pick-place').setAttribute('aria-pressed', 'false');
  }

  // ---- the outbox ----------------------------------------------------------------------

  async refreshOutbox() {
    try {
      this.outbox = await allQueued();
    } catch {
      this.outbox = [];
    }
    this.renderOutbox();
  }

  /** Sends what waits (one pass at a time), then shows the outbox and refreshes the data. */
  async send() {
    if (!this.signer) return;
    const waiting = this.outbox.some((item) => item.state === 'queued' && item.key === this.signer.name);
    if (!waiting && this.outbox.length > 0) return;
    const before = new Set(this.outbox.filter((item) => item.state === 'sent').map((item) => item.id));
    try {
      this.outbox = await flush(this.signer);
    } catch {
      // IndexedDB unavailable: nothing can wait.
    }
    this.renderOutbox();
    if (this.outbox.some((item) => item.state === 'sent' && !before.has(item.id))) await this.app.reload();
  }

  renderOutbox() {
    const list = $('outbox');
    const items = [...this.outbox].reverse();
    list.replaceChildren(
      ...items.map((item) => {
        const row = el('li', { className: `outbox-item ${item.state}` });
        row.dataset.id = item.id;
        row.dataset.state = item.state;
        let text;
        if (item.state === 'sent') {
          text = item.index === null ? t('outbox.sent_before', { id: item.id }) : t('outbox.sent', { id: item.id, index: item.index });
        } else if (item.state === 'failed') {
          text = t('outbox.failed', { id: item.id, problem: problemText(item.problem ?? {}) });
        } else {
          text = t(navigator.onLine === false || item.problem?.type === 'offline' ? 'outbox.waiting_offline' : 'outbox.waiting', {
            id: item.id,
          });
        }
        row.append(el('span', { text }));
        if (item.state !== 'queued') {
          const button = el('button', { className: 'discard', text: t(item.state === 'sent' ? 'outbox.clear' : 'outbox.discard') });
          button.type = 'button';
          button.dataset.id = item.id;
          row.append(button);
        }
        return row;
      }),
    );
    const waiting = this.outbox.filter((item) => item.state === 'queued').length;
    $('outbox-count').textContent = t('outbox.count', { n: waiting });
  }

  // ---- the review queue ----------------------------------------------------------------

  /** Incidents passing the filters, those no monitor reviewed first, newest first in each. */
  queueItems() {
    const { store, selection } = this.app.incidents();
    if (!store || !selection) return [];
    const open = [];
    const done = [];
    for (let k = selection.shown.length - 1; k >= 0; k -= 1) {
      const i = selection.shown[k];
      (isReviewed(store.items[i]) ? done : open).push(i);
    }
    return [...open, ...done].slice(0, QUEUE_LIMIT).map((i) => ({ i, item: store.items[i], verdict: selection.verdicts[i] }));
  }

  renderQueue() {
    if (!this.signer) return;
    const list = $('review-queue');
    const had = this.queueRows[this.queueFocus]?.item.id;
    this.queueRows = this.queueItems();
    const zone = this.app.zone();
    const rows = this.queueRows.map(({ item }, k) => {
      const row = el('li', { className: 'queue-item' });
      row.id = `queue-${k}`;
      row.dataset.id = item.id;
      row.setAttribute('role', 'option');
      const reviewed = isReviewed(item);
      row.dataset.reviewed = String(reviewed);
      const finding = (item.findings ?? [])[0];
      row.append(
        el('span', { className: 'queue-id', text: item.id }),
        finding ? verdictBadge(finding.verdict) : el('span', { text: '—' }),
        el('span', { className: `queue-tag ${reviewed ? 'reviewed' : 'open'}`, text: t(reviewed ? 'queue.reviewed' : 'queue.unreviewed') }),
        el('span', { className: 'when', text: formatTime(item.start_ms, zone) }),
        el('span', { className: 'what', text: `${term('action', item.action)} → ${term('target', item.target)}` }),
      );
      return row;
    });
    list.replaceChildren(...rows);
    const again = this.queueRows.findIndex((row) => row.item.id === had);
    this.queueFocus = Math.max(0, Math.min(again >= 0 ? again : this.queueFocus, rows.length - 1));
    this.markQueueFocus(false);
    const open = this.queueRows.filter((row) => !isReviewed(row.item)).length;
    $('queue-count').textContent = t('queue.count', { open, shown: this.queueRows.length });
  }

  markQueueFocus(scroll = true) {
    const list = $('review-queue');
    const rows = list.children;
    for (const row of rows) row.setAttribute('aria-selected', 'false');
    const row = rows[this.queueFocus];
    if (row) {
      row.setAttribute('aria-selected', 'true');
      list.setAttribute('aria-activedescendant', row.id);
      if (scroll) row.scrollIntoView({ block: 'nearest' });
    } else {
      list.removeAttribute('aria-activedescendant');
    }
  }

  moveQueue(to) {
    if (this.queueRows.length === 0) return;
    this.queueFocus = Math.max(0, Math.min(this.queueRows.length - 1, to));
    this.markQueueFocus();
  }

  /** Opens the review form for the focused incident with `decision`. */
  beginReview(decision) {
    const row = this.queueRows[this.queueFocus];
    if (!row) return;
    this.reviewing = { decision, incident: row.item };
    const form = $('review-form');
    form.hidden = false;
    $('review-title').textContent = t('review.title', { decision: term('decision', decision), id: row.item.id });
    const party = form.elements.party;
    party.closest('label').hidden = decision !== 'reattribute';
    party.replaceChildren(
      ...[['', t('review.party_none')], ...this.app.parties().map((p) => [p.id, `${p.name} (${p.id})`])].map(([value, label]) => {
        const o = document.createElement('option');
        o.value = value;
        o.textContent = label;
        return o;
      }),
    );
    form.elements.reason.value = '';
    form.elements.reason.removeAttribute('aria-invalid');
    $('review-status').textContent = '';
    (decision === 'reattribute' ? party : form.elements.reason).focus();
  }

  cancelReview() {
    this.reviewing = null;
    $('review-form').hidden = true;
    $('review-queue').focus();
  }

  /** Signs and sends the review; then the incidents are read again and the panel shows it. */
  async submitReview() {
    const reviewing = this.reviewing;
    if (!reviewing || !this.signer) return;
    const form = $('review-form');
    const reason = form.elements.reason.value.trim();
    const status = $('review-status');
    if (reason === '') {
      form.elements.reason.setAttribute('aria-invalid', 'true');
      status.textContent = t('review.error.reason');
      status.classList.add('error');
      form.elements.reason.focus();
      return;
    }
    const review = {
      review_id: `rv-${newReportId().slice(5)}`,
      decision: reviewing.decision,
      reports: reviewing.incident.report_ids ?? [],
      reasons: reason,
    };
    if (reviewing.decision === 'reattribute' && form.elements.party.value) review.party = form.elements.party.value;
    status.classList.remove('error');
    status.textContent = t('review.sending');
    let response;
    try {
      response = await signedFetch(this.signer, { method: 'POST', path: '/v1/reviews', body: JSON.stringify(review), nonce: newNonce() });
    } catch {
      status.textContent = t('review.error.network');
      status.classList.add('error');
      return;
    }
    if (!response.ok) {
      status.textContent = t('review.error.refused', { problem: problemText(await problemOf(response)) });
      status.classList.add('error');
      return;
    }
    const answer = await response.json().catch(() => ({}));
    const index = answer.receipts?.[0]?.index;
    this.reviewing = null;
    form.hidden = true;
    $('queue-status').textContent = t('review.done', { id: review.review_id, index: index ?? '—' });
    await this.app.reload();
    this.renderQueue();
    await this.app.openIncident(reviewing.incident.id);
    $('review-queue').focus();
  }

  // ---- events --------------------------------------------------------------------------

  listen() {
    $('sign-in').addEventListener('click', () => this.signInFromFile());
    $('sign-out').addEventListener('click', () => this.signOut());
    const form = $('report-form');
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.file();
    });
    form.elements.time.addEventListener('input', () => this.showInstant());
    form.elements.zone.addEventListener('change', () => this.showInstant());
    for (const name of ['lat', 'lon']) {
      form.elements[name].addEventListener('change', () => {
        const place = { lat: Number(form.elements.lat.value), lon: Number(form.elements.lon.value) };
        if (form.elements.lat.value && form.elements.lon.value) this.app.map.setMarker(place);
      });
    }
    $('pick-place').addEventListener('click', () => (this.picking ? this.stopPicking() : this.startPicking()));
    $('outbox').addEventListener('click', async (event) => {
      const button = event.target.closest('button.discard');
      if (!button) return;
      await discard(button.dataset.id).catch(() => {});
      await this.refreshOutbox();
    });
    const queue = $('review-queue');
    queue.addEventListener('keydown', (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      const moves = { j: 1, ArrowDown: 1, k: -1, ArrowUp: -1 };
      const row = this.queueRows[this.queueFocus];
      if (event.key in moves) {
        this.moveQueue(this.queueFocus + moves[event.key]);
      } else if (event.key === 'Home' || event.key === 'End') {
        this.moveQueue(event.key === 'Home' ? 0 : this.queueRows.length - 1);
      } else if ((event.key === 'Enter' || event.key === 'o') && row) {
        this.app.openIncident(row.item.id);
      } else if (event.key === 'c' || event.key === 'r' || event.key === 'a') {
        this.beginReview({ c: 'confirm', r: 'reject', a: 'reattribute' }[event.key]);
      } else {
        return;
      }
      event.preventDefault();
    });
    queue.addEventListener('click', (event) => {
      const row = event.target.closest('li.queue-item');
      if (!row) return;
      this.moveQueue([...queue.children].indexOf(row));
      this.app.openIncident(row.dataset.id);
    });
    const review = $('review-form');
    review.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submitReview();
    });
    review.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        this.cancelReview();
      }
    });
    $('review-cancel').addEventListener('click', () => this.cancelReview());
  }

  /** After a change of language, data or filters. */
  refresh() {
    this.fillForm();
    this.renderQueue();
    this.renderOutbox();
    if (this.signer) $('signed-in-as').textContent = t('signin.as', { name: this.signer.name, id: this.signer.keyId });
  }
}
