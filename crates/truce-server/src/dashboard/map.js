// The map: our own renderer on two canvases. The basemap and the zones are drawn on the
// lower one when the view moves; the incidents are written as pixels into the upper one
// from the store's typed arrays, so 100,000 circles repaint in a few milliseconds.
// Coordinates are Web Mercator in degrees: x is longitude, y is mercatorY(latitude).

import { NO_VERDICT, VERDICTS, VERDICT_COLOURS, latitudeOf, mercatorY } from './data.js';

/** Pixels per degree at zoom 0. */
const BASE_SCALE = 256 / 360;
const MIN_ZOOM = 3;
const MAX_ZOOM = 14;

/** The colour `hex` as a 32-bit pixel (little-endian RGBA), with `shade` (0–1) darkening. */
function pixel(hex, shade = 1) {
  const value = Number.parseInt(hex.slice(1), 16);
  const r = Math.round(((value >> 16) & 255) * shade);
  const g = Math.round(((value >> 8) & 255) * shade);
  const b = Math.round((value & 255) * shade);
  return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
}

/** Offsets of a disc of radius `r`, split into its rim and its inside. */
function disc(r) {
  const rim = [];
  const inside = [];
  const r2 = r * r;
  const inner2 = (r - 1.2) * (r - 1.2);
  for (let dy = -r; dy <= r; dy += 1) {
    for (let dx = -r; dx <= r; dx += 1) {
      const d2 = dx * dx + dy * dy;
      if (d2 <= r2) {
        (d2 > inner2 ? rim : inside).push(dx, dy);
      }
    }
  }
  return { rim: Int16Array.from(rim), inside: Int16Array.from(inside) };
}

/** Writes `colour` at the `offsets` around px, py; `inner` when all of them are inside. */
function stamp(pixels, w, h, px, py, offsets, colour, inner) {
  if (inner) {
    const centre = py * w + px;
    for (let o = 0; o < offsets.length; o += 2) {
      pixels[centre + offsets[o + 1] * w + offsets[o]] = colour;
    }
    return;
  }
  for (let o = 0; o < offsets.length; o += 2) {
    const x = px + offsets[o];
    const y = py + offsets[o + 1];
    if (x >= 0 && y >= 0 && x < w && y < h) {
      pixels[y * w + x] = colour;
    }
  }
}

/** Rings of a GeoJSON geometry, as flat Float32Arrays of Mercator x, y. */
function ringsOf(geometry) {
  const polygons =
    geometry.type === 'Polygon'
      ? [geometry.coordinates]
      : geometry.type === 'MultiPolygon'
        ? geometry.coordinates
        : geometry.type === 'LineString'
          ? [[geometry.coordinates]]
          : geometry.type === 'MultiLineString'
            ? [geometry.coordinates]
            : [];
  const rings = [];
  for (const polygon of polygons) {
    for (const ring of polygon) {
      const flat = new Float32Array(ring.length * 2);
      ring.forEach(([lon, lat], k) => {
        flat[2 * k] = lon;
        flat[2 * k + 1] = mercatorY(lat);
      });
      rings.push(flat);
    }
  }
  return rings;
}

/** A map in `container`: pan by dragging and the arrow keys, zoom by the wheel and +/−. */
export class MapView {
  constructor(container, { onSelect = () => {}, onViewChange = () => {} } = {}) {
    this.container = container;
    this.onSelect = onSelect;
    this.onViewChange = onViewChange;
    this.base = document.createElement('canvas');
    this.points = document.createElement('canvas');
    this.base.className = 'map-layer';
    this.points.className = 'map-layer';
    this.base.setAttribute('aria-hidden', 'true');
    this.points.setAttribute('aria-hidden', 'true');
    container.append(this.base, this.points);
    this.view = { lon: 32, lat: 48.5, zoom: 6 };
    this.basemap = { countries: [], regions: [], lines: [], cities: [] };
    this.regionNames = [];
    this.zoneShapes = [];
    this.highlightZone = null;
    this.store = null;
    this.shown = new Uint32Array(0);
    this.verdicts = null;
    this.selected = -1;
    this.discs = new Map();
    this.palette = VERDICTS.map((v) => ({ fill: pixel(VERDICT_COLOURS[v]), rim: pixel(VERDICT_COLOURS[v], 0.55) }));
    this.noVerdict = { fill: pixel('#999999'), rim: pixel('#555555') };
    this.pointsDrawn = 0;
    this.frame = 0;
    /** When set, a click reports its place to this function instead of opening an incident. */
    this.onPick = null;
    /** A place marked on the map ({lon, lat}), or null: the report form's place. */
    this.marker = null;
    this.listen();
    new ResizeObserver(() => this.resize()).observe(container);
    this.resize();
  }

