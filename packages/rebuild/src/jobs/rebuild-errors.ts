import { RefractError } from '@refract/core';

/** Another rebuild of the projection is waiting or running (HTTP 409); `details.jobId` names it. */
export class RebuildAlreadyRunningError extends RefractError {
  constructor(
    readonly projection: string,
    readonly jobId: string,
  ) {
    super('rebuild_running', `a rebuild of ${projection} is already running (job ${jobId})`, {
      projection,
      jobId,
    });
  }
}

export class ProjectionNotFoundError extends RefractError {
  constructor(readonly projection: string) {
    super('projection_not_found', `projection ${projection} does not exist`, { projection });
  }
}

export class JobNotFoundError extends RefractError {
  constructor(readonly jobId: string) {
    super('job_not_found', `job ${jobId} does not exist`, { jobId });
  }
}
