// The lag dashboard: one stream of admin's state, rendered into cards.

import {
  ApiError,
  forgetToken,
  paths,
  readToken,
  request,
  saveToken,
  Unauthorized,
} from './api.js';
import { createAuditView } from './audit-view.js';
import { renderCutovers } from './cutover-view.js';
import { h, setText } from './dom.js';
import { connectStream } from './event-stream.js';
import { renderPools } from './pools-view.js';
import { createProjectionCard, FINAL_JOB_STATES } from './projection-card.js';
import { showReactorEffects } from './reactor-effects.js';
import { renderRebuilds } from './rebuilds-view.js';
import { renderRelay } from './relay-view.js';
import { History } from './sparkline.js';
import { createTripBanner } from './trip-banner.js';

/** As long as admin keeps (ADMIN_HISTORY_WINDOW_MS' default): a reload shows the same span. */
const HISTORY_MS = 15 * 60_000;
const REBUILDS_POLL_MS = 10_000;
/** While the stream is down, the page still polls, slower. */
const POLL_WHILE_DOWN_MS = 3000;
const JOB_POLL_MS = 1000;

const elements = {
  connection: document.getElementById('connection'),
  updated: document.getElementById('updated'),
  notice: document.getElementById('notice'),
  projections: document.getElementById('projections'),
  pools: document.getElementById('pools'),
  relay: document.getElementById('relay'),
  rebuilds: document.getElementById('rebuilds'),
  cutovers: document.getElementById('cutovers'),
  dialog: document.getElementById('token-dialog'),
  form: document.getElementById('token-form'),
  tokenInput: document.getElementById('token-input'),
  tokenReason: document.getElementById('token-reason'),
  changeToken: document.getElementById('change-token'),
};

const renderTrips = createTripBanner(document.getElementById('trips'), (name, limit) =>
  request('GET', `${paths.action(name, 'parked/streams')}?limit=${limit}`, readToken()),
);

const renderAudits = createAuditView(() => request('GET', '/api/audits', readToken()));

const state = {
  projections: [],
  workers: [],
  relay: null,
  connection: 'connecting',
  lastUpdate: 0,
};
const history = new History(HISTORY_MS);
/** Admin's history is read once per page: the stream carries on from there. */
let historyLoaded = false;
const cards = new Map();
const jobPolls = new Set();
let stream;
let noticeTimer;

// ---- token ---------------------------------------------------------------

function askForToken(reason) {
  setText(
    elements.tokenReason,
    reason ?? 'The admin API needs its token. It is kept for this browser session only.',
  );
  elements.tokenInput.value = '';
  if (!elements.dialog.open) elements.dialog.showModal();
  elements.tokenInput.focus();
}

elements.form.addEventListener('submit', () => {
  const token = elements.tokenInput.value.trim();
  if (token.length === 0) return;
  saveToken(token);
  void refresh();
  void loadRebuilds(token);
  startStream();
});
elements.changeToken.addEventListener('click', () => askForToken());

function onUnauthorized() {
  forgetToken();
  setConnection('unauthorized');
  askForToken('The admin token was refused or is missing. Enter it again.');
}

// ---- notices -------------------------------------------------------------

function notify(text, kind = 'info') {
  elements.notice.hidden = false;
  elements.notice.dataset.kind = kind;
  elements.notice.replaceChildren(
    h('span', {}, text),
    h(
      'button',
      { type: 'button', class: 'quiet small', onclick: () => (elements.notice.hidden = true) },
      'Close',
    ),
  );
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (elements.notice.hidden = true), 10_000);
}

function describe(error) {
  if (error instanceof ApiError) {
    const code = error.body?.error ? ` (${error.body.error})` : '';
    return `${error.message}${code}`;
  }
  return error instanceof Error ? error.message : String(error);
}

// ---- connection state ----------------------------------------------------

function setConnection(next, detail) {
  state.connection = next;
  const pill = elements.connection;
  pill.dataset.state = next;
  const label = pill.querySelector('.label');
  if (next === 'reconnecting') {
    setText(label, `reconnecting in ${(detail.inMs / 1000).toFixed(1)} s`);
    pill.title = detail.reason ?? '';
  } else {
    setText(label, next === 'unauthorized' ? 'token needed' : next);
    pill.title = '';
  }
}

// ---- data ----------------------------------------------------------------

