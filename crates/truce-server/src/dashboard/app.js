// The dashboard's controller: reads the API as the public (unsigned), keeps the view in the
// URL's hash (agreement, reading, filters, period, map position, open incident, time zone),
// and repaints the map, the timeline, the legend, the list and the party panels from one
// selection. The exports and the proof checks read the same state.
//
// `dashboard` (exported) is the page's handle for tests: the same module instance the page
// runs, reached with `import('/assets/app.js')`.

import { FILTERS, IncidentStore, NO_VERDICT, VERDICTS } from './data.js';
import {
  TIME_ZONES,
  applyTranslations,
  currentLanguage,
  formatDate,
  formatTime,
  loadLanguage,
  preferredLanguage,
  t,
  term,
} from './i18n.js';
import { download, fileName, toCsv, toGeoJson } from './export.js';
import { MapView } from './map.js';
import { MonitorDesk } from './monitor.js';
import { el, renderIncident, renderProof, verdictBadge } from './panel.js';
import { DAY_MS, PartyPanels, dailyTable } from './parties.js';
import { signedFetch } from './sign.js';
import { TimelineView } from './timeline.js';
import { verifyReport } from './verify.js';

/** Rows of the incident list (the newest first); the count says how many more match. */
const LIST_LIMIT = 200;
/** Incidents and reports asked per page (the API's maximum). */
const PAGE_LIMIT = 1000;
/** Reports whose annotations (the audit trail) are asked for when an incident opens. */
const REVIEWED_REPORTS_LIMIT = 50;

const $ = (id) => document.getElementById(id);

const state = {
  agreements: [],
  agreement: null,
  version: null,
  interpretations: ['common'],
  zoneNames: new Map(),
  store: null,
  filter: emptyFilter(),
  zone: 'UTC',
  selected: null,
  selection: null,
  focusRow: 0,
  panel: null,
  proofs: new Map(),
  parties: [],
  tables: false,
  lastRepaintMs: 0,
  applying: false,
  /** The monitor's signer (monitor.js) once signed in, else null: reads are then unsigned. */
  signer: null,
};

function emptyFilter() {
  return { reading: 0, party: '', verdict: '', action: '', target: '', source: '', zone: '', from: null, to: null };
}

async function getJson(path) {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  if (!response.ok) {
    let detail = '';
    try {
      detail = (await response.json()).detail ?? '';
    } catch {
      // Not a problem document.
    }
    throw new Error(`${path}: HTTP ${response.status} ${detail}`.trim());
  }
  return response.json();
}

async function getText(path) {
  const response = await fetch(path, { headers: { accept: 'text/plain, application/json' } });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.text();
}

function status(text) {
  $('status').textContent = text;
}

const partyPanels = new PartyPanels($('parties'));

const map = new MapView($('map'), {
  onSelect: (index) => openIncident(state.store.ids[index]),
  onViewChange: () => writeHash(),
});

const timeline = new TimelineView($('timeline'), {
  onBrush: (period) => {
    state.filter.from = period ? period[0] : null;
    state.filter.to = period ? period[1] : null;
    repaint();
  },
  label: (ms) => formatDate(ms, state.zone).split(' ')[0],
});

// ---- the URL's hash -------------------------------------------------------------------

function writeHash() {
  if (state.applying || !state.agreement) return;
  const params = new URLSearchParams();
  params.set('a', state.agreement);
  if (state.version !== null) params.set('v', String(state.version));
  if (state.filter.reading > 0) params.set('i', state.interpretations[state.filter.reading]);
  for (const name of FILTERS) {
    if (state.filter[name]) params.set(name, state.filter[name]);
  }
  if (state.filter.from !== null) params.set('from', new Date(state.filter.from).toISOString());
  if (state.filter.to !== null) params.set('to', new Date(state.filter.to).toISOString());
  const view = map.getView();
  params.set('map', `${view.lon.toFixed(4)},${view.lat.toFixed(4)},${view.zoom.toFixed(2)}`);
  if (state.selected) params.set('incident', state.selected);
  if (state.zone !== 'UTC') params.set('tz', state.zone);
  const hash = `#${params}`;
  if (hash !== window.location.hash) {
    window.history.replaceState(null, '', hash);
  }
}

