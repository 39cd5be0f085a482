// The timeline: incidents per day, stacked by verdict, on a canvas; a brush chooses a period.
// Pointer: drag across to choose, click to clear. Keyboard (focused): arrows move the period
// by a day, Shift+arrows change its length, Escape clears it.

import { NO_VERDICT, VERDICTS, stackDays } from './data.js';

const DAY_MS = 86_400_000;
const PAD = { left: 34, right: 8, top: 8, bottom: 18 };

export class TimelineView {
  constructor(canvas, { onBrush = () => {}, label = () => '' } = {}) {
    this.canvas = canvas;
    this.onBrush = onBrush;
    this.label = label;
    this.first = 0;
    this.days = 1;
    this.counts = new Uint32Array(VERDICTS.length);
    this.brush = null;
    this.listen();
    new ResizeObserver(() => this.resize()).observe(canvas);
    this.resize();
  }

  /** The days shown: from the UTC day of `firstMs` to that of `lastMs`. */
  setDomain(firstMs, lastMs) {
    this.first = Math.floor(firstMs / DAY_MS) * DAY_MS;
    this.days = Math.max(1, Math.floor(lastMs / DAY_MS) - Math.floor(firstMs / DAY_MS) + 1);
  }

  /** Counts the incidents `indices` of `store` per day and verdict, then draws. */
  setCounts(store, indices, verdicts) {
    const slots = VERDICTS.length + 1;
    const counts = new Uint32Array(this.days * slots);
    for (let k = 0; k < indices.length; k += 1) {
      const i = indices[k];
      const day = Math.floor((store.start[i] - this.first) / DAY_MS);
      if (day < 0 || day >= this.days) continue;
      const verdict = verdicts[i] === NO_VERDICT ? VERDICTS.length : verdicts[i];
      counts[day * slots + verdict] += 1;
    }
    this.counts = counts;
    this.draw();
  }

  /** The period [from, to] in ms (inclusive), or null for all. */
  setBrush(period) {
    this.brush = period;
    this.draw();
  }

  resize() {
    const box = this.canvas.getBoundingClientRect();
    this.width = Math.max(1, Math.round(box.width));
    this.height = Math.max(1, Math.round(box.height));
    this.ratio = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(this.width * this.ratio);
    this.canvas.height = Math.round(this.height * this.ratio);
    this.draw();
  }

  xOf(ms) {
    const span = this.width - PAD.left - PAD.right;
    return PAD.left + ((ms - this.first) / (this.days * DAY_MS)) * span;
  }

  msOf(x) {
    const span = this.width - PAD.left - PAD.right;
    return this.first + ((x - PAD.left) / span) * this.days * DAY_MS;
  }

  /** The per-day totals (for the text alternative). */
  totals() {
    const slots = VERDICTS.length + 1;
    const totals = new Uint32Array(this.days);
    for (let d = 0; d < this.days; d += 1) {
      for (let v = 0; v < slots; v += 1) totals[d] += this.counts[d * slots + v] ?? 0;
    }
    return totals;
  }

  draw() {
    const ctx = this.canvas.getContext('2d');
    ctx.setTransform(this.ratio, 0, 0, this.ratio, 0, 0);
    ctx.clearRect(0, 0, this.width, this.height);
    const slots = VERDICTS.length + 1;
    const totals = this.totals();
    const max = Math.max(1, ...totals);
    const plotH = this.height - PAD.top - PAD.bottom;
    const barW = Math.max(1, (this.width - PAD.left - PAD.right) / this.days - 1);
    stackDays(ctx, {
      counts: this.counts,
      days: this.days,
      slots,
      xOf: (d) => this.xOf(this.first + d * DAY_MS),
      base: this.height - PAD.bottom,
      plotH,
      barW,
      max,
    });
    ctx.strokeStyle = '#555555';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(PAD.left, this.height - PAD.bottom + 0.5);
    ctx.lineTo(this.width - PAD.right, this.height - PAD.bottom + 0.5);
    ctx.stroke();
    ctx.fillStyle = '#333333';
    ctx.font = '10px system-ui, sans-serif';
    ctx.textBaseline = 'top';
    ctx.textAlign = 'right';
    ctx.fillText(String(max), PAD.left - 4, PAD.top);
    ctx.textAlign = 'left';
    ctx.fillText(this.label(this.first), PAD.left, this.height - PAD.bottom + 3);
    ctx.textAlign = 'right';
    ctx.fillText(this.label(this.first + (this.days - 1) * DAY_MS), this.width - PAD.right, this.height - PAD.bottom + 3);
    if (this.brush) {
      const x0 = Math.max(PAD.left, this.xOf(this.brush[0]));
      const x1 = Math.min(this.width - PAD.right, this.xOf(this.brush[1]));
      ctx.fillStyle = 'rgba(0, 0, 0, 0.12)';
      ctx.fillRect(x0, PAD.top, Math.max(1, x1 - x0), plotH);
      ctx.strokeStyle = '#000000';
      ctx.lineWidth = 1.5;
      ctx.strokeRect(x0, PAD.top, Math.max(1, x1 - x0), plotH);
    }
  }

  /** A period of whole days from two instants in either order. */
  period(a, b) {
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    const from = Math.max(this.first, Math.floor((lo - this.first) / DAY_MS) * DAY_MS + this.first);
    const last = this.first + this.days * DAY_MS - 1;
    const to = Math.min(last, Math.ceil((hi - this.first) / DAY_MS) * DAY_MS + this.first - 1);
    return to > from ? [from, to] : [from, from + DAY_MS - 1];
  }

  listen() {
    const canvas = this.canvas;
    let drag = null;
    let frame = 0;
    const emit = () => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        this.onBrush(this.brush);
      });
    };
    canvas.addEventListener('pointerdown', (event) => {
      if (event.button !== 0) return;
      canvas.setPointerCapture(event.pointerId);
      const box = canvas.getBoundingClientRect();
      drag = { x: event.clientX - box.left, moved: false };
    });
    canvas.addEventListener('pointermove', (event) => {
      if (!drag) return;
      const box = canvas.getBoundingClientRect();
      const x = event.clientX - box.left;
      if (Math.abs(x - drag.x) < 3 && !drag.moved) return;
      drag.moved = true;
      this.brush = this.period(this.msOf(drag.x), this.msOf(x));
      this.draw();
      emit();
    });
    canvas.addEventListener('pointerup', () => {
      if (!drag) return;
      if (!drag.moved) {
        this.brush = null;
        this.draw();
      }
      drag = null;
      emit();
    });
    canvas.addEventListener('keydown', (event) => {
      const end = this.first + this.days * DAY_MS - 1;
      let [from, to] = this.brush ?? [this.first, Math.min(end, this.first + 7 * DAY_MS - 1)];
      if (event.key === 'Escape') {
        this.brush = null;
      } else if (event.key === 'ArrowLeft' || event.key === 'ArrowRight') {
        const step = event.key === 'ArrowLeft' ? -DAY_MS : DAY_MS;
        if (!this.brush) {
          // The first key press puts a week's period at the start.
        } else if (event.shiftKey) {
          to = Math.max(from + DAY_MS - 1, Math.min(end, to + step));
        } else if (from + step >= this.first && to + step <= end) {
          from += step;
          to += step;
        }
        this.brush = [from, to];
      } else {
        return;
      }
      event.preventDefault();
      this.draw();
      this.onBrush(this.brush);
    });
  }
}