function applyProjections(projections) {
  if (!Array.isArray(projections)) return;
  state.projections = projections;
  const now = Date.now();
  for (const p of projections) addSample(p, now);
  renderProjections();
  renderAudits(elements.projections);
  renderTrips(projections);
  renderPools(elements.pools, state.workers, poolNames());
}

/** The series a projection's charts draw, from a live projection or one of admin's samples. */
function addSample(p, at, add = (key, value) => history.add(key, value, at)) {
  add(`${p.name}:lag`, p.lagEvents);
  add(`${p.name}:behind`, p.lagSeconds);
  add(`${p.name}:rate`, p.eventsPerSecond);
  add(`${p.name}:parked`, p.parked);
}

/**
 * Admin's samples of the last minutes, put before what the stream brought,
 * so a page opened (or reloaded) mid-incident shows how it began. Times are
 * moved by the difference between admin's clock and this browser's.
 */
async function loadHistory(token) {
  const body = await request('GET', paths.history, token);
  const offset = Date.now() - body.now;
  const points = new Map();
  for (const sample of body.samples) {
    const at = sample.at + offset;
    for (const p of sample.projections) {
      addSample(p, at, (key, value) => {
        const list = points.get(key) ?? [];
        list.push({ at, value });
        points.set(key, list);
      });
    }
  }
  for (const [key, list] of points) history.seed(key, list);
  historyLoaded = true;
  renderProjections();
}

async function loadRebuilds(token = readToken()) {
  if (!token) return;
  try {
    const rebuilds = await request('GET', paths.rebuilds, token);
    renderRebuilds(elements.rebuilds, rebuilds);
    renderCutovers(elements.cutovers, rebuilds, {
      onChange: (text, kind) => {
        notify(text, kind);
        void loadRebuilds();
      },
      onUnauthorized,
    });
  } catch (error) {
    if (error instanceof Unauthorized) onUnauthorized();
    // 404: this admin runs no rebuild layer.
    else if (error instanceof ApiError && error.status === 404) {
      renderRebuilds(elements.rebuilds, []);
    }
  }
}

function applyWorkers(workers) {
  if (!Array.isArray(workers)) return;
  state.workers = workers;
  renderPools(elements.pools, workers, poolNames());
}

function applyRelay(relay) {
  if (!relay || typeof relay !== 'object') return;
  state.relay = relay;
  renderRelay(elements.relay, relay);
}

function touched() {
  state.lastUpdate = Date.now();
  setText(elements.updated, `updated ${new Date(state.lastUpdate).toLocaleTimeString()}`);
  elements.updated.classList.remove('stale');
}

function poolNames() {
  return [...new Set(state.projections.map((p) => p.pool).filter(Boolean))];
}

/** Accepts one event per kind (`event: projections`) or one event holding all three. */
function onMessage({ event, data }) {
  if (event === 'projections') applyProjections(data);
  else if (event === 'workers') applyWorkers(data);
  else if (event === 'relay') applyRelay(data);
  else if (data && typeof data === 'object' && !Array.isArray(data)) {
    // Workers first: the pools view draws from both.
    if ('workers' in data) applyWorkers(data.workers);
    if ('relay' in data) applyRelay(data.relay);
    if ('projections' in data) applyProjections(data.projections);
  } else return;
  touched();
}

async function refresh() {
  const token = readToken();
  if (!token) return;
  try {
    const [projections, workers, relay] = await Promise.all([
      request('GET', paths.projections, token),
      request('GET', paths.workers, token),
      request('GET', paths.relay, token),
    ]);
    applyWorkers(workers);
    applyRelay(relay);
    applyProjections(projections);
    touched();
    if (!historyLoaded) await loadHistory(token);
  } catch (error) {
    if (error instanceof Unauthorized) onUnauthorized();
  }
}

// ---- projections and rebuilds ---------------------------------------------

function renderProjections() {
  const names = new Set();
  for (const p of state.projections) {
    names.add(p.name);
    let card = cards.get(p.name);
    if (!card) {
      card = createProjectionCard(p.name, onAction);
      cards.set(p.name, card);
    }
    if (p.rebuild) card.setJob(p.rebuild);
    else if (card.job && !FINAL_JOB_STATES.has(card.job.state) && card.job.state !== 'verifying')
      void pollJob(p.name);
    card.update(p, history, HISTORY_MS);
    showReactorEffects(card.root, p);
  }
  for (const name of cards.keys()) if (!names.has(name)) cards.delete(name);
  const ordered = [...cards.keys()].sort().map((name) => cards.get(name).root);
  if (ordered.length === 0) {
    elements.projections.replaceChildren(h('p', { class: 'empty' }, 'No projections registered.'));
  } else if (
    ordered.length !== elements.projections.children.length ||
    ordered.some((root, i) => elements.projections.children[i] !== root)
  ) {
    elements.projections.replaceChildren(...ordered);
  }
}

