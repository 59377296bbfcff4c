import { readdirSync, readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc reports CPU time in these ticks. */
const TICKS_PER_SECOND = 100;

/** Average cores each group kept busy during a phase. */
export interface CpuShare {
  /** This process: the load generator, readers, an in-process relay. */
  client: number;
  /** The services it spawned (write-api, relay). */
  services: number;
  /** The whole Postgres server (other users' databases too), including backends that ended during the phase. */
  postgres: number;
  redis: number;
  /** Everything else on the machine: other users' work that competed with the phase. */
  other: number;
  /**
   * Time the hypervisor gave to other guests while this one wanted to run
   * (steal): the machine had this many fewer cores than it has.
   */
  stolen: number;
}

interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  /** utime + stime. */
  own: number;
  /** cutime + cstime: ended, reaped children. */
  children: number;
}

function readProc(pid: string): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // ended meanwhile
  }
  // comm is in parentheses and may hold spaces; the fields after it are fixed.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const fields = text.slice(close + 2).split(' ');
  const field = (n: number) => Number(fields[n - 3]);
  return {
    pid: Number(pid),
    comm,
    ppid: field(4),
    own: field(14) + field(15),
    children: field(16) + field(17),
  };
}

function machineTicks(): { busy: number; steal: number } {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  // user nice system idle iowait irq softirq steal: the guest's own busy time, and the stolen.
  const [user, nice, system, , , irq, softirq, steal] = values.map(Number);
  return { busy: user! + nice! + system! + irq! + softirq!, steal: steal! };
}

interface Sample {
  at: number;
  machine: number;
  steal: number;
  client: number;
  services: number;
  postgres: number;
  redis: number;
}

/**
 * CPU time by group, from /proc. A group's time is its live processes' own
 * time plus what its roots inherited from children that ended (Postgres
 * backends are children of the postmaster), so short-lived processes are
 * counted too. Linux only; elsewhere every share reads 0.
 */
function sample(): Sample {
  const at = performance.now();
  let procs: ProcStat[];
  let machine: { busy: number; steal: number };
  try {
    machine = machineTicks();
    procs = readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(readProc)
      .filter((p): p is ProcStat => p !== undefined);
  } catch {
    return { at, machine: 0, steal: 0, client: 0, services: 0, postgres: 0, redis: 0 };
  }
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const within = (p: ProcStat, root: number) => {
    for (let q: ProcStat | undefined = p; q; q = byPid.get(q.ppid)) if (q.pid === root) return true;
    return false;
  };
  const group = (member: (p: ProcStat) => boolean, isRoot: (p: ProcStat) => boolean) =>
    procs.filter(member).reduce((sum, p) => sum + p.own + (isRoot(p) ? p.children : 0), 0);
  const isPostgres = (p: ProcStat) => p.comm === 'postgres';
  const self = byPid.get(process.pid);
  return {
    at,
    machine: machine.busy,
    steal: machine.steal,
    client: self?.own ?? 0,
    services:
      group(
        (p) => p.pid !== process.pid && within(p, process.pid),
        () => false,
      ) + (self?.children ?? 0),
    // The postmaster is the Postgres process whose parent is not one.
    postgres: group(isPostgres, (p) => {
      const parent = byPid.get(p.ppid);
      return parent === undefined || !isPostgres(parent);
    }),
    redis: group(
      (p) => p.comm.startsWith('redis-server'),
      () => false,
    ),
  };
}

/** Starts measuring; the returned function ends it and gives each group's share. */
export function startCpuMeter(): () => CpuShare {
  const start = sample();
  return () => {
    const end = sample();
    const seconds = (end.at - start.at) / 1000;
    // A process that ends between the samples moves its time from its own
    // count to its parent's, which can make a group's difference dip below
    // zero by a little: it is an estimate, shown as 0 then.
    const cores = (ticks: number) =>
      seconds > 0 ? Math.max(0, Math.round((ticks / TICKS_PER_SECOND / seconds) * 100) / 100) : 0;
    const used = {
      client: end.client - start.client,
      services: end.services - start.services,
      postgres: end.postgres - start.postgres,
      redis: end.redis - start.redis,
    };
    const ours = used.client + used.services + used.postgres + used.redis;
    return {
      client: cores(used.client),
      services: cores(used.services),
      postgres: cores(used.postgres),
      redis: cores(used.redis),
      other: cores(Math.max(0, end.machine - start.machine - ours)),
      stolen: cores(end.steal - start.steal),
    };
  };
}

const QUIET_BELOW_CORES = 0.3;

/**
 * Waits (up to `maxWaitMs`) until the machine has been nearly idle for a
 * second, so a phase does not start while someone else's build or test run
 * is using the cores. Returns the cores busy in the last second looked at.
 */
export async function waitForQuietMachine(maxWaitMs: number): Promise<number> {
  const deadline = performance.now() + maxWaitMs;
  for (;;) {
    const before = machineTicks().busy;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const busy = (machineTicks().busy - before) / TICKS_PER_SECOND;
    if (busy < QUIET_BELOW_CORES || performance.now() > deadline)
      return Math.round(busy * 100) / 100;
  }
}
