// One card per projection, built once and updated in place each tick, so
// buttons keep their identity (and focus) while the numbers change.

import { h, setText } from './dom.js';
import { formatCount, formatRate, formatSeconds, lagLevel } from './format.js';
import { createSparkline } from './sparkline.js';

/** Job states after which a rebuild no longer moves. */
export const FINAL_JOB_STATES = new Set(['completed', 'failed', 'cancelled', 'canceled']);

/** The card's one click handler reads `data-action`. */
function actionButton(action, label, className) {
  return h('button', { type: 'button', class: className, 'data-action': action }, label);
}

function stat(label, field) {
  const value = h('dd', { 'data-field': field }, '–');
  return { root: h('div', { class: 'stat' }, h('dt', {}, label), value), value };
}

/**
 * `onAction(name, action, detail)` is called for 'rebuild' | 'pause' |
 * 'resume' | 'cancel' | 'dismiss'; confirmation is the caller's job.
 */
export function createProjectionCard(name, onAction) {
  const title = h('h3', {}, name);
  const meta = h('span', { class: 'subtle meta' });
  const status = h('span', { class: 'badge', 'data-field': 'status' });
  const stalled = h('div', { class: 'stalled', role: 'alert', hidden: true });
  const lagEvents = stat('Lag', 'lagEvents');
  const lagSeconds = stat('Behind by', 'lagSeconds');
  const rate = stat('Events/s', 'eventsPerSecond');
  const parked = stat('Parked', 'parked');
  const bars = h('div', { class: 'partition-bars', role: 'list', 'aria-label': 'partitions' });
  const partitionsCaption = h('span', { class: 'subtle' });
  const lagChart = createSparkline('Lag (events)', 'spark-lag');
  const behindChart = createSparkline('Behind (s)', 'spark-behind');
  const rateChart = createSparkline('Events/s', 'spark-rate');
  const parkedChart = createSparkline('Parked', 'spark-parked');

  const jobState = h('span', { class: 'job-state', 'data-field': 'jobState' });
  const jobId = h('span', { class: 'subtle' });
  const fill = h('div', { class: 'progress-fill' });
  const progress = h(
    'div',
    {
      class: 'progress',
      role: 'progressbar',
      'aria-valuemin': 0,
      'aria-valuemax': 100,
      'aria-valuenow': 0,
      'aria-label': `rebuild of ${name}`,
    },
    fill,
  );
  const jobFigures = h('div', { class: 'subtle job-figures' });
  const cancel = actionButton('cancel', 'Cancel', 'danger small');
  const dismiss = actionButton('dismiss', 'Dismiss', 'quiet small');
  const rebuildBox = h(
    'div',
    { class: 'rebuild', hidden: true },
    h('div', { class: 'rebuild-head' }, h('strong', {}, 'Rebuild '), jobState, ' ', jobId),
    progress,
    h('div', { class: 'rebuild-foot' }, jobFigures, cancel, dismiss),
  );

  const rebuildButton = actionButton('rebuild', 'Rebuild');
  const pauseButton = actionButton('pause', 'Pause', 'quiet');
  const resumeButton = actionButton('resume', 'Resume', 'quiet');

  const root = h(
    'article',
    { class: 'card projection', 'data-projection': name },
    h('header', { class: 'card-head' }, h('div', {}, title, meta), status),
    stalled,
    h('dl', { class: 'stats' }, lagEvents.root, lagSeconds.root, rate.root, parked.root),
    h(
      'div',
      { class: 'partitions' },
      h('div', { class: 'row-caption' }, h('span', {}, 'Partitions'), partitionsCaption),
      bars,
    ),
    h(
      'div',
      { class: 'charts' },
      lagChart.root,
      behindChart.root,
      rateChart.root,
      parkedChart.root,
    ),
    rebuildBox,
    h('footer', { class: 'actions' }, rebuildButton, pauseButton, resumeButton),
  );

  let job = null;
  root.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]');
    if (!button || button.disabled) return;
    onAction(name, button.dataset.action, { jobId: job?.jobId });
  });

  const barByPartition = new Map();

  function updatePartitions(partitions) {
    const list = Array.isArray(partitions)
      ? [...partitions].sort((a, b) => a.partition - b.partition)
      : [];
    const max = Math.max(0, ...list.map((p) => p.lagEvents ?? 0));
    const seen = new Set();
    for (const p of list) {
      seen.add(p.partition);
      let bar = barByPartition.get(p.partition);
      if (!bar) {
        bar = h('span', { class: 'bar', role: 'listitem' }, h('span', { class: 'bar-fill' }));
        barByPartition.set(p.partition, bar);
      }
      const lag = p.lagEvents ?? 0;
      // Log scale: one partition far behind must not flatten all the others.
      const height = max > 0 ? 12 + (88 * Math.log1p(lag)) / Math.log1p(max) : 12;
      bar.firstChild.style.height = `${height.toFixed(0)}%`;
      bar.className = `bar ${lagLevel(lag)}`;
      const owner = p.owner ? `owner ${p.owner}` : 'no owner';
      // Admin caps the count on a huge lag and extrapolates beyond (lagEstimated).
      const approx = p.lagEstimated ? '≈' : '';
      const halted = p.halted ? ' · HALTED' : '';
      const text = `partition ${p.partition} · ${owner} · lag ${approx}${formatCount(lag)} · checkpoint ${formatCount(p.checkpoint)}${halted}`;
      bar.title = text;
      bar.setAttribute('aria-label', text);
      bar.dataset.owner = p.owner ?? '';
      bar.dataset.partition = String(p.partition);
    }
    for (const partition of barByPartition.keys()) {
      if (!seen.has(partition)) barByPartition.delete(partition);
    }
    const ordered = list.map((p) => barByPartition.get(p.partition));
    if (
      ordered.length !== bars.children.length ||
      ordered.some((bar, i) => bars.children[i] !== bar)
    ) {
      bars.replaceChildren(...ordered);
    }
    const owned = list.filter((p) => p.owner).length;
    setText(
      partitionsCaption,
      list.length === 0 ? '' : `${owned}/${list.length} owned · hover for owner`,
    );
  }

  function updateJob() {
    rebuildBox.hidden = job === null;
    rebuildButton.disabled = job !== null && !FINAL_JOB_STATES.has(job.state);
    if (job === null) return;
    const final = FINAL_JOB_STATES.has(job.state);
    const done = job.state === 'completed';
    const percent = done
      ? 100
      : job.total > 0
        ? Math.min(100, (100 * job.processed) / job.total)
        : 0;
    fill.style.width = `${percent.toFixed(1)}%`;
    progress.setAttribute('aria-valuenow', percent.toFixed(0));
    progress.dataset.state = job.state ?? '';
    rebuildBox.dataset.state = job.state ?? '';
    setText(jobState, job.state ?? 'unknown');
    // Job ids are UUIDs: the first block tells them apart on screen, the title has all of it.
    setText(jobId, job.jobId ? `#${String(job.jobId).slice(0, 8)}` : '');
    jobId.title = job.jobId ? `job ${job.jobId}` : '';
    const figures = [
      `${formatCount(job.processed)} / ${formatCount(job.total)} events (${percent.toFixed(0)} %)`,
    ];
    if (!final) {
      figures.push(`${formatRate(job.eventsPerSecond)} ev/s`);
      figures.push(`ETA ${formatSeconds(job.etaSeconds)}`);
    }
    if (job.error) figures.push(`error: ${job.error}`);
    setText(jobFigures, figures.join(' · '));
    cancel.hidden = final;
    dismiss.hidden = !final;
  }

  return {
    root,
    /** `projection` is one entry of /api/projections; `history` holds its samples. */
    update(projection, history, windowMs) {
      setText(meta, `v${projection.version ?? '?'} · pool ${projection.pool ?? '?'}`);
      setText(status, projection.status ?? 'unknown');
      status.dataset.status = projection.status ?? 'unknown';
      const isStalled = projection.stalled === true;
      stalled.hidden = !isStalled;
      root.classList.toggle('is-stalled', isStalled);
      if (isStalled) {
        const since =
          typeof projection.stalledSeconds === 'number'
            ? ` for ${formatSeconds(projection.stalledSeconds)}`
            : '';
        setText(stalled, `STALLED${since}: events are waiting and the checkpoints do not move`);
      }
      const estimated = (projection.partitions ?? []).some((p) => p.lagEstimated);
      setText(lagEvents.value, `${estimated ? '≈ ' : ''}${formatCount(projection.lagEvents)}`);
      lagEvents.value.className = lagLevel(projection.lagEvents);
      setText(lagSeconds.value, formatSeconds(projection.lagSeconds));
      setText(rate.value, formatRate(projection.eventsPerSecond));
      setText(parked.value, formatCount(projection.parked));
      parked.value.classList.toggle('warn', (projection.parked ?? 0) > 0);
      updatePartitions(projection.partitions);
      lagChart.update(history.get(`${name}:lag`), formatCount, windowMs);
      behindChart.update(history.get(`${name}:behind`), formatSeconds, windowMs);
      rateChart.update(history.get(`${name}:rate`), formatRate, windowMs);
      parkedChart.update(history.get(`${name}:parked`), formatCount, windowMs);
      pauseButton.hidden = projection.status === 'paused';
      resumeButton.hidden = projection.status !== 'paused' && projection.status !== 'halted';
      pauseButton.disabled = projection.status === 'rebuilding';
    },
    /** The rebuild job shown under the card (null hides it). */
    setJob(next) {
      job = next;
      updateJob();
    },
    get job() {
      return job;
    },
  };
}