/**
 * The projection list stops naming a job once it has ended, so the page
 * asks for the job itself until it reports a final state (a rebuild that
 * ends between two ticks still shows its outcome).
 */
async function pollJob(name) {
  const card = cards.get(name);
  const jobId = card?.job?.jobId;
  if (!jobId || jobPolls.has(jobId)) return;
  jobPolls.add(jobId);
  try {
    for (;;) {
      const job = await request('GET', paths.job(jobId), readToken());
      if (card.job?.jobId !== jobId) return;
      card.setJob({ ...card.job, ...job });
      if (FINAL_JOB_STATES.has(job.state) || job.state === 'verifying') {
        void loadRebuilds();
        if (job.state === 'verifying') notify(`Rebuild of ${name} held: v+1 differs.`, 'error');
        if (job.state === 'completed') notify(`Rebuild of ${name} completed.`, 'ok');
        else if (job.state === 'failed')
          notify(`Rebuild of ${name} failed: ${job.error ?? 'no reason given'}`, 'error');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, JOB_POLL_MS));
    }
  } catch (error) {
    if (error instanceof Unauthorized) onUnauthorized();
    else notify(`Cannot read rebuild job ${jobId}: ${describe(error)}`, 'error');
  } finally {
    jobPolls.delete(jobId);
  }
}

const CONFIRM = {
  rebuild: (name) =>
    `Rebuild ${name}? A new version is built beside the live one and swapped in when it has caught up.`,
  pause: (name) => `Pause ${name}? Its workers stop applying events until it is resumed.`,
  resume: (name) => `Resume ${name}?`,
  cancel: (name) => `Cancel the rebuild of ${name}? The live version stays as it is.`,
};

async function onAction(name, action, detail) {
  const card = cards.get(name);
  if (action === 'dismiss') {
    card?.setJob(null);
    return;
  }
  if (!window.confirm(CONFIRM[action](name))) return;
  const token = readToken();
  try {
    if (action === 'cancel') {
      await request('DELETE', paths.job(detail.jobId), token);
      notify(`Rebuild of ${name} cancelled.`);
      void pollJob(name);
    } else if (action === 'rebuild') {
      const { jobId } = await request('POST', paths.action(name, 'rebuild'), token);
      card?.setJob({ jobId, state: 'waiting', processed: 0, total: 0 });
      notify(`Rebuild of ${name} queued (job ${jobId}).`);
      void pollJob(name);
    } else {
      await request('POST', paths.action(name, action), token);
      notify(`${name}: ${action === 'pause' ? 'paused' : 'resumed'}.`);
      void refresh();
    }
  } catch (error) {
    if (error instanceof Unauthorized) onUnauthorized();
    else if (error instanceof ApiError && error.status === 409 && error.body?.jobId) {
      card?.setJob({ jobId: error.body.jobId, state: 'active', processed: 0, total: 0 });
      notify(`A rebuild of ${name} is already running (job ${error.body.jobId}).`);
      void pollJob(name);
    } else notify(`${action} ${name} failed: ${describe(error)}`, 'error');
  }
}

// ---- start ---------------------------------------------------------------

/** The stream opens once there is a token to send, and restarts with each new one. */
function startStream() {
  if (stream) {
    stream.restart();
    return;
  }
  stream = connectStream({
    url: paths.stream,
    getToken: readToken,
    onState(next, detail) {
      if (next === 'unauthorized') onUnauthorized();
      else setConnection(next, detail);
    },
    onMessage,
  });
}

setInterval(() => void loadRebuilds(), REBUILDS_POLL_MS);

setInterval(() => {
  if (state.lastUpdate > 0 && Date.now() - state.lastUpdate > 5000) {
    elements.updated.classList.add('stale');
  }
  if (stream && state.connection !== 'live' && state.connection !== 'unauthorized') void refresh();
}, POLL_WHILE_DOWN_MS);

if (readToken()) {
  void refresh();
  void loadRebuilds();
  startStream();
} else {
  setConnection('unauthorized');
  askForToken();
}
