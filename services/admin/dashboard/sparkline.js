// Hand-drawn SVG sparklines: a few dozen lines instead of a chart library
// that admin would have to serve.

import { h, setText, svg } from './dom.js';

const WIDTH = 240;

function formatSpan(ms) {
  const seconds = Math.round(ms / 1000);
  return seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
}
const HEIGHT = 40;

/** Keeps the last `windowMs` of samples per series, fed from admin's history and the stream. */
export class History {
  constructor(windowMs = 5 * 60_000) {
    this.windowMs = windowMs;
    this.series = new Map();
  }

  add(key, value, at = Date.now()) {
    if (typeof value !== 'number' || !Number.isFinite(value)) return;
    let points = this.series.get(key);
    if (!points) {
      points = [];
      this.series.set(key, points);
    }
    points.push({ at, value });
    const horizon = at - this.windowMs;
    while (points.length > 0 && points[0].at < horizon) points.shift();
  }

  /**
   * Puts samples from before the page opened (admin's history, oldest
   * first) in front of what the stream has added since: those not older
   * than the series' first point are left out.
   */
  seed(key, points) {
    const live = this.series.get(key) ?? [];
    const first = live[0]?.at ?? Number.POSITIVE_INFINITY;
    const earlier = points.filter(
      (p) => p.at < first && typeof p.value === 'number' && Number.isFinite(p.value),
    );
    this.series.set(key, [...earlier, ...live]);
  }

  get(key) {
    return this.series.get(key) ?? [];
  }
}

/**
 * A sparkline with a caption (`label`, current value, peak). `update(points,
 * format)` redraws it from `{ at, value }` samples over the window.
 */
export function createSparkline(label, className) {
  const line = svg('polyline', { class: 'spark-line', fill: 'none' });
  const area = svg('polygon', { class: 'spark-area' });
  const chart = svg(
    'svg',
    {
      class: 'spark',
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      preserveAspectRatio: 'none',
      role: 'img',
      'aria-label': label,
    },
    area,
    line,
  );
  const current = h('span', { class: 'spark-value' });
  const peak = h('span', { class: 'spark-peak subtle' });
  const spanLabel = h('span', { class: 'spark-span subtle' });
  const root = h(
    'figure',
    { class: `sparkline ${className}` },
    h('figcaption', {}, h('span', { class: 'spark-label' }, label), current, peak, spanLabel),
    chart,
  );

  return {
    root,
    update(points, format, windowMs) {
      const last = points.at(-1);
      // For tests and the curious: how many samples are drawn, from when.
      root.dataset.points = String(points.length);
      root.dataset.from = points.length > 0 ? String(Math.round(points[0].at)) : '';
      setText(current, last ? format(last.value) : '–');
      if (points.length === 0) {
        line.setAttribute('points', '');
        area.setAttribute('points', '');
        setText(peak, '');
        setText(spanLabel, '');
        return;
      }
      const max = Math.max(...points.map((p) => p.value));
      setText(peak, `peak ${format(max)}`);
      // The x axis spans what the page has seen, up to the window: a page
      // opened a minute ago draws a minute across the whole width.
      const end = last.at;
      const start = Math.max(points[0].at, end - windowMs);
      const span = Math.max(1, end - start);
      const top = max > 0 ? max : 1;
      const coords = points.map((p) => {
        const x = ((p.at - start) / span) * WIDTH;
        const y = HEIGHT - 1 - (p.value / top) * (HEIGHT - 2);
        return `${x.toFixed(1)},${y.toFixed(1)}`;
      });
      line.setAttribute('points', coords.join(' '));
      area.setAttribute('points', `0,${HEIGHT} ${coords.join(' ')} ${WIDTH},${HEIGHT}`);
      setText(spanLabel, `last ${formatSpan(span)}`);
    },
  };
}
