import type {
  AuditInfo,
  CutoverReportInfo,
  JobInfo,
  ParkedEvent,
  ParkedStreamsPage,
  ProjectionInfo,
  RelayInfo,
  WorkerInfo,
} from './admin-types.js';

/** Left-aligned columns separated by two spaces; numbers right-aligned. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const numeric = headers.map(
    (_, i) => rows.length > 0 && rows.every((row) => /^-?[\d.,]+$|^-$/.test(row[i] ?? '')),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** `1,234,567`; `-` when unknown. */
export function formatCount(value: number | string | null | undefined): string {
  if (value === null || value === undefined || value === '') return '-';
  const n = Number(value);
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : String(value);
}

/** Events a second with at most one decimal below 100: `0.4`, `57`, `12,400`. */
export function formatRate(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  if (value > 0 && value < 100) return String(Math.round(value * 10) / 10);
  return formatCount(value);
}

/** `45s`, `3m 07s`, `2h 05m`; `-` when unknown. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) {
    return '-';
  }
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** `12s` for a stalled projection (how long nothing moved), `-` otherwise. */
export function formatStalled(projection: ProjectionInfo): string {
  return projection.stalled ? formatDuration(projection.stalledSeconds) : '-';
}

/** `42% (job 17)` for a running rebuild, `-` for none. */
export function formatRebuildCell(projection: ProjectionInfo): string {
  const rebuild = projection.rebuild;
  if (!rebuild) return '-';
  const percent = rebuild.total
    ? `${Math.floor((100 * rebuild.processed) / rebuild.total)}%`
    : rebuild.state;
  return `${percent} (job ${rebuild.jobId})`;
}

export function formatProjections(projections: ProjectionInfo[]): string {
  if (projections.length === 0) return 'no projections registered';
  return formatTable(
    [
      'PROJECTION',
      'VERSION',
      'POOL',
      'STATUS',
      'LAG',
      'LAG (s)',
      'EVENTS/S',
      'PARKED',
      'STALLED',
      'REBUILD',
    ],
    projections.map((p) => [
      p.name,
      String(p.version),
      p.pool,
      p.status,
      formatCount(p.lagEvents),
      p.lagSeconds === null ? '-' : String(Math.round(p.lagSeconds * 10) / 10),
      formatRate(p.eventsPerSecond),
      formatCount(p.parked),
      formatStalled(p),
      formatRebuildCell(p),
    ]),
  );
}

/** The heartbeat's age: `0.8s ago`; the time itself when the clock makes no sense of it. */
export function formatHeartbeat(value: string | number | null, now: number): string {
  if (value === null) return '-';
  const at = typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isFinite(at)) return String(value);
  const age = Math.max(0, (now - at) / 1000);
  return age < 10 ? `${Math.round(age * 10) / 10}s ago` : `${formatDuration(age)} ago`;
}

/** `0-3,7,9-11` */
export function formatPartitionList(partitions: number[]): string {
  if (partitions.length === 0) return '-';
  const sorted = [...partitions].sort((a, b) => a - b);
  const ranges: string[] = [];
  let start = sorted[0]!;
  let prev = start;
  for (const p of [...sorted.slice(1), Number.NaN]) {
    if (p === prev + 1) {
      prev = p;
      continue;
    }
    ranges.push(start === prev ? String(start) : `${start}-${prev}`);
    start = p;
    prev = p;
  }
  return ranges.join(',');
}

export function formatWorkers(workers: WorkerInfo[], now: number): string {
  if (workers.length === 0) return 'no live workers';
  return formatTable(
    ['WORKER', 'POOL', 'HOST', 'PID', 'PARTITIONS', 'HEARTBEAT'],
    [...workers]
      .sort((a, b) => a.pool.localeCompare(b.pool) || a.id.localeCompare(b.id))
      .map((w) => [
        w.id,
        w.pool,
        w.host ?? '-',
        w.pid === null ? '-' : String(w.pid),
        `${w.partitions.length}: ${formatPartitionList(w.partitions)}`,
        formatHeartbeat(w.lastHeartbeat, now),
      ]),
  );
}

export function formatRelay(relay: RelayInfo): string {
  const leader = relay.leader
    ? `pid ${relay.leader.pid}${relay.leader.address ? ` at ${relay.leader.address}` : ''}`
    : 'none (nothing is being published)';
  const held = relay.heldAt
    ? `; waiting ${formatDuration(relay.heldAt.sinceSeconds)} on position ${formatCount(relay.heldAt.position)} (a transaction may still commit it)`
    : '';
  return (
    `relay: leader ${leader}, published ${formatCount(relay.publishedPosition)} ` +
    `of head ${formatCount(relay.headPosition)} (lag ${formatCount(relay.lagEvents)} events)${held}`
  );
}

export interface StatusView {
  projections: ProjectionInfo[];
  workers: WorkerInfo[];
  relay: RelayInfo;
}

export function formatStatus(view: StatusView, now: number): string {
  const trips = formatTrips(view.projections);
  return [
    formatProjections(view.projections),
    ...(trips ? ['', trips] : []),
    '',
    formatWorkers(view.workers, now),
    '',
    formatRelay(view.relay),
  ].join('\n');
}

