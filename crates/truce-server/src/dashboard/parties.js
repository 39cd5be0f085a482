// A panel per party of the agreement: the incidents whose finding (under the current reading)
// concerns the party, among those the filters and the period pass, counted by verdict, and a
// daily chart of them stacked by verdict on a canvas, with a table of the same figures for
// readers who cannot see the chart.

import { NO_VERDICT, VERDICTS, stackDays } from './data.js';
import { t, term } from './i18n.js';
import { el, verdictBadge } from './panel.js';

export const DAY_MS = 86_400_000;
const SLOTS = VERDICTS.length + 1;
const PAD = { left: 30, right: 6, top: 6, bottom: 16 };

/**
 * Draws `counts` (days × SLOTS, verdicts then "no verdict") as stacked daily bars on
 * `canvas` of CSS size `width` × `height`; `labels` are the first and last day's labels.
 */
export function drawDailyBars(canvas, width, height, counts, days, labels) {
  const ratio = window.devicePixelRatio || 1;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const totals = dayTotals(counts, days);
  const max = Math.max(1, ...totals);
  const plotH = height - PAD.top - PAD.bottom;
  const step = (width - PAD.left - PAD.right) / days;
  const barW = Math.max(1, step - 1);
  stackDays(ctx, {
    counts,
    days,
    slots: SLOTS,
    xOf: (d) => PAD.left + d * step,
    base: height - PAD.bottom,
    plotH,
    barW,
    max,
  });
  ctx.strokeStyle = '#555555';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(PAD.left, height - PAD.bottom + 0.5);
  ctx.lineTo(width - PAD.right, height - PAD.bottom + 0.5);
  ctx.stroke();
  ctx.fillStyle = '#333333';
  ctx.font = '10px system-ui, sans-serif';
  ctx.textBaseline = 'top';
  ctx.textAlign = 'right';
  ctx.fillText(String(max), PAD.left - 4, PAD.top);
  ctx.textAlign = 'left';
  ctx.fillText(labels[0], PAD.left, height - PAD.bottom + 3);
  ctx.textAlign = 'right';
  ctx.fillText(labels[1], width - PAD.right, height - PAD.bottom + 3);
}

/** The total of each day of `counts`. */
export function dayTotals(counts, days) {
  const totals = new Uint32Array(days);
  for (let d = 0; d < days; d += 1) {
    for (let v = 0; v < SLOTS; v += 1) totals[d] += counts[d * SLOTS + v] ?? 0;
  }
  return totals;
}

/**
 * A table of `counts` per day (rows, days with no incident left out) and verdict (columns),
 * with a caption; `dayLabel(d)` names day `d`.
 */
export function dailyTable(caption, counts, days, dayLabel) {
  const table = el('table', { className: 'figures' });
  table.append(el('caption', { text: caption }));
  const head = el('tr');
  head.append(el('th', { text: t('table.day') }));
  for (const verdict of VERDICTS) head.append(el('th', { text: term('verdict', verdict) }));
  head.append(el('th', { text: t('table.total') }));
  for (const cell of head.children) cell.setAttribute('scope', 'col');
  const body = el('tbody');
  const totals = dayTotals(counts, days);
  let rows = 0;
  for (let d = 0; d < days; d += 1) {
    if (totals[d] === 0) continue;
    const line = el('tr');
    const th = el('th', { text: dayLabel(d) });
    th.setAttribute('scope', 'row');
    line.append(th);
    for (let v = 0; v < VERDICTS.length; v += 1) line.append(el('td', { text: String(counts[d * SLOTS + v] ?? 0) }));
    line.append(el('td', { text: String(totals[d]) }));
    body.append(line);
    rows += 1;
  }
  if (rows === 0) {
    const line = el('tr');
    const cell = el('td', { text: t('table.empty') });
    cell.colSpan = VERDICTS.length + 2;
    line.append(cell);
    body.append(line);
  }
  table.append(el('thead', {}, head), body);
  return table;
}

/** The sentence a chart's aria-label carries. */
function chartSummary(key, params, totals, dayLabel) {
  let busiest = 0;
  totals.forEach((n, d) => {
    if (n > totals[busiest]) busiest = d;
  });
  return t(key, {
    ...params,
    from: dayLabel(0),
    to: dayLabel(totals.length - 1),
    busiest: dayLabel(busiest),
    most: totals[busiest] ?? 0,
  });
}

/** The panels, one per party, in `container`. */
export class PartyPanels {
  constructor(container) {
    this.container = container;
    this.parties = [];
    this.cards = new Map();
    this.last = null;
    // Sizes come from the observer, so that drawing never forces a layout.
    this.resizer = new ResizeObserver((changes) => {
      for (const change of changes) {
        const entry = [...this.cards.values()].find((e) => e.canvas === change.target);
        if (!entry) continue;
        entry.width = Math.round(change.contentRect.width);
        entry.height = Math.round(change.contentRect.height);
        this.draw(entry);
      }
    });
  }

