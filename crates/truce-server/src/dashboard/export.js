// Exports of what the page shows: the incidents that pass the current filters and period,
// under the current reading, as CSV or as a GeoJSON FeatureCollection, made in the page and
// handed to the browser as a download (a Blob URL; nothing is sent anywhere).

import { NO_VERDICT, VERDICTS } from './data.js';

/** The columns of the CSV, in order (GeoJSON properties have the same names). */
export const COLUMNS = [
  'incident_id',
  'start_utc',
  'end_utc',
  'lon',
  'lat',
  'radius_m',
  'coarsened',
  'action',
  'target',
  'site',
  'reading',
  'verdict',
  'reason',
  'parties',
  'zones',
  'established',
  'civilian_killed',
  'civilian_injured',
  'military_killed',
  'military_injured',
  'unspecified_killed',
  'n_sources',
  'reports',
];

const iso = (ms) => (Number.isFinite(ms) ? new Date(ms).toISOString() : '');

/** The values of one incident (`store` index `i`) under `reading`, by column. */
export function row(store, i, verdicts, readingName) {
  const item = store.items[i] ?? {};
  const finding = (item.findings ?? []).find((f) => f.interpretation === readingName) ?? null;
  const c = item.casualties ?? {};
  const location = item.location ?? null;
  return {
    incident_id: item.id ?? store.ids[i],
    start_utc: iso(item.start_ms),
    end_utc: iso(item.end_ms ?? item.start_ms),
    lon: location ? location.lon : null,
    lat: location ? location.lat : null,
    radius_m: location ? location.radius_m : null,
    coarsened: location ? Boolean(location.coarsened) : null,
    action: item.action ?? '',
    target: item.target ?? '',
    site: item.site ?? '',
    reading: readingName,
    verdict: verdicts[i] === NO_VERDICT ? '' : VERDICTS[verdicts[i]],
    reason: finding?.reason ?? '',
    parties: (finding?.parties ?? []).join(';'),
    zones: (finding?.zones ?? []).join(';'),
    established: finding ? Boolean(finding.established) : null,
    civilian_killed: c.civilian_killed ?? 0,
    civilian_injured: c.civilian_injured ?? 0,
    military_killed: c.military_killed ?? 0,
    military_injured: c.military_injured ?? 0,
    unspecified_killed: c.unspecified_killed ?? 0,
    n_sources: item.n_sources ?? null,
    reports: (item.report_ids ?? []).join(';'),
  };
}

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. Text that a
 * spreadsheet would run as a formula (starting with =, +, -, @, tab or carriage return) is
 * prefixed with an apostrophe; numbers are written as numbers.
 */
export function csvField(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The CSV text of the incidents `indices`: a header line, then a line per incident. */
export function toCsv(store, indices, verdicts, readingName) {
  const lines = [COLUMNS.join(',')];
  for (const i of indices) {
    const values = row(store, i, verdicts, readingName);
    lines.push(COLUMNS.map((name) => csvField(values[name])).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** A GeoJSON FeatureCollection of the incidents `indices` (no geometry where none is shown). */
export function toGeoJson(store, indices, verdicts, readingName, meta = {}) {
  const features = [];
  for (const i of indices) {
    const properties = row(store, i, verdicts, readingName);
    const geometry =
      properties.lon === null ? null : { type: 'Point', coordinates: [properties.lon, properties.lat] };
    features.push({ type: 'Feature', id: properties.incident_id, geometry, properties });
  }
  return JSON.stringify({ type: 'FeatureCollection', ...meta, features });
}

/** A file name from its parts: letters, digits, dots, dashes and underscores only. */
export function fileName(parts, extension) {
  const base = parts
    .filter(Boolean)
    .map((part) => String(part).replace(/[^A-Za-z0-9._-]+/g, '_'))
    .join('-');
  return `${base || 'incidents'}.${extension}`;
}

/** Offers `text` to the reader as a file `name` of type `type`. */
export function download(text, name, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // Long enough for the browser to have read the Blob.
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}