  /** The basemap from /v1/geography. */
  setBasemap(geojson) {
    const layers = { countries: [], regions: [], lines: [], cities: [] };
    this.regionNames = [];
    for (const feature of geojson.features ?? []) {
      const layer = feature.properties?.layer;
      if (layer === 'city' && feature.geometry?.type === 'Point') {
        const [lon, lat] = feature.geometry.coordinates;
        layers.cities.push({ x: lon, y: mercatorY(lat), name: String(feature.properties.name ?? '') });
      } else if (layer === 'country' || layer === 'region' || layer === 'line') {
        const rings = ringsOf(feature.geometry ?? {});
        layers[layer === 'line' ? 'lines' : `${layer === 'country' ? 'countries' : 'regions'}`].push(rings);
        if (layer === 'region') {
          const p = feature.properties;
          const names = { en: String(p.name ?? '') };
          if (typeof p.name_uk === 'string') names.uk = p.name_uk;
          if (typeof p.name_ru === 'string') names.ru = p.name_ru;
          this.regionNames.push({ rings, names });
        }
      }
    }
    this.basemap = layers;
    this.drawBase();
  }

  /**
   * The names of the shipped region (oblast) that holds (lon, lat), by language (`en` always,
   * `uk` or `ru` where the data has them), or null outside every region. Even-odd rule over
   * the region's rings, in the map's own coordinates (longitude, Mercator y).
   */
  regionAt(lon, lat) {
    const x = lon;
    const y = mercatorY(lat);
    for (const { rings, names } of this.regionNames) {
      let inside = false;
      for (const ring of rings) {
        const n = ring.length / 2;
        for (let i = 0, j = n - 1; i < n; j = i, i += 1) {
          const xi = ring[2 * i];
          const yi = ring[2 * i + 1];
          const xj = ring[2 * j];
          const yj = ring[2 * j + 1];
          if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
        }
      }
      if (inside) return names;
    }
    return null;
  }

  /** The zones of the agreement from /v1/agreements/{id}/zones. */
  setZones(geojson) {
    this.zoneShapes = (geojson?.features ?? []).map((feature) => ({
      zone: String(feature.properties?.zone ?? ''),
      perParty: Boolean(feature.properties?.party),
      rings: ringsOf(feature.geometry ?? {}),
    }));
    this.drawBase();
  }

  /** The zone drawn stronger (the zone filter), or null; redraws the basemap if it changed. */
  setHighlightZone(zone) {
    const next = zone || null;
    if (next !== this.highlightZone) {
      this.highlightZone = next;
      this.drawBase();
    }
  }

  /** Everything a repaint changes at once, drawn once: the incidents and the marked one. */
  update(store, shown, verdicts, selected) {
    this.store = store;
    this.shown = shown;
    this.verdicts = verdicts;
    this.selected = selected;
    this.drawPoints();
  }

  /** The incidents: a store, the indices to show, the verdict per incident to colour by. */
  setIncidents(store, shown, verdicts) {
    this.store = store;
    this.shown = shown;
    this.verdicts = verdicts;
    this.drawPoints();
  }

  /** Marks incident `index` of the store (or -1). */
  setSelected(index) {
    this.selected = index;
    this.drawPoints();
  }

  /** The view: centre and zoom. */
  getView() {
    return { ...this.view };
  }

