// Translations and times. Strings come from /assets/i18n-LANG.json; a key missing from a
// language falls back to English, and a vocabulary id with no translation is shown as is.
// Every string reaches the page through textContent or an attribute, never as markup.

/** The languages offered, in the order of the switch. */
export const LANGUAGES = ['en', 'uk', 'ru'];

/** The time zones offered; times are always shown with their zone's label. */
export const TIME_ZONES = ['UTC', 'Europe/Kyiv', 'Europe/Moscow'];

let strings = {};
let english = {};
let language = 'en';

async function fetchStrings(lang) {
  const response = await fetch(`/assets/i18n-${lang}.json`);
  if (!response.ok) {
    throw new Error(`translations for ${lang}: HTTP ${response.status}`);
  }
  return response.json();
}

/** Loads `lang` (one of LANGUAGES) and makes it current. */
export async function loadLanguage(lang) {
  const chosen = LANGUAGES.includes(lang) ? lang : 'en';
  if (Object.keys(english).length === 0) {
    english = await fetchStrings('en');
  }
  strings = chosen === 'en' ? english : await fetchStrings(chosen);
  language = chosen;
  return chosen;
}

/** The current language. */
export function currentLanguage() {
  return language;
}

/** The first of the reader's languages that is offered, else English. */
export function preferredLanguage(preferences = navigator.languages ?? [navigator.language]) {
  for (const tag of preferences) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (LANGUAGES.includes(base)) {
      return base;
    }
  }
  return 'en';
}

/** The string for `key`, with `{name}` replaced by `params.name`. */
export function t(key, params = {}) {
  const text = strings[key] ?? english[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** Whether `key` has a translation. */
export function has(key) {
  return key in strings || key in english;
}

/** A vocabulary id (`verdict`, `action`, `target`, `source`, `reason`) in words. */
export function term(kind, id) {
  if (id === undefined || id === null || id === '') {
    return '—';
  }
  const key = `${kind}.${id}`;
  return has(key) ? t(key) : String(id).replaceAll('_', ' ');
}

/** Fills every `data-i18n` element's text and `data-i18n-label` element's aria-label. */
export function applyTranslations(root = document) {
  for (const element of root.querySelectorAll('[data-i18n]')) {
    element.textContent = t(element.dataset.i18n);
  }
  for (const element of root.querySelectorAll('[data-i18n-label]')) {
    element.setAttribute('aria-label', t(element.dataset.i18nLabel));
  }
  document.documentElement.lang = language;
  document.title = t('app.title');
}

/** The IANA name the browser knows for `zone` (older data calls Kyiv "Kiev"). */
function ianaName(zone) {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return zone;
  } catch {
    return zone === 'Europe/Kyiv' ? 'Europe/Kiev' : 'UTC';
  }
}

const formatters = new Map();

function formatterFor(zone) {
  if (!formatters.has(zone)) {
    formatters.set(
      zone,
      new Intl.DateTimeFormat('en-GB', {
        timeZone: ianaName(zone),
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
        timeZoneName: 'shortOffset',
      }),
    );
  }
  return formatters.get(zone);
}

/** The parts of instant `ms` in `zone`: date `YYYY-MM-DD`, time `HH:MM`, offset `UTC+3`. */
export function timeParts(ms, zone) {
  const parts = {};
  for (const part of formatterFor(zone).formatToParts(new Date(ms))) {
    parts[part.type] = part.value;
  }
  const offset = (parts.timeZoneName ?? 'GMT').replace('GMT', 'UTC');
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    time: `${parts.hour}:${parts.minute}`,
    offset: offset === 'UTC' ? 'UTC' : offset,
  };
}

/** The label of `zone` at instant `ms`: "UTC", or the zone's name with its offset. */
export function zoneLabel(ms, zone) {
  if (zone === 'UTC') {
    return 'UTC';
  }
  return `${t(`tz.${zone}`)}, ${timeParts(ms, zone).offset}`;
}

/** Instant `ms` as date and time in `zone`, labelled: "2025-03-11 14:05 (Kyiv time, UTC+2)". */
export function formatTime(ms, zone) {
  const { date, time } = timeParts(ms, zone);
  return `${date} ${time} (${zoneLabel(ms, zone)})`;
}

/** The date of instant `ms` in `zone`, labelled. */
export function formatDate(ms, zone) {
  return `${timeParts(ms, zone).date} (${zoneLabel(ms, zone)})`;
}

/** The ids of a vocabulary (`action`, `target`, …) that have a translation, in file order. */
export function termIds(kind) {
  const prefix = `${kind}.`;
  return Object.keys(english)
    .filter((key) => key.startsWith(prefix))
    .map((key) => key.slice(prefix.length));
}