function timeParam(params, name) {
  const value = params.get(name);
  if (!value) return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

/** Shows the view the hash holds, loading another agreement if it names one. */
async function applyHash() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  state.applying = true;
  try {
    const zone = params.get('tz');
    state.zone = TIME_ZONES.includes(zone) ? zone : 'UTC';
    $('timezone').value = state.zone;
    const agreement = params.get('a') || state.agreements[0]?.id;
    if (!agreement) {
      status(t('status.no_agreements'));
      return;
    }
    const version = params.get('v') ? Number(params.get('v')) : null;
    if (agreement !== state.agreement || (version !== null && version !== state.version)) {
      await loadAgreement(agreement, version);
    }
    const filter = emptyFilter();
    const reading = state.interpretations.indexOf(params.get('i') ?? 'common');
    filter.reading = Math.max(0, reading);
    for (const name of FILTERS) filter[name] = params.get(name) ?? '';
    filter.from = timeParam(params, 'from');
    filter.to = timeParam(params, 'to');
    state.filter = filter;
    syncControls();
    const view = (params.get('map') ?? '').split(',').map(Number);
    if (view.length === 3 && view.every(Number.isFinite)) {
      map.setView({ lon: view[0], lat: view[1], zoom: view[2] }, { notify: false });
    } else if (state.store) {
      map.fitTo(state.store);
    }
    repaint();
    const incident = params.get('incident');
    if (incident) {
      await openIncident(incident);
    } else {
      closePanel();
    }
  } finally {
    state.applying = false;
  }
  writeHash();
}

// ---- loading --------------------------------------------------------------------------

