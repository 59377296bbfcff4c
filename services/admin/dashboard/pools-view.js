// Worker pools: the live workers of each pool and the partitions each owns.

import { h } from './dom.js';
import { ageSeconds, formatSeconds } from './format.js';

/**
 * Rebuilt each tick (it has no controls). `pools` lists the pools the
 * projections name, so a pool without live workers still shows, as a warning.
 */
export function renderPools(container, workers, pools) {
  const byPool = new Map(pools.map((pool) => [pool, []]));
  for (const worker of Array.isArray(workers) ? workers : []) {
    const list = byPool.get(worker.pool) ?? [];
    list.push(worker);
    byPool.set(worker.pool, list);
  }
  if (byPool.size === 0) {
    container.replaceChildren(h('p', { class: 'empty' }, 'No workers seen yet.'));
    return;
  }
  const now = Date.now();
  const cards = [...byPool.entries()]
    .sort(([a], [b]) => String(a).localeCompare(String(b)))
    .map(([pool, members]) => {
      const rows = members
        .sort((a, b) => String(a.id).localeCompare(String(b.id)))
        .map((worker) => {
          const partitions = [...(worker.partitions ?? [])].sort((a, b) => a - b);
          const age = ageSeconds(worker.lastHeartbeat, now);
          return h(
            'li',
            { class: 'worker', 'data-worker': worker.id },
            h(
              'div',
              { class: 'worker-head' },
              h('code', { class: 'worker-id', title: worker.id }, worker.id),
              h(
                'span',
                { class: 'subtle' },
                `${worker.host ?? '?'} · pid ${worker.pid ?? '?'}`,
                age === null ? '' : ` · heartbeat ${formatSeconds(age)} ago`,
              ),
            ),
            h(
              'div',
              { class: 'chips', 'aria-label': `partitions of ${worker.id}` },
              partitions.length === 0
                ? h('span', { class: 'subtle' }, 'no partitions')
                : partitions.map((p) => h('span', { class: 'chip' }, String(p))),
            ),
          );
        });
      return h(
        'article',
        { class: 'panel pool', 'data-pool': pool },
        h(
          'header',
          { class: 'card-head' },
          h('h3', {}, pool),
          h(
            'span',
            {
              class: members.length === 0 ? 'badge' : 'subtle',
              'data-status': members.length === 0 ? 'halted' : undefined,
            },
            members.length === 1 ? '1 live worker' : `${members.length} live workers`,
          ),
        ),
        rows.length === 0
          ? h('p', { class: 'warn' }, 'No live worker: this pool’s projections do not advance.')
          : h('ul', { class: 'workers' }, rows),
      );
    });
  container.replaceChildren(...cards);
}