  setView(view, { notify = true } = {}) {
    const zoom = Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, view.zoom));
    const lat = Math.max(-80, Math.min(80, view.lat));
    const lon = ((((view.lon + 180) % 360) + 360) % 360) - 180;
    this.view = { lon, lat, zoom };
    this.draw();
    if (notify) {
      this.onViewChange(this.getView());
    }
  }

  /** Centres and zooms on the located incidents of the store, or leaves the view. */
  fitTo(store) {
    let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
    for (let i = 0; i < store.n; i += 1) {
      if (store.located[i]) {
        x0 = Math.min(x0, store.x[i]);
        x1 = Math.max(x1, store.x[i]);
        y0 = Math.min(y0, store.y[i]);
        y1 = Math.max(y1, store.y[i]);
      }
    }
    if (!Number.isFinite(x0)) {
      return;
    }
    const pad = 0.5;
    const spanX = Math.max(1, x1 - x0 + 2 * pad);
    const spanY = Math.max(1, y1 - y0 + 2 * pad);
    const scale = Math.min(this.width / spanX, this.height / spanY);
    const zoom = Math.log2(scale / BASE_SCALE);
    this.setView({ lon: (x0 + x1) / 2, lat: latitudeOf((y0 + y1) / 2), zoom });
  }

  get scale() {
    return BASE_SCALE * 2 ** this.view.zoom;
  }

  resize() {
    const box = this.container.getBoundingClientRect();
    this.width = Math.max(1, Math.round(box.width));
    this.height = Math.max(1, Math.round(box.height));
    this.ratio = window.devicePixelRatio || 1;
    for (const canvas of [this.base, this.points]) {
      canvas.width = Math.round(this.width * this.ratio);
      canvas.height = Math.round(this.height * this.ratio);
      canvas.style.width = `${this.width}px`;
      canvas.style.height = `${this.height}px`;
    }
    this.image = null;
    this.draw();
  }

  /** The place (longitude, latitude) under screen point `px`, `py` (CSS pixels). */
  placeAt(px, py) {
    const s = this.scale;
    return {
      lon: this.view.lon + (px - this.width / 2) / s,
      lat: latitudeOf(mercatorY(this.view.lat) - (py - this.height / 2) / s),
    };
  }

  /** Marks `place` ({lon, lat}) with a cross, or clears the mark (null). */
  setMarker(place) {
    this.marker = place && Number.isFinite(place.lon) && Number.isFinite(place.lat) ? place : null;
    this.draw();
  }

  /** Screen position (CSS pixels) of Mercator x, y. */
  project(x, y) {
    const s = this.scale;
    return [(x - this.view.lon) * s + this.width / 2, (mercatorY(this.view.lat) - y) * s + this.height / 2];
  }

  draw() {
    this.drawBase();
    this.drawPoints();
  }

  /** Paths of `rings` in the current view on `ctx`. */
  trace(ctx, rings) {
    const s = this.scale;
    const cx = this.view.lon;
    const cy = mercatorY(this.view.lat);
    const hw = this.width / 2;
    const hh = this.height / 2;
    for (const ring of rings) {
      for (let k = 0; k < ring.length; k += 2) {
        const px = (ring[k] - cx) * s + hw;
        const py = (cy - ring[k + 1]) * s + hh;
        if (k === 0) ctx.moveTo(px, py);
        else ctx.lineTo(px, py);
      }
    }
  }

  drawBase() {
    const ctx = this.base.getContext('2d');
    ctx.setTransform(this.ratio, 0, 0, this.ratio, 0, 0);
    ctx.fillStyle = '#dfe9f0';
    ctx.fillRect(0, 0, this.width, this.height);
    ctx.lineJoin = 'round';
    ctx.strokeStyle = '#8d969e';
    ctx.lineWidth = 0.8;
    ctx.fillStyle = '#eceae4';
    for (const rings of this.basemap.countries) {
      ctx.beginPath();
      this.trace(ctx, rings);
      ctx.fill('evenodd');
      ctx.stroke();
    }
    ctx.fillStyle = '#fbfaf7';
    ctx.strokeStyle = '#a7aeb5';
    ctx.lineWidth = 0.6;
    for (const rings of this.basemap.regions) {
      ctx.beginPath();
      this.trace(ctx, rings);
      ctx.fill('evenodd');
      ctx.stroke();
    }
    for (const shape of this.zoneShapes) {
      const strong = this.highlightZone === shape.zone;
      ctx.beginPath();
      this.trace(ctx, shape.rings);
      ctx.fillStyle = strong ? 'rgba(0, 114, 178, 0.16)' : 'rgba(0, 114, 178, 0.06)';
      ctx.fill('evenodd');
      ctx.strokeStyle = '#0072B2';
      ctx.lineWidth = strong ? 2 : 1;
      ctx.setLineDash(shape.perParty ? [4, 3] : []);
      ctx.stroke();
    }
    ctx.setLineDash([6, 4]);
    ctx.strokeStyle = '#333333';
    ctx.lineWidth = 1.2;
    for (const rings of this.basemap.lines) {
      ctx.beginPath();
      this.trace(ctx, rings);
      ctx.stroke();
    }
    ctx.setLineDash([]);
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    for (const city of this.basemap.cities) {
      const [px, py] = this.project(city.x, city.y);
      if (px < -50 || py < -10 || px > this.width + 50 || py > this.height + 10) continue;
      ctx.fillStyle = '#333333';
      ctx.fillRect(px - 1.5, py - 1.5, 3, 3);
      if (this.view.zoom >= 5.5) {
        ctx.lineWidth = 3;
        ctx.strokeStyle = 'rgba(255, 255, 255, 0.85)';
        ctx.strokeText(city.name, px + 4, py);
        ctx.fillText(city.name, px + 4, py);
      }
    }
  }

  discOf(radius) {
    let found = this.discs.get(radius);
    if (!found) {
      found = disc(radius);
      this.discs.set(radius, found);
    }
    return found;
  }

  /** Writes the shown incidents as pixels: every circle of a verdict in one pass, worst last. */
  drawPoints() {
    const ctx = this.points.getContext('2d');
    const w = this.points.width;
    const h = this.points.height;
    if (!this.image || this.image.width !== w || this.image.height !== h) {
      this.image = ctx.createImageData(w, h);
      this.pixels = new Uint32Array(this.image.data.buffer);
    }
    const pixels = this.pixels;
    pixels.fill(0);
    let drawn = 0;
    const store = this.store;
    if (store && this.verdicts) {
      const s = this.scale * this.ratio;
      const cx = this.view.lon;
      const cy = mercatorY(this.view.lat);
      const hw = w / 2;
      const hh = h / 2;
      const shown = this.shown;
      const verdicts = this.verdicts;
      const ratio = this.ratio;
      const order = [NO_VERDICT, 4, 3, 2, 1, 0];
      for (const verdict of order) {
        const colours = verdict === NO_VERDICT ? this.noVerdict : this.palette[verdict];
        for (let k = 0; k < shown.length; k += 1) {
          const i = shown[k];
          if (verdicts[i] !== verdict || !store.located[i]) continue;
          const px = Math.round((store.x[i] - cx) * s + hw);
          const py = Math.round((cy - store.y[i]) * s + hh);
          const r = Math.round(store.radius[i] * ratio);
          if (px < -r || py < -r || px >= w + r || py >= h + r) continue;
          const { rim, inside } = this.discOf(r);
          drawn += 1;
          const inner = r + 1 < px && px < w - r - 1 && r + 1 < py && py < h - r - 1;
          stamp(pixels, w, h, px, py, inside, colours.fill, inner);
          stamp(pixels, w, h, px, py, rim, colours.rim, inner);
        }
      }
    }
    ctx.putImageData(this.image, 0, 0);
    this.pointsDrawn = drawn;
    if (store && this.selected >= 0 && store.located[this.selected]) {
      const [px, py] = this.project(store.x[this.selected], store.y[this.selected]);
      ctx.setTransform(this.ratio, 0, 0, this.ratio, 0, 0);
      ctx.beginPath();
      ctx.arc(px, py, store.radius[this.selected] + 4, 0, 2 * Math.PI);
      ctx.lineWidth = 3;
      ctx.strokeStyle = '#000000';
      ctx.stroke();
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = '#ffffff';
      ctx.stroke();
      ctx.setTransform(1, 0, 0, 1, 0, 0);
    }
    if (this.marker) {
      const [px, py] = this.project(this.marker.lon, mercatorY(this.marker.lat));
      ctx.setTransform(this.ratio, 0, 0, this.ratio, 0, 0);
      ctx.beginPath();
      ctx.moveTo(px - 9, py);
      ctx.lineTo(px + 9, py);
      ctx.moveTo(px, py - 9);
      ctx.lineTo(px, py + 9);
      ctx.lineWidth = 4;
      ctx.strokeStyle = '#ffffff';
      ctx.stroke();
      ctx.lineWidth = 2;
      ctx.strokeStyle = '#000000';
      ctx.stroke();
      ctx.setTransform(1, 0, 0, 1, 0, 0);
    }
  }

  /** The shown incident under screen point (CSS pixels), or -1. */
  hit(px, py) {
    const store = this.store;
    if (!store) return -1;
    let best = -1;
    let bestD = Infinity;
    for (let k = 0; k < this.shown.length; k += 1) {
      const i = this.shown[k];
      if (!store.located[i]) continue;
      const [x, y] = this.project(store.x[i], store.y[i]);
      const d = Math.hypot(x - px, y - py);
      if (d <= Math.max(store.radius[i], 5) + 2 && d < bestD) {
        best = i;
        bestD = d;
      }
    }
    return best;
  }

  /** Redraws on the next frame (pointer moves come faster than frames). */
  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  panBy(dx, dy) {
    const s = this.scale;
    this.view.lon -= dx / s;
    this.view.lat = latitudeOf(mercatorY(this.view.lat) + dy / s);
  }

  zoomAround(px, py, factor) {
    const s = this.scale;
    const x = this.view.lon + (px - this.width / 2) / s;
    const y = mercatorY(this.view.lat) - (py - this.height / 2) / s;
    const zoom = Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, this.view.zoom + Math.log2(factor)));
    const s2 = BASE_SCALE * 2 ** zoom;
    this.view = {
      zoom,
      lon: x - (px - this.width / 2) / s2,
      lat: latitudeOf(y + (py - this.height / 2) / s2),
    };
  }

  listen() {
    const el = this.container;
    let drag = null;
    el.addEventListener('pointerdown', (event) => {
      if (event.button !== 0) return;
      el.setPointerCapture(event.pointerId);
      drag = { x: event.clientX, y: event.clientY, startX: event.clientX, startY: event.clientY };
    });
    el.addEventListener('pointermove', (event) => {
      if (!drag) return;
      this.panBy(event.clientX - drag.x, event.clientY - drag.y);
      drag.x = event.clientX;
      drag.y = event.clientY;
      this.schedule();
    });
    const end = (event) => {
      if (!drag) return;
      const moved = Math.hypot(event.clientX - drag.startX, event.clientY - drag.startY);
      drag = null;
      if (moved < 4) {
        const box = el.getBoundingClientRect();
        if (this.onPick) {
          this.onPick(this.placeAt(event.clientX - box.left, event.clientY - box.top));
          return;
        }
        const index = this.hit(event.clientX - box.left, event.clientY - box.top);
        if (index >= 0) this.onSelect(index);
      } else {
        this.onViewChange(this.getView());
      }
    };
    el.addEventListener('pointerup', end);
    el.addEventListener('pointercancel', () => {
      drag = null;
    });
    el.addEventListener(
      'wheel',
      (event) => {
        event.preventDefault();
        const box = el.getBoundingClientRect();
        this.zoomAround(event.clientX - box.left, event.clientY - box.top, event.deltaY < 0 ? 1.25 : 0.8);
        this.schedule();
        this.onViewChange(this.getView());
      },
      { passive: false },
    );
    el.addEventListener('keydown', (event) => {
      const step = Math.min(this.width, this.height) / 6;
      const moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
      if (this.onPick && event.key === 'Enter') {
        event.preventDefault();
        this.onPick({ lon: this.view.lon, lat: this.view.lat });
        return;
      }
      if (event.key in moves) {
        this.panBy(...moves[event.key]);
      } else if (event.key === '+' || event.key === '=') {
        this.zoomAround(this.width / 2, this.height / 2, 1.5);
      } else if (event.key === '-' || event.key === '_') {
        this.zoomAround(this.width / 2, this.height / 2, 1 / 1.5);
      } else {
        return;
      }
      event.preventDefault();
      this.draw();
      this.onViewChange(this.getView());
    });
  }
}
