// The incident banner: tripped projections (their breaker parked too many
// events) and quarantined streams, above the cards, distinct from a card's
// STALLED banner. One block per projection with open parked events.

import { h } from './dom.js';

/** How often the names of a tripped projection's quarantined streams are read again. */
const STREAMS_EVERY_MS = 5000;
const STREAMS_SHOWN = 5;

/**
 * `fetchStreams(name, limit)` answers `GET …/parked/streams?limit=` (a page
 * of `{ streams: [{ streamId, events }] }`). Returns `update(projections)`.
 */
export function createTripBanner(root, fetchStreams) {
  /** name → { at, streams }: the last read of its quarantined streams. */
  const streamsOf = new Map();
  let last = [];

  function readStreams(name) {
    const known = streamsOf.get(name);
    if (known && Date.now() - known.at < STREAMS_EVERY_MS) return;
    streamsOf.set(name, { at: Date.now(), streams: known?.streams ?? null });
    fetchStreams(name, STREAMS_SHOWN).then(
      (page) => {
        streamsOf.set(name, { at: Date.now(), streams: page?.streams ?? [] });
        render(last);
      },
      () => {},
    );
  }

  function block(p) {
    const tripped = p.tripped ?? null;
    const errors = Array.isArray(p.topErrors) ? p.topErrors : [];
    const streams = streamsOf.get(p.name)?.streams;
    const title = tripped
      ? `TRIPPED ${p.name}: ${tripped.reason} since ${new Date(tripped.at).toLocaleTimeString()}`
      : `${p.name}: parked events`;
    return h(
      'div',
      {
        class: 'trip',
        'data-kind': tripped ? 'tripped' : 'quarantined',
        'data-projection': p.name,
      },
      h('strong', {}, title),
      h(
        'p',
        {},
        `${p.quarantinedStreams} stream${p.quarantinedStreams === 1 ? '' : 's'} quarantined` +
          ' (their later events wait, parked, behind the first).' +
          (tripped ? ' Fix the handler, then Resume: parked streams are retried in order.' : ''),
      ),
      errors.length > 0
        ? h(
            'ol',
            { class: 'trip-errors', 'aria-label': 'top errors' },
            ...errors.map((e) =>
              h(
                'li',
                {},
                h('span', { class: 'count' }, `${e.events.toLocaleString()} ×`),
                ` ${e.message}`,
              ),
            ),
          )
        : null,
      streams && streams.length > 0
        ? h(
            'p',
            { class: 'trip-streams subtle' },
            `streams: ${streams.map((s) => `${s.streamId} (${s.events.length})`).join(', ')}` +
              (p.quarantinedStreams > streams.length ? ', …' : ''),
          )
        : null,
    );
  }

  function render(projections) {
    last = projections;
    const shown = projections.filter((p) => p.tripped || p.quarantinedStreams > 0);
    for (const p of shown) if (p.tripped) readStreams(p.name);
    root.hidden = shown.length === 0;
    root.replaceChildren(...shown.map(block));
  }

  return render;
}