  /** The parties of the agreement, `[{id, name}]`, in its order. */
  setParties(parties) {
    this.parties = parties;
    this.cards.clear();
    this.resizer.disconnect();
    this.container.replaceChildren(
      ...parties.map((party) => {
        const canvas = el('canvas', { className: 'party-chart' });
        canvas.setAttribute('role', 'img');
        const card = el(
          'section',
          { className: 'party-card' },
          el('h3', { text: party.name && party.name !== party.id ? `${party.name} (${party.id})` : party.id }),
          el('p', { className: 'party-total' }),
          el('ul', { className: 'party-counts' }),
          canvas,
          el('div', { className: 'party-table' }),
        );
        card.dataset.party = party.id;
        this.resizer.observe(canvas);
        this.cards.set(party.id, { card, canvas, width: 0, height: 0, counts: new Uint32Array(SLOTS), byVerdict: new Uint32Array(SLOTS) });
        return card;
      }),
    );
  }

  /**
   * Counts and draws: `indices` are the incidents shown (in `store`, verdicts `verdicts` of
   * `reading`); the chart spans `days` days from `first` (ms, a UTC midnight); `only` is the
   * party filter ('' for none); `dayLabel(d)` names day d; `tables` whether tables show.
   */
  update({ store, indices, verdicts, reading, first, days, only, dayLabel, tables }) {
    const dictionary = store.dictionaries.party;
    const panelOf = new Int32Array(dictionary.values.length).fill(-1);
    const ids = this.parties.map((p) => p.id);
    ids.forEach((id, k) => {
      const code = dictionary.find(id);
      if (code >= 0) panelOf[code] = k;
    });
    const counts = ids.map(() => new Uint32Array(days * SLOTS));
    const byVerdict = ids.map(() => new Uint32Array(SLOTS));
    const lists = store.parties[reading];
    if (lists) {
      for (let k = 0; k < indices.length; k += 1) {
        const i = indices[k];
        const v = verdicts[i] === NO_VERDICT ? VERDICTS.length : verdicts[i];
        const day = Math.floor((store.start[i] - first) / DAY_MS);
        for (let at = lists.offsets[i]; at < lists.offsets[i + 1]; at += 1) {
          const panel = panelOf[lists.codes[at]];
          if (panel < 0) continue;
          byVerdict[panel][v] += 1;
          if (day >= 0 && day < days) counts[panel][day * SLOTS + v] += 1;
        }
      }
    }
    this.last = { days, dayLabel };
    ids.forEach((id, k) => {
      const entry = this.cards.get(id);
      entry.card.hidden = Boolean(only) && only !== id;
      entry.counts = counts[k];
      entry.byVerdict = byVerdict[k];
      const total = byVerdict[k].reduce((a, b) => a + b, 0);
      entry.card.querySelector('.party-total').textContent = t('party.total', { n: total, party: id });
      entry.card.querySelector('.party-counts').replaceChildren(
        ...VERDICTS.map((verdict, v) => {
          const item = el('li', {}, verdictBadge(verdict));
          item.dataset.verdict = verdict;
          item.append(el('span', { className: 'count', text: String(byVerdict[k][v]) }));
          return item;
        }),
      );
      entry.canvas.setAttribute(
        'aria-label',
        chartSummary('party.chart_summary', { party: id, n: total }, dayTotals(counts[k], days), dayLabel),
      );
      const holder = entry.card.querySelector('.party-table');
      holder.replaceChildren(
        ...(tables ? [dailyTable(t('party.table_caption', { party: id }), counts[k], days, dayLabel)] : []),
      );
      this.draw(entry);
    });
  }

  draw(entry) {
    if (!this.last || entry.card.hidden || entry.width < 1 || entry.height < 1) return;
    const { width, height } = entry;
    const ratio = window.devicePixelRatio || 1;
    if (entry.canvas.width !== Math.round(width * ratio)) entry.canvas.width = Math.round(width * ratio);
    if (entry.canvas.height !== Math.round(height * ratio)) entry.canvas.height = Math.round(height * ratio);
    const { days, dayLabel } = this.last;
    drawDailyBars(entry.canvas, width, height, entry.counts, days, [dayLabel(0), dayLabel(days - 1)]);
  }

  /** What each panel counts (for tests): `{party: {verdict: n}}`. */
  figures() {
    const out = {};
    for (const [id, entry] of this.cards) {
      out[id] = Object.fromEntries(VERDICTS.map((verdict, v) => [verdict, entry.byVerdict[v]]));
    }
    return out;
  }
}
