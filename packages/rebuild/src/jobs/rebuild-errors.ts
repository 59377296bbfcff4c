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

/** approve of a rebuild that is not held in `verifying` (HTTP 409); `details.state` is its state. */
export class RebuildNotVerifyingError extends RefractError {
  constructor(
    readonly jobId: string,
    readonly state: string,
  ) {
    super(
      'rebuild_not_verifying',
      `job ${jobId} is ${state}, not verifying; only a held rebuild can be approved`,
      {
        field: 'jobId',
        jobId,
        state,
      },
    );
  }
}
