// The incidents held in columns (typed arrays), so that a filter or period change over
// 100,000 incidents is one pass over numbers, and the map draws from the same columns.

/** Verdicts in the order of the legend; the map draws them in reverse, worst on top. */
export const VERDICTS = ['violation', 'alleged', 'disputed', 'no_violation', 'undetermined'];

/** The Okabe–Ito palette: distinguishable with every common colour-vision deficiency. */
export const VERDICT_COLOURS = {
  violation: '#D55E00',
  alleged: '#E69F00',
  disputed: '#CC79A7',
  no_violation: '#009E73',
  undetermined: '#56B4E9',
};

/** No verdict (an interpretation with no finding for the incident). */
export const NO_VERDICT = 255;

/** Filters a store understands; each is one value of its dictionary, or absent. */
export const FILTERS = ['party', 'verdict', 'action', 'target', 'source', 'zone'];

/** Degrees of latitude to Mercator's y in degrees (so x and y share a scale). */
export function mercatorY(lat) {
  const clamped = Math.max(-85, Math.min(85, lat));
  return (Math.log(Math.tan(Math.PI / 4 + (clamped * Math.PI) / 360)) * 180) / Math.PI;
}

/** Mercator's y in degrees back to latitude. */
export function latitudeOf(y) {
  return (Math.atan(Math.exp((y * Math.PI) / 180)) * 360) / Math.PI - 90;
}

/** Values to small numbers, in order of first sight. */
class Dictionary {
  constructor() {
    this.values = [];
    this.codes = new Map();
  }

  code(value) {
    let code = this.codes.get(value);
    if (code === undefined) {
      code = this.values.length;
      this.values.push(value);
      this.codes.set(value, code);
    }
    return code;
  }

  /** The code of `value`, or -1 when it was never seen. */
  find(value) {
    return this.codes.get(value) ?? -1;
  }
}

/** Lists of codes per incident, packed (offsets into one array of codes). */
class CodeLists {
  constructor(lists) {
    this.offsets = new Uint32Array(lists.length + 1);
    let total = 0;
    lists.forEach((list, i) => {
      total += list.length;
      this.offsets[i + 1] = total;
    });
    this.codes = new Uint16Array(total);
    let at = 0;
    for (const list of lists) {
      this.codes.set(list, at);
      at += list.length;
    }
  }

  includes(i, code) {
    for (let k = this.offsets[i]; k < this.offsets[i + 1]; k += 1) {
      if (this.codes[k] === code) {
        return true;
      }
    }
    return false;
  }
}

/** The casualties of an incident, all counts together. */
export function casualtyCount(casualties) {
  if (!casualties) {
    return 0;
  }
  return (
    (casualties.civilian_killed ?? 0) +
    (casualties.civilian_injured ?? 0) +
    (casualties.military_killed ?? 0) +
    (casualties.military_injured ?? 0) +
    (casualties.unspecified_killed ?? 0)
  );
}

/** A circle's radius in CSS pixels: 3 for none, growing with the logarithm of the count. */
export function radiusFor(casualties) {
  return casualties <= 0 ? 3 : Math.min(10, 3 + Math.ceil(Math.log2(1 + casualties)));
}

/**
 * The incidents of one agreement version, as the API gives them (`IncidentView`), ordered
 * by start time. `interpretations` names the readings in the order of the findings to use;
 * `sourceKinds` maps a report's log index to its source kind.
 */
