import { pinBackendsDuring } from './cores.js';
import { type CpuShare, startCpuMeter, waitForQuietMachine } from './cpu-meter.js';
import { say } from './progress.js';

/** How long a phase waits for someone else's work on the machine to end. */
const QUIET_WAIT_MS = 30_000;

export interface PhaseMeasurement {
  ms: number;
  /** Cores used by each group during the phase: where the time went. */
  cpu: CpuShare;
  /** Cores already busy just before the phase started (0 on a quiet machine). */
  busyBeforeCores: number;
}

/**
 * Runs a timed phase (`run` returns its own elapsed milliseconds, set-up
 * excluded) on a quiet machine, measuring the CPU of every group meanwhile;
 * `run` may call `begin` to start the CPU account after its own set-up. A
 * phase that other work competed with says so on the console.
 */
export async function measured(
  phase: string,
  run: (begin: () => void) => Promise<number>,
): Promise<PhaseMeasurement> {
  const busyBeforeCores = await waitForQuietMachine(QUIET_WAIT_MS);
  if (busyBeforeCores >= 0.3) {
    say(
      `[${phase}] the machine is busy (${busyBeforeCores} cores used by others); starting anyway`,
    );
  }
  // Pinned (--cores) before the clock starts; backends opened later are pinned as they appear.
  const unpin = await pinBackendsDuring();
  let stop = startCpuMeter();
  let ms: number;
  try {
    ms = await run(() => {
      stop = startCpuMeter();
    });
  } finally {
    await unpin();
  }
  const cpu = stop();
  say(
    `[${phase}] cpu (cores): client ${cpu.client}, services ${cpu.services}, postgres ${cpu.postgres}, redis ${cpu.redis}, other ${cpu.other}, stolen ${cpu.stolen}`,
  );
  if (cpu.other >= 0.2)
    say(`[${phase}] other work used ${cpu.other} cores meanwhile: the figure may be low`);
  if (cpu.stolen >= 0.2)
    say(
      `[${phase}] the hypervisor took ${cpu.stolen} cores meanwhile (steal): the figure may be low`,
    );
  return { ms, cpu, busyBeforeCores };
}
