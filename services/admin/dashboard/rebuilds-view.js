// Recent rebuilds: what ran lately, how it ended and how long it took, from
// admin's record (refract.rebuilds keeps outcomes after the queue forgot them).

import { h } from './dom.js';
import { formatCount, formatSeconds } from './format.js';

/** Seconds from start to finish (or to now while it runs); null before it started. */
function durationSeconds(rebuild, now) {
  const started = Date.parse(rebuild.startedAt ?? '');
  if (!Number.isFinite(started)) return null;
  const finished = Date.parse(rebuild.finishedAt ?? '');
  return ((Number.isFinite(finished) ? finished : now) - started) / 1000;
}

/** `rebuilds` is `/api/rebuilds`: newest first. */
export function renderRebuilds(container, rebuilds, now = Date.now()) {
  if (!Array.isArray(rebuilds) || rebuilds.length === 0) {
    container.replaceChildren(h('p', { class: 'empty' }, 'No rebuild has run yet.'));
    return;
  }
  const rows = rebuilds.map((r) => {
    const seconds = durationSeconds(r, now);
    const running = !r.finishedAt;
    const duration =
      seconds === null ? '–' : `${formatSeconds(seconds)}${running ? ' so far' : ''}`;
    const created = new Date(r.createdAt);
    return h(
      'tr',
      { 'data-job': r.jobId, 'data-state': r.state },
      h('td', {}, r.projection),
      h('td', {}, h('span', { class: `badge outcome-${r.state}`, 'data-field': 'state' }, r.state)),
      h(
        'td',
        { title: created.toISOString() },
        Number.isNaN(created.getTime()) ? '–' : created.toLocaleTimeString(),
      ),
      h('td', { 'data-field': 'duration' }, duration),
      h('td', {}, `${formatCount(r.processed)} / ${formatCount(r.total)}`),
      h('td', { class: 'subtle' }, r.error ?? (r.targetVersion ? `v${r.targetVersion}` : '')),
    );
  });
  container.replaceChildren(
    h(
      'table',
      { class: 'rebuild-list' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Projection', 'Outcome', 'Queued', 'Duration', 'Events', 'Version / error'].map((t) =>
            h('th', { scope: 'col' }, t),
          ),
        ),
      ),
      h('tbody', {}, rows),
    ),
  );
}
