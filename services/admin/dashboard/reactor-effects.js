// Reactors on the dashboard: a third kind of consumer beside table and
// counter projections. Their card is the projection card (lag, partitions,
// pause and resume, parked events), marked as a reactor, with the effect
// ledger's counts, and without Rebuild: rebuilds never run reactors.

import { h, setText } from './dom.js';

/**
 * Marks `root` (a projection card) for `p` (an item of /api/projections):
 * a reactor (`p.reactor` set) gets its delivered, at-least-once and pending
 * counts; anything else is left as it is.
 */
export function showReactorEffects(root, p) {
  const counts = p.reactor;
  let line = root.querySelector('.reactor-effects');
  if (!counts) {
    line?.remove();
    delete root.dataset.kind;
    return;
  }
  root.dataset.kind = 'reactor';
  if (!line) {
    line = h('p', { class: 'reactor-effects', role: 'status' });
    const title = root.querySelector('h3, header, strong');
    if (title) title.after(line);
    else root.prepend(line);
  }
  setText(
    line,
    `REACTOR · ${counts.delivered} delivered · ${counts.atLeastOnce} at least once` +
      ` (maybe twice) · ${counts.pending} pending`,
  );
  line.title =
    `${counts.exactlyOnce} delivered exactly once; at least once: attempted more than once ` +
    '(a crash or a retry during the call). Rebuilds never run reactors: replay with ' +
    `refract reactor replay ${p.name} --from <position>.`;
  const rebuild = root.querySelector('[data-action="rebuild"]');
  if (rebuild) rebuild.hidden = true;
}
