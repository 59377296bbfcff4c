// The relay: who leads, how far it has published against the log's head,
// and whether a gap (a position that may still commit) holds it.

import { h } from './dom.js';
import { formatCount, formatSeconds, lagLevel } from './format.js';

/** The gap the relay is held at, in whichever shape admin reports it. */
function heldBy(relay) {
  const held = relay.heldAt ?? relay.gap ?? null;
  if (held && typeof held === 'object') {
    const seconds =
      typeof held.forMs === 'number'
        ? held.forMs / 1000
        : (held.heldSeconds ?? held.seconds ?? null);
    return { position: held.position ?? null, seconds };
  }
  if (typeof relay.gapPosition === 'number' && relay.gapPosition > 0) {
    return { position: relay.gapPosition, seconds: relay.gapHeldSeconds ?? null };
  }
  return null;
}

/** `{ pid, application, address }` (the session holding the relay's lock), or a plain id. */
function describeLeader(leader) {
  if (!leader) return { text: 'none', title: 'no relay holds the lock: nothing is published' };
  if (typeof leader !== 'object') return { text: String(leader), title: '' };
  const text = leader.application ?? 'relay';
  const pid = `pid ${leader.pid ?? '?'}`;
  const since = leader.connectedAt ? `connected ${leader.connectedAt}` : '';
  return { text, pid, title: [pid, leader.address, since].filter(Boolean).join(' · ') };
}

export function renderRelay(container, relay) {
  if (!relay || typeof relay !== 'object') {
    container.replaceChildren(h('p', { class: 'empty' }, 'No relay status yet.'));
    return;
  }
  const lag = relay.lagEvents ?? (relay.headPosition ?? 0) - (relay.publishedPosition ?? 0);
  const published = relay.publishedPosition ?? 0;
  const head = relay.headPosition ?? 0;
  const percent = head > 0 ? Math.min(100, (100 * published) / head) : 100;
  const held = heldBy(relay);
  const leader = describeLeader(relay.leader);
  const fill = h('div', { class: `progress-fill ${lagLevel(lag)}` });
  fill.style.width = `${percent.toFixed(1)}%`;
  container.replaceChildren(
    h(
      'dl',
      { class: 'stats relay-stats' },
      h(
        'div',
        { class: 'stat' },
        h('dt', {}, 'Leader'),
        h(
          'dd',
          { 'data-field': 'leader', class: relay.leader ? 'leader' : 'warn', title: leader.title },
          leader.text,
          leader.pid ? h('span', { class: 'subtle pid' }, leader.pid) : null,
        ),
      ),
      h(
        'div',
        { class: 'stat' },
        h('dt', {}, 'Published'),
        h('dd', { 'data-field': 'publishedPosition' }, formatCount(published)),
      ),
      h(
        'div',
        { class: 'stat' },
        h('dt', {}, 'Head'),
        h('dd', { 'data-field': 'headPosition' }, formatCount(head)),
      ),
      h(
        'div',
        { class: 'stat' },
        h('dt', {}, 'Lag'),
        h('dd', { 'data-field': 'relayLag', class: lagLevel(lag) }, formatCount(lag)),
      ),
    ),
    h(
      'div',
      {
        class: 'progress',
        role: 'progressbar',
        'aria-label': 'published of head',
        'aria-valuemin': 0,
        'aria-valuemax': 100,
        'aria-valuenow': percent.toFixed(0),
      },
      fill,
    ),
    held
      ? h(
          'p',
          { class: 'held', 'data-field': 'heldBy' },
          `Held by a gap at position ${formatCount(held.position)}`,
          held.seconds === null ? '' : ` for ${formatSeconds(held.seconds)}`,
          ' (waiting for its transaction to end)',
        )
      : h('p', { class: 'subtle' }, 'Not held by a gap.'),
  );
}