async function pages(path, each) {
  let cursor = null;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const url = `${path}${separator}limit=${PAGE_LIMIT}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page = await getJson(url);
    each(page);
    cursor = page.next_cursor ?? null;
  } while (cursor);
}

async function loadAgreement(id, version) {
  const path = `/v1/agreements/${encodeURIComponent(id)}`;
  const query = version !== null && Number.isFinite(version) ? `?version=${version}` : '';
  status(t('status.loading'));
  const detail = await getJson(`${path}${query}`);
  state.agreement = id;
  state.version = detail.versions[0]?.version ?? null;
  state.interpretations = detail.versions.map((v) => v.interpretation);
  if (state.interpretations.length === 0) state.interpretations = ['common'];
  const versionQuery = `?version=${state.version}`;
  const zones = getJson(`${path}/zones${versionQuery}`).catch((error) => {
    status(t('status.zones_failed', { message: error.message }));
    return { features: [] };
  });
  const parties = getJson(`${path}/parties${versionQuery}`).then(
    (answer) => (Array.isArray(answer.parties) ? answer.parties : []),
    () => null,
  );
  const items = [];
  await pages(`${path}/incidents${versionQuery}`, (page) => {
    items.push(...page.items);
    status(t('status.loading_count', { n: items.length }));
  });
  const kinds = new Map();
  await pages(`/v1/reports?agreement=${encodeURIComponent(id)}`, (page) => {
    for (const report of page.items) kinds.set(report.log_index, report.source?.kind);
  });
  const zoneDoc = await zones;
  state.zoneNames = new Map(
    (zoneDoc.features ?? []).map((f) => [String(f.properties?.zone ?? ''), String(f.properties?.name ?? '')]),
  );
  map.setZones(zoneDoc);
  const store = new IncidentStore(items, state.interpretations, kinds);
  // Without the agreement's list, the parties the findings name.
  state.parties = ((await parties) ?? store.values('party').map((id) => ({ id, name: id })))
    .filter((party) => typeof party?.id === 'string')
    .map((party) => ({ id: party.id, name: typeof party.name === 'string' ? party.name : party.id }));
  partyPanels.setParties(state.parties);
  setStore(store);
  $('agreement').value = id;
  status('');
}

/** Makes `store` current: the controls list its values, the timeline spans its days. */
function setStore(store) {
  state.store = store;
  state.selected = null;
  timeline.setDomain(store.first, store.last || store.first);
  fillReadings();
  syncControls();
}

// ---- controls -------------------------------------------------------------------------

function option(value, label) {
  const element = document.createElement('option');
  element.value = value;
  element.textContent = label;
  return element;
}

function fillAgreements() {
  const select = $('agreement');
  const seen = new Map();
  for (const agreement of state.agreements) seen.set(agreement.id, agreement.title);
  select.replaceChildren(...[...seen].map(([id, title]) => option(id, `${title} (${id})`)));
  if (state.agreement) select.value = state.agreement;
}

function readingLabel(name) {
  return name === 'common' ? t('reading.common') : t('reading.party', { party: name });
}

function fillReadings() {
  $('interpretation').replaceChildren(...state.interpretations.map((name, i) => option(String(i), readingLabel(name))));
}

function filterLabel(name, value) {
  if (name === 'zone') return state.zoneNames.get(value) ? `${state.zoneNames.get(value)} (${value})` : value;
  if (name === 'party') return value;
  return term(name, value);
}

/** Sets every control from the state (options from the store's values). */
function syncControls() {
  const form = $('filters');
  const store = state.store;
  for (const name of FILTERS) {
    const select = form.elements[name];
    const values = new Set(name === 'verdict' ? VERDICTS : store ? store.values(name) : []);
    if (name === 'zone') for (const zone of state.zoneNames.keys()) values.add(zone);
    if (state.filter[name]) values.add(state.filter[name]);
    const sorted = name === 'verdict' ? [...values] : [...values].sort();
    select.replaceChildren(option('', t('filter.all')), ...sorted.map((value) => option(value, filterLabel(name, value))));
    select.value = state.filter[name];
  }
  $('interpretation').value = String(state.filter.reading);
  $('language').value = currentLanguage();
  $('timezone').value = state.zone;
}

function setFilter(changes) {
  Object.assign(state.filter, changes);
  syncControls();
  repaint();
}

// ---- painting -------------------------------------------------------------------------

function repaint() {
  const store = state.store;
  if (!store) return;
  const started = performance.now();
  const selection = store.select(state.filter);
  state.selection = selection;
  map.setHighlightZone(state.filter.zone);
  map.update(store, selection.shown, selection.verdicts, state.selected ? store.index.get(state.selected) ?? -1 : -1);
  timeline.brush = state.filter.from !== null ? [state.filter.from, state.filter.to ?? store.last] : null;
  timeline.setCounts(store, selection.inAnyPeriod, selection.verdicts);
  renderList();
  renderSummaries();
  renderParties();
  desk.renderQueue();
  state.lastRepaintMs = performance.now() - started;
  writeHash();
}

function verdictCounts(indices, verdicts) {
  const counts = new Array(VERDICTS.length + 1).fill(0);
  for (let k = 0; k < indices.length; k += 1) {
    const v = verdicts[indices[k]];
    counts[v === NO_VERDICT ? VERDICTS.length : v] += 1;
  }
  return counts;
}

function renderSummaries() {
  const { shown, inAnyPeriod, verdicts } = state.selection;
  const counts = verdictCounts(shown, verdicts);
  $('legend').replaceChildren(
    ...VERDICTS.map((verdict, v) => {
      const item = el('li', {}, verdictBadge(verdict));
      item.append(el('span', { className: 'count', text: String(counts[v]) }));
      return item;
    }),
  );
  const parts = VERDICTS.map((verdict, v) => [verdict, counts[v]])
    .filter(([, n]) => n > 0)
    .map(([verdict, n]) => `${term('verdict', verdict)}: ${n}`);
  $('map-summary').textContent = t('map.summary', {
    shown: shown.length,
    total: state.store.n,
    verdicts: parts.join('; ') || '—',
  });
  const { from, to } = state.filter;
  $('period').textContent =
    from === null
      ? t('period.all')
      : t('period.range', { from: formatTime(from, state.zone), to: formatTime(to ?? state.store.last, state.zone) });
  $('clear-period').hidden = from === null;
  const totals = timeline.totals();
  let busiest = 0;
  totals.forEach((n, d) => {
    if (n > totals[busiest]) busiest = d;
  });
  const day = (d) => formatDate(timeline.first + d * 86_400_000, 'UTC');
  $('timeline').setAttribute(
    'aria-label',
    t('timeline.summary', {
      n: inAnyPeriod.length,
      from: day(0),
      to: day(timeline.days - 1),
      busiest: day(busiest),
      most: totals[busiest] ?? 0,
    }),
  );
}

/** The UTC day `d` of a span starting at `first`, as a date. */
function dayName(first, d) {
  return formatDate(first + d * DAY_MS, 'UTC').split(' ')[0];
}

/** The days the party charts span: the period's, else the timeline's. */
function chartDays() {
  const { from, to } = state.filter;
  if (from === null) return { first: timeline.first, days: timeline.days };
  const first = Math.floor(from / DAY_MS) * DAY_MS;
  const last = Math.floor((to ?? state.store.last) / DAY_MS) * DAY_MS;
  return { first, days: Math.max(1, Math.round((last - first) / DAY_MS) + 1) };
}

function renderParties() {
  const { first, days } = chartDays();
  partyPanels.update({
    store: state.store,
    indices: state.selection.shown,
    verdicts: state.selection.verdicts,
    reading: state.selection.reading,
    first,
    days,
    only: state.filter.party,
    dayLabel: (d) => dayName(first, d),
    tables: state.tables,
  });
  const box = $('timeline-table');
  box.hidden = !state.tables;
  box.replaceChildren(
    ...(state.tables
      ? [dailyTable(t('timeline.table_caption'), timeline.counts, timeline.days, (d) => dayName(timeline.first, d))]
      : []),
  );
}

function renderList() {
  const store = state.store;
  const shown = state.selection.shown;
  const list = $('incident-list');
  const rows = [];
  for (let k = shown.length - 1; k >= 0 && rows.length < LIST_LIMIT; k -= 1) {
    const i = shown[k];
    const item = store.items[i];
    const row = el('li', { className: 'incident' });
    row.id = `row-${rows.length}`;
    row.dataset.id = store.ids[i];
    row.setAttribute('role', 'option');
    row.tabIndex = -1;
    const verdict = state.selection.verdicts[i];
    row.setAttribute('aria-selected', String(store.ids[i] === state.selected));
    row.append(
      verdict === NO_VERDICT ? el('span', { text: '—' }) : verdictBadge(VERDICTS[verdict]),
      el('span', { className: 'when', text: formatTime(store.start[i], state.zone) }),
      el('span', { className: 'what', text: `${term('action', item?.action)} → ${term('target', item?.target)}` }),
    );
    if (store.casualties[i] > 0) {
      row.append(el('span', { className: 'toll', text: t('list.casualties', { n: store.casualties[i] }) }));
    }
    rows.push(row);
  }
  list.replaceChildren(...rows);
  state.focusRow = Math.min(state.focusRow, Math.max(0, rows.length - 1));
  if (rows[state.focusRow]) rows[state.focusRow].tabIndex = 0;
  $('list-count').textContent =
    shown.length > rows.length
      ? t('list.count_more', { shown: rows.length, n: shown.length })
      : t('list.count', { n: shown.length });
}

function focusRow(index) {
  const rows = $('incident-list').children;
  if (rows.length === 0) return;
  const next = Math.max(0, Math.min(rows.length - 1, index));
  if (rows[state.focusRow]) rows[state.focusRow].tabIndex = -1;
  state.focusRow = next;
  rows[next].tabIndex = 0;
  rows[next].focus();
}

// ---- the incident panel ---------------------------------------------------------------

async function openIncident(id) {
  if (!id || !state.agreement) return;
  if (state.selected !== id) state.proofs = new Map();
  state.selected = id;
  const store = state.store;
  map.setSelected(store?.index.get(id) ?? -1);
  for (const row of $('incident-list').children) row.setAttribute('aria-selected', String(row.dataset.id === id));
  const panel = $('incident-panel');
  panel.hidden = false;
  $('panel-heading').textContent = t('panel.heading', { id });
  const body = $('panel-body');
  body.replaceChildren(el('p', { className: 'hint', text: t('status.loading') }));
  writeHash();
  const base = `/v1/agreements/${encodeURIComponent(state.agreement)}`;
  try {
    const detail = await getJson(`${base}/incidents/${encodeURIComponent(id)}?version=${state.version}`);
    const subjects = [id, ...(detail.incident.report_ids ?? []).slice(0, REVIEWED_REPORTS_LIMIT)];
    const lists = await Promise.all(
      subjects.map((subject) =>
        readAnnotations(subject).then(
          (answer) => answer.annotations ?? [],
          () => [],
        ),
      ),
    );
    // One entry may be about several subjects (a review of three reports): once each.
    const byIndex = new Map();
    for (const annotation of lists.flat()) {
      if (Number.isSafeInteger(annotation?.log_index)) byIndex.set(annotation.log_index, annotation);
    }
    const annotations = [...byIndex.values()].sort((a, b) => a.log_index - b.log_index);
    if (state.selected !== id) return;
    state.panel = { detail, annotations };
    renderIncident(body, detail, annotations, state.zone, state.proofs, regionOf(detail));
  } catch (error) {
    if (state.selected !== id) return;
    state.panel = null;
    body.replaceChildren(el('p', { className: 'error', text: t('panel.failed', { message: error.message }) }));
  }
}

/**
 * The annotations about `subject`: read as the signed-in monitor (who may see their
 * authors), else unsigned, as the public sees them. The server decides what each may see.
 */
async function readAnnotations(subject) {
  const path = `/v1/annotations?subject=${encodeURIComponent(subject)}`;
  if (!state.signer) return getJson(path);
  const response = await signedFetch(state.signer, { path });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

/** Reads the agreement's incidents again (after a report or a review), keeping the view. */
async function reload() {
  if (!state.agreement) return;
  const filter = { ...state.filter };
  const selected = state.selected;
  const view = map.getView();
  state.applying = true;
  try {
    await loadAgreement(state.agreement, state.version);
    state.filter = filter;
    syncControls();
    map.setView(view, { notify: false });
    repaint();
  } finally {
    state.applying = false;
  }
  if (selected) await openIncident(selected);
  writeHash();
}

/**
 * The name of the region an incident lies in, from the shipped geography, in the page's
 * language where the data has it (Ukrainian oblasts carry Ukrainian names, Russian ones
 * Russian names), otherwise in English; empty outside the shipped regions.
 */
function regionOf(detail) {
  const location = detail?.incident?.location;
  if (!location || !Number.isFinite(location.lon) || !Number.isFinite(location.lat)) return '';
  const names = map.regionAt(location.lon, location.lat);
  if (!names) return '';
  return names[currentLanguage()] ?? names.en ?? '';
}

function closePanel() {
  state.selected = null;
  state.panel = null;
  state.proofs = new Map();
  $('incident-panel').hidden = true;
  map.setSelected(-1);
  for (const row of $('incident-list').children) row.setAttribute('aria-selected', 'false');
  writeHash();
}

function rerenderPanel() {
  if (state.panel && state.selected) {
    $('panel-heading').textContent = t('panel.heading', { id: state.selected });
    renderIncident(
      $('panel-body'),
      state.panel.detail,
      state.panel.annotations,
      state.zone,
      state.proofs,
      regionOf(state.panel.detail),
    );
  }
}

// ---- proofs ---------------------------------------------------------------------------

/** Checks report `reportId` (entry `index`) against the latest checkpoint; shows the outcome. */
async function verify(index, reportId) {
  const incident = state.selected;
  const show = (result) => {
    if (state.selected !== incident) return;
    state.proofs.set(index, result);
    const holder = $('panel-body').querySelector(`.proof[data-index="${index}"]`);
    if (holder) renderProof(holder, result, state.zone);
  };
  // Web Crypto exists only in a secure context: HTTPS, or this machine (localhost).
  if (!globalThis.crypto?.subtle) {
    show({ state: 'error', message: t('verify.no_crypto') });
    return;
  }
  show({ state: 'working' });
  try {
    const result = await verifyReport({ logIndex: index, reportId }, getText);
    show({ ...result, state: 'done', reportId });
  } catch (error) {
    show({ state: 'error', message: error.message });
  }
}

// ---- exports --------------------------------------------------------------------------

function exportShown(kind) {
  const store = state.store;
  if (!store || !state.selection) return;
  const { shown, verdicts, reading } = state.selection;
  const readingName = state.interpretations[reading] ?? 'common';
  const name = fileName(['truce', state.agreement, `v${state.version}`, readingName, 'incidents'], kind === 'csv' ? 'csv' : 'geojson');
  if (kind === 'csv') {
    download(toCsv(store, shown, verdicts, readingName), name, 'text/csv;charset=utf-8');
  } else {
    const meta = {
      agreement_id: state.agreement,
      agreement_version: state.version,
      reading: readingName,
      filters: Object.fromEntries(Object.entries(state.filter).filter(([, v]) => v !== '' && v !== null)),
    };
    download(toGeoJson(store, shown, verdicts, readingName, meta), name, 'application/geo+json');
  }
  $('export-status').textContent = t('export.done', { n: shown.length, file: name });
}

// ---- events ---------------------------------------------------------------------------

function listen() {
  $('filters').addEventListener('change', (event) => {
    const name = event.target.name;
    if (FILTERS.includes(name)) setFilter({ [name]: event.target.value });
  });
  $('clear-filters').addEventListener('click', () => {
    const reading = state.filter.reading;
    setFilter({ ...emptyFilter(), reading });
  });
  $('clear-period').addEventListener('click', () => setFilter({ from: null, to: null }));
  $('interpretation').addEventListener('change', (event) => setFilter({ reading: Number(event.target.value) }));
  $('agreement').addEventListener('change', async (event) => {
    state.filter = emptyFilter();
    closePanel();
    try {
      await loadAgreement(event.target.value, null);
      map.fitTo(state.store);
      repaint();
    } catch (error) {
      status(t('status.error', { message: error.message }));
    }
  });
  $('language').addEventListener('change', async (event) => {
    await loadLanguage(event.target.value);
    applyTranslations();
    syncTablesButton();
    fillReadings();
    syncControls();
    repaint();
    rerenderPanel();
    desk.refresh();
    showRole();
  });
  $('timezone').addEventListener('change', (event) => {
    state.zone = event.target.value;
    repaint();
    rerenderPanel();
  });
  $('panel-body').addEventListener('click', (event) => {
    const button = event.target.closest('button.verify');
    if (button) verify(Number(button.dataset.index), button.dataset.report);
  });
  $('export-csv').addEventListener('click', () => exportShown('csv'));
  $('export-geojson').addEventListener('click', () => exportShown('geojson'));
  $('toggle-tables').addEventListener('click', () => {
    state.tables = !state.tables;
    syncTablesButton();
    renderParties();
  });
  $('close-panel').addEventListener('click', () => {
    closePanel();
    $('incident-list').querySelector('[tabindex="0"]')?.focus();
  });
  const list = $('incident-list');
  list.addEventListener('click', (event) => {
    const row = event.target.closest('li.incident');
    if (row) {
      focusRow([...list.children].indexOf(row));
      openIncident(row.dataset.id);
    }
  });
  list.addEventListener('keydown', (event) => {
    const moves = {
      ArrowDown: state.focusRow + 1,
      ArrowUp: state.focusRow - 1,
      Home: 0,
      End: list.children.length - 1,
      PageDown: state.focusRow + 10,
      PageUp: state.focusRow - 10,
    };
    if (event.key in moves) {
      event.preventDefault();
      focusRow(moves[event.key]);
    } else if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      const row = list.children[state.focusRow];
      if (row) openIncident(row.dataset.id);
    }
  });
  list.addEventListener('focus', () => focusRow(state.focusRow));
  window.addEventListener('hashchange', () => {
    applyHash().catch((error) => status(t('status.error', { message: error.message })));
  });
}

/** The header's line says whom the page reads as. */
function showRole() {
  const line = document.querySelector('header .role');
  if (state.signer) {
    line.removeAttribute('data-i18n');
    line.textContent = t('role.monitor', { name: state.signer.name });
  } else {
    line.dataset.i18n = 'role.public';
    line.textContent = t('role.public');
  }
}

function syncTablesButton() {
  const button = $('toggle-tables');
  button.setAttribute('aria-pressed', String(state.tables));
  button.textContent = t(state.tables ? 'tables.hide' : 'tables.show');
}

// ---- the monitors' desk ---------------------------------------------------------------

const desk = new MonitorDesk({
  map,
  agreement: () => state.agreement,
  parties: () => state.parties,
  zone: () => state.zone,
  incidents: () => ({ store: state.store, selection: state.selection }),
  openIncident: (id) => openIncident(id),
  reload: () => reload(),
  onSigner: (signer) => {
    state.signer = signer;
    showRole();
    rerenderPanel();
    if (state.selected) openIncident(state.selected);
  },
});

// ---- live updates ---------------------------------------------------------------------

/** The shortest time between two reloads the server's events cause. */
const LIVE_MIN_INTERVAL_MS = 5_000;

const live = { size: null, timer: null, lastLoad: 0, updates: 0, opened: 0, interrupted: 0, updated: null };

function liveStatus(key, params = {}) {
  $('live-status').textContent = t(key, params);
}

/** Reloads the incidents once, no sooner than LIVE_MIN_INTERVAL_MS after the last time. */
function scheduleLiveReload() {
  if (live.timer !== null) return;
  const wait = Math.max(0, live.lastLoad + LIVE_MIN_INTERVAL_MS - Date.now());
  live.timer = setTimeout(async () => {
    live.timer = null;
    if (state.applying || !state.agreement) {
      scheduleLiveReload();
      return;
    }
    live.lastLoad = Date.now();
    try {
      await reload();
      live.updates += 1;
      live.updated = Date.now();
      liveStatus('live.updated', { time: formatTime(live.updated, state.zone) });
    } catch (error) {
      liveStatus('live.failed', { message: error.message });
    }
  }, wait);
}

/**
 * Follows `GET /v1/events`: each event names how many log entries the findings hold; a larger
 * size than the last one seen means the findings may have changed, so they are read again
 * (keeping filters, period, map position and the open incident). The browser reconnects by
 * itself after a network failure.
 */
function followEvents() {
  if (typeof EventSource !== 'function') {
    liveStatus('live.unsupported');
    return;
  }
  const source = new EventSource('/v1/events');
  source.addEventListener('open', () => {
    live.opened += 1;
    // After a reconnection the last update's time stays the news, if there was one.
    if (live.updated === null) liveStatus('live.on');
    else liveStatus('live.updated', { time: formatTime(live.updated, state.zone) });
  });
  source.addEventListener('error', () => {
    live.interrupted += 1;
    liveStatus('live.off');
  });
  source.addEventListener('applied', (event) => {
    let size;
    try {
      size = JSON.parse(event.data).size;
    } catch {
      return;
    }
    if (!Number.isSafeInteger(size)) return;
    const known = live.size;
    live.size = known === null ? size : Math.max(known, size);
    // The first event after (re)connecting only sets the baseline, unless it shows growth.
    if (known !== null && size > known) scheduleLiveReload();
  });
}

// ---- start ----------------------------------------------------------------------------

async function start() {
  await loadLanguage(preferredLanguage());
  applyTranslations();
  listen();
  const [geography, agreements] = await Promise.all([getJson('/v1/geography'), getJson('/v1/agreements')]);
  map.setBasemap(geography);
  $('attribution').textContent = geography.attribution ?? '';
  state.agreements = agreements.agreements ?? [];
  fillAgreements();
  await applyHash();
  live.lastLoad = Date.now();
  followEvents();
  desk.refresh();
  await desk.start();
}

const ready = start().catch((error) => {
  status(t('status.error', { message: error.message }));
});

/** The page's handle, for tests and the console. */
export const dashboard = {
  ready,
  map,
  timeline,
  get store() {
    return state.store;
  },
  get selection() {
    return state.selection;
  },
  parties: partyPanels,
  monitor: desk,
  /**
   * The live updates: the last log size the events named, how many reloads they caused, and
   * how often the event stream opened and was interrupted.
   */
  get live() {
    return { size: live.size, updates: live.updates, opened: live.opened, interrupted: live.interrupted };
  },
  get filter() {
    return { ...state.filter };
  },
  /** How long the last repaint took (ms, measured with performance.now). */
  get lastRepaintMs() {
    return state.lastRepaintMs;
  },
  setFilter,
  /** Replaces the incidents with `items` (IncidentView-shaped) without the network. */
  inject(items, interpretations = ['common']) {
    state.interpretations = interpretations;
    state.filter = emptyFilter();
    const store = new IncidentStore(items, interpretations);
    state.parties = store.values('party').map((id) => ({ id, name: id }));
    partyPanels.setParties(state.parties);
    setStore(store);
    repaint();
  },
};
