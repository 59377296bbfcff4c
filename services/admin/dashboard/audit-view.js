// The completeness audit beside lag: each projection card gets an "Audit"
// figure, `complete` or `N missing since position P`, with the time of the
// last audit. Read from admin's stored results (`GET /api/audits`), which
// its periodic round writes, every few seconds.

import { h, setText } from './dom.js';

const EVERY_MS = 5000;

/** The verdict as `refract audit` prints it. */
export function auditVerdict(audit) {
  if (audit.complete) return 'complete';
  if (audit.missing < 0) return `${-audit.missing} counted twice since position ${audit.since}`;
  return `${audit.missing} missing since position ${audit.since}`;
}

/**
 * `fetchAudits()` answers `GET /api/audits`. Returns `render(container)`,
 * which adds or updates the figure on every card under `container`; call it
 * whenever the cards were rendered.
 */
export function createAuditView(fetchAudits) {
  /** projection → its latest audit. */
  let audits = new Map();
  let readAt = 0;
  let reading = false;
  let lastContainer = null;

  function read() {
    if (reading || Date.now() - readAt < EVERY_MS) return;
    reading = true;
    fetchAudits()
      .then(
        (list) => {
          audits = new Map((Array.isArray(list) ? list : []).map((a) => [a.projection, a]));
          if (lastContainer) paint(lastContainer);
        },
        () => {},
      )
      .finally(() => {
        reading = false;
        readAt = Date.now();
      });
  }

  function figureOf(card) {
    const existing = card.querySelector('[data-stat="audit"]');
    if (existing) return existing;
    const figure = h(
      'div',
      { class: 'stat', 'data-stat': 'audit' },
      h('dt', {}, 'Audit'),
      h('dd', { 'data-field': 'audit' }, '–'),
      h('dt', { class: 'subtle', 'data-field': 'auditedAt' }),
    );
    card.querySelector('dl.stats')?.append(figure);
    return figure;
  }

  function paint(container) {
    for (const card of container.querySelectorAll('article.card.projection')) {
      const audit = audits.get(card.dataset.projection);
      const figure = figureOf(card);
      const value = figure.querySelector('[data-field="audit"]');
      const time = figure.querySelector('[data-field="auditedAt"]');
      if (!audit?.auditedAt) {
        setText(value, audit ? 'not audited yet' : '–');
        value.className = '';
        delete value.dataset.complete;
        setText(time, '');
        continue;
      }
      setText(value, auditVerdict(audit));
      value.className = audit.complete ? 'lag-0' : 'lag-4';
      value.dataset.complete = String(audit.complete);
      setText(time, `audited ${new Date(audit.auditedAt).toLocaleTimeString()}`);
    }
  }

  return function render(container) {
    lastContainer = container;
    read();
    paint(container);
  };
}