/** One line for a job: `job 17 customer_stats active 4,000/16,000 (25%) 8,000 ev/s ETA 1s`. */
export function formatJobLine(job: JobInfo): string {
  const percent = job.total ? ` (${Math.floor((100 * job.processed) / job.total)}%)` : '';
  const parts = [
    `job ${job.jobId}`,
    job.projection,
    job.state,
    `${formatCount(job.processed)}/${formatCount(job.total)}${percent}`,
    `${formatRate(job.eventsPerSecond)} ev/s`,
    `ETA ${formatDuration(job.etaSeconds)}`,
  ];
  const line = parts.join('  ');
  const report = job.cutoverReport ? `\n${formatCutoverReport(job.cutoverReport)}` : '';
  return job.error ? `${line}\n  error: ${job.error}${report}` : `${line}${report}`;
}

/** The verdict, each table's row counts and differing keys, and the first differences with both values. */
export function formatCutoverReport(report: CutoverReportInfo): string {
  const lines = [`  cutover v${report.liveVersion} -> v${report.version}: ${report.verdict}`];
  for (const t of report.tables) {
    lines.push(
      `  ${t.table}: rows ${t.rows.live} -> ${t.rows.next}, ${t.differing} keys differ (${t.unexpected} not declared)`,
    );
    for (const d of t.first) {
      lines.push(
        `    ${JSON.stringify(d.key)}: ${JSON.stringify(d.live ?? 'missing')} -> ${JSON.stringify(d.next ?? 'missing')}`,
      );
    }
  }
  if (report.verdict === 'unexpected') {
    lines.push(
      '  held: `refract rebuild approve <job>` swaps, `refract rebuild cancel <job>` drops it',
    );
  }
  return lines.join('\n');
}

/** One line per quarantined stream: how many events wait, the first one and its error. */
export function formatParkedStreams(projection: string, page: ParkedStreamsPage): string {
  if (page.streams.length === 0) return `no parked events in "${projection}"`;
  const table = formatTable(
    ['STREAM', 'PARTITION', 'PARKED', 'FIRST ID', 'FIRST POSITION', 'TYPE', 'ERROR'],
    page.streams.map((s) => {
      const head = s.events[0]!;
      return [
        s.streamId,
        String(s.partition),
        String(s.events.length),
        String(head.id),
        formatCount(head.position),
        head.eventType ?? head.type ?? '-',
        oneLine(head.error),
      ];
    }),
  );
  return page.next === null
    ? table
    : `${table}
more: --after ${page.next}`;
}

/** Tripped projections: the reason and the top errors by message, one block each. */
export function formatTrips(projections: ProjectionInfo[]): string {
  return projections
    .filter((p) => p.tripped)
    .map((p) =>
      [
        `TRIPPED ${p.name}: ${p.tripped!.reason} since ${p.tripped!.at}; ${p.quarantinedStreams ?? 0} streams quarantined`,
        ...(p.topErrors ?? []).map((e) => `  ${formatCount(e.events)} × ${oneLine(e.message)}`),
        `  fix the handler, then: refract resume ${p.name}`,
      ].join('\n'),
    )
    .join('\n');
}

export function formatParked(projection: string, events: ParkedEvent[]): string {
  if (events.length === 0) return `no parked events in "${projection}"`;
  return formatTable(
    ['ID', 'PARTITION', 'POSITION', 'TYPE', 'ATTEMPTS', 'PARKED AT', 'RESOLVED', 'ERROR'],
    events.map((e) => [
      String(e.id),
      e.partition === undefined ? '-' : String(e.partition),
      formatCount(e.position),
      e.eventType ?? e.type ?? '-',
      e.attempts === undefined ? '-' : String(e.attempts),
      e.parkedAt ?? '-',
      e.resolution ?? '-',
      oneLine(e.error),
    ]),
  );
}

function oneLine(text: string): string {
  const flat = String(text).replace(/\s+/g, ' ').trim();
  return flat.length > 120 ? `${flat.slice(0, 119)}…` : flat;
}

/** `refract audit`: one line for the projection, then the partitions that are not complete. */
export function formatAudit(audit: AuditInfo): string {
  const head = `${audit.projection} v${audit.version}: ${auditVerdict(audit)}`;
  const at = audit.auditedAt ? ` (audited ${audit.auditedAt})` : '';
  const incomplete = audit.partitions.filter((p) => p.missing !== 0);
  if (incomplete.length === 0) return `${head}${at}`;
  return `${head}${at}\n${formatTable(
    ['PARTITION', 'CHECKPOINT', 'MISSING', 'SINCE'],
    incomplete.map((p) => [
      String(p.partition),
      String(p.checkpoint),
      String(p.missing),
      String(p.since),
    ]),
  )}`;
}

/** `complete`, `N missing since position P`, or, for a count above the log's, how many too many. */
export function auditVerdict(audit: Pick<AuditInfo, 'complete' | 'missing' | 'since'>): string {
  if (audit.complete) return 'complete';
  if (audit.missing < 0) return `${-audit.missing} counted twice since position ${audit.since}`;
  return `${audit.missing} missing since position ${audit.since}`;
}
