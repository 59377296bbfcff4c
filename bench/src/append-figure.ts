import type { PhaseMeasurement } from './phase.js';
import type { ThroughputFigure } from './report-types.js';
import { perSecond, ratio, throughput } from './stats.js';

/** CPU milliseconds each request cost a group: robust to a busy machine where events/s are not. */
export interface CpuPerRequest {
  client: number;
  services: number;
  postgres: number;
}

/** A phase's CPU (average cores over its `ms`) spread over its requests, to 0.001 ms. */
export function cpuPerRequest(phase: PhaseMeasurement, requests: number): CpuPerRequest {
  const perRequest = (cores: number) =>
    requests > 0 ? Math.round(((cores * phase.ms) / requests) * 1000) / 1000 : 0;
  return {
    client: perRequest(phase.cpu.client),
    services: perRequest(phase.cpu.services),
    postgres: perRequest(phase.cpu.postgres),
  };
}

/**
 * An append figure: write-api's events/s against the raw Postgres baseline
 * (`ratio`, context) and against the HTTP floor of the same requests
 * (`httpRatio`, the target), each phase's CPU, and the CPU per request of
 * write-api and of the floor.
 */
export function appendFigure(input: {
  events: number;
  requests: number;
  measured: PhaseMeasurement;
  baseline: PhaseMeasurement;
  floor: PhaseMeasurement;
  details: Record<string, unknown>;
}): ThroughputFigure {
  const { events, requests, measured, baseline, floor } = input;
  const figure = throughput(events, measured.ms, baseline.ms);
  const httpFloor = perSecond(events, floor.ms);
  return {
    ...figure,
    httpFloor,
    httpRatio: ratio(figure.eventsPerSec, httpFloor),
    requests,
    httpFloorSeconds: Math.round(floor.ms) / 1000,
    ...input.details,
    cpuMsPerRequest: cpuPerRequest(measured, requests),
    httpFloorCpuMsPerRequest: cpuPerRequest(floor, requests),
    cpu: measured.cpu,
    baselineCpu: baseline.cpu,
    httpFloorCpu: floor.cpu,
  };
}
