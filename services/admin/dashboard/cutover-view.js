// Held rebuilds: a rebuild whose v+1 differs from the live version in ways
// nobody declared waits in `verifying`. This section shows its cutover
// report (row counts, differing keys with both values) and its two ways out:
// Approve swaps v+1 in, Cancel drops it and keeps the live version.

import { ApiError, readToken, request, Unauthorized } from './api.js';
import { h } from './dom.js';
import { formatCount } from './format.js';

const show = (value) => (value === null || value === undefined ? 'missing' : JSON.stringify(value));

function tableReport(t) {
  return h(
    'div',
    { class: 'cutover-table', 'data-table': t.table },
    h(
      'p',
      {},
      h('strong', {}, t.table),
      ` rows ${formatCount(t.rows.live)} → ${formatCount(t.rows.next)}, `,
      h('span', { 'data-field': 'differing' }, `${t.differing} keys differ`),
      ` (${t.unexpected} not declared)`,
    ),
    t.first.length === 0
      ? null
      : h(
          'table',
          { class: 'cutover-keys' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Key', 'Live', 'New'].map((title) => h('th', { scope: 'col' }, title)),
            ),
          ),
          h(
            'tbody',
            {},
            t.first.map((d) =>
              h(
                'tr',
                { 'data-key': JSON.stringify(d.key) },
                h('td', {}, show(d.key)),
                h('td', {}, show(d.live)),
                h('td', {}, show(d.next)),
              ),
            ),
          ),
        ),
  );
}

/**
 * `rebuilds` is `/api/rebuilds`; only the held ones are shown, and the
 * section hides when there are none. `onChange(text, kind)` reports an
 * action's outcome; `onUnauthorized` asks for the token again.
 */
export function renderCutovers(container, rebuilds, { onChange, onUnauthorized }) {
  const held = Array.isArray(rebuilds) ? rebuilds.filter((r) => r.state === 'verifying') : [];
  container.hidden = held.length === 0;
  const act = async (method, path, done) => {
    try {
      await request(method, path, readToken());
      onChange(done, 'ok');
    } catch (error) {
      if (error instanceof Unauthorized) onUnauthorized();
      else onChange(error instanceof ApiError ? error.message : String(error), 'error');
    }
  };
  container.replaceChildren(
    ...held.map((r) => {
      const job = `/api/jobs/${encodeURIComponent(r.jobId)}`;
      const report = r.cutoverReport;
      return h(
        'article',
        { class: 'panel cutover', 'data-job': r.jobId },
        h('h3', {}, `${r.projection}: v${report?.version ?? r.targetVersion} held before the swap`),
        h(
          'p',
          { class: 'subtle' },
          `v${report?.liveVersion ?? '?'} keeps serving. The new version differs in ways the rebuild did not declare.`,
        ),
        (report?.tables ?? [])
          .filter((t) => t.differing > 0 || t.rows.live !== t.rows.next)
          .map(tableReport),
        h(
          'div',
          { class: 'actions' },
          h(
            'button',
            {
              type: 'button',
              'data-action': 'approve',
              onclick: () =>
                act(
                  'POST',
                  `${job}/approve`,
                  `Rebuild of ${r.projection} approved; it swaps once caught up.`,
                ),
            },
            'Approve swap',
          ),
          h(
            'button',
            {
              type: 'button',
              class: 'quiet',
              'data-action': 'cancel',
              onclick: () =>
                act('DELETE', job, `Rebuild of ${r.projection} cancelled; the live version stays.`),
            },
            'Cancel',
          ),
        ),
      );
    }),
  );
}