export class IncidentStore {
  constructor(items, interpretations, sourceKinds = new Map()) {
    const order = items.map((_, i) => i);
    order.sort((a, b) => items[a].start_ms - items[b].start_ms || (items[a].id < items[b].id ? -1 : 1));
    const n = items.length;
    this.n = n;
    this.interpretations = interpretations;
    this.ids = new Array(n);
    this.items = new Array(n);
    this.start = new Float64Array(n);
    this.x = new Float32Array(n);
    this.y = new Float32Array(n);
    this.located = new Uint8Array(n);
    this.radius = new Uint8Array(n);
    this.casualties = new Uint32Array(n);
    this.action = new Uint16Array(n);
    this.target = new Uint16Array(n);
    this.dictionaries = {};
    for (const name of FILTERS) {
      this.dictionaries[name] = new Dictionary();
    }
    for (const verdict of VERDICTS) {
      this.dictionaries.verdict.code(verdict);
    }
    this.verdicts = interpretations.map(() => new Uint8Array(n).fill(NO_VERDICT));
    const parties = interpretations.map(() => new Array(n));
    const zones = interpretations.map(() => new Array(n));
    const sources = new Array(n);
    this.index = new Map();
    order.forEach((from, i) => {
      const item = items[from];
      this.ids[i] = item.id;
      this.items[i] = item;
      this.index.set(item.id, i);
      this.start[i] = item.start_ms;
      if (item.location) {
        this.located[i] = 1;
        this.x[i] = item.location.lon;
        this.y[i] = mercatorY(item.location.lat);
      }
      const count = casualtyCount(item.casualties);
      this.casualties[i] = count;
      this.radius[i] = radiusFor(count);
      this.action[i] = this.dictionaries.action.code(item.action);
      this.target[i] = this.dictionaries.target.code(item.target);
      const kinds = new Set();
      for (const logIndex of item.report_log_indexes ?? []) {
        const kind = sourceKinds.get(logIndex);
        if (kind) {
          kinds.add(this.dictionaries.source.code(kind));
        }
      }
      sources[i] = [...kinds];
      interpretations.forEach((name, reading) => {
        const finding = (item.findings ?? []).find((f) => f.interpretation === name);
        const verdict = finding ? this.dictionaries.verdict.find(finding.verdict) : -1;
        this.verdicts[reading][i] = verdict >= 0 ? verdict : NO_VERDICT;
        parties[reading][i] = (finding?.parties ?? []).map((p) => this.dictionaries.party.code(p));
        zones[reading][i] = (finding?.zones ?? []).map((z) => this.dictionaries.zone.code(z));
      });
    });
    this.parties = parties.map((lists) => new CodeLists(lists));
    this.zones = zones.map((lists) => new CodeLists(lists));
    this.sources = new CodeLists(sources);
    this.first = n > 0 ? this.start[0] : 0;
    this.last = n > 0 ? this.start[n - 1] : 0;
  }

  /** The values seen of a filter, sorted (verdicts in legend order). */
  values(name) {
    const values = [...this.dictionaries[name].values];
    return name === 'verdict' ? values : values.sort();
  }

  /** A filter's value as a code: -1 for none, -2 for a value no incident has. */
  code(name, value) {
    if (value === undefined || value === null || value === '') {
      return -1;
    }
    const code = this.dictionaries[name].find(value);
    return code === -1 ? -2 : code;
  }

  /**
   * The incidents passing `filter` ({reading, party, verdict, action, target, source, zone,
   * from, to}; values as strings, times as ms): `shown` passes everything, `inAnyPeriod`
   * everything but the period (what the timeline counts). Both in time order.
   */
  select(filter) {
    const reading = Math.max(0, Math.min(this.interpretations.length - 1, filter.reading ?? 0));
    const party = this.code('party', filter.party);
    const verdict = this.code('verdict', filter.verdict);
    const action = this.code('action', filter.action);
    const target = this.code('target', filter.target);
    const source = this.code('source', filter.source);
    const zone = this.code('zone', filter.zone);
    const from = filter.from ?? -Infinity;
    const to = filter.to ?? Infinity;
    const verdicts = this.verdicts[reading] ?? new Uint8Array(this.n).fill(NO_VERDICT);
    const parties = this.parties[reading];
    const zones = this.zones[reading];
    const inAnyPeriod = new Uint32Array(this.n);
    const shown = new Uint32Array(this.n);
    let nAny = 0;
    let nShown = 0;
    const impossible = [party, verdict, action, target, source, zone].includes(-2);
    for (let i = 0; i < this.n && !impossible; i += 1) {
      if (verdict >= 0 && verdicts[i] !== verdict) continue;
      if (action >= 0 && this.action[i] !== action) continue;
      if (target >= 0 && this.target[i] !== target) continue;
      if (party >= 0 && !parties.includes(i, party)) continue;
      if (zone >= 0 && !zones.includes(i, zone)) continue;
      if (source >= 0 && !this.sources.includes(i, source)) continue;
      inAnyPeriod[nAny] = i;
      nAny += 1;
      const start = this.start[i];
      if (start >= from && start <= to) {
        shown[nShown] = i;
        nShown += 1;
      }
    }
    return {
      reading,
      verdicts,
      shown: shown.subarray(0, nShown),
      inAnyPeriod: inAnyPeriod.subarray(0, nAny),
    };
  }
}

/**
 * Draws daily bars stacked by verdict: `counts` holds `slots` numbers a day (the verdicts in
 * VERDICTS order, then "no verdict"); day `d`'s bar stands at x = `xOf(d)` on the line y =
 * `base`, `barW` wide, a count of `max` reaching `plotH` high. The timeline and the party
 * panels share it.
 */
export function stackDays(ctx, { counts, days, slots, xOf, base, plotH, barW, max }) {
  for (let d = 0; d < days; d += 1) {
    let y = base;
    const x = xOf(d);
    for (let v = 0; v < slots; v += 1) {
      const n = counts[d * slots + v] ?? 0;
      if (!n) continue;
      const h = (n / max) * plotH;
      ctx.fillStyle = v < VERDICTS.length ? VERDICT_COLOURS[VERDICTS[v]] : '#999999';
      ctx.fillRect(x, y - h, barW, h);
      y -= h;
    }
  }
}
