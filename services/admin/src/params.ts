import { InvalidInputError } from '@refract/core';

/** Projection names as core's defineProjection allows them. */
const PROJECTION_NAME = /^[a-z][a-z0-9_]{0,40}$/;
/** BullMQ job ids as the rebuild queue makes them: letters, digits and a few separators. */
const JOB_ID = /^[A-Za-z0-9:_.-]{1,128}$/;
/** A bigserial id, within what a JavaScript number holds exactly. */
const PARKED_ID = /^[1-9][0-9]{0,14}$/;

export function projectionName(value: string): string {
  if (!PROJECTION_NAME.test(value)) {
    throw new InvalidInputError('name', `must match ${PROJECTION_NAME}`);
  }
  return value;
}

export function jobId(value: string): string {
  if (!JOB_ID.test(value)) throw new InvalidInputError('jobId', `must match ${JOB_ID}`);
  return value;
}

export function parkedId(value: string): number {
  if (!PARKED_ID.test(value)) {
    throw new InvalidInputError('id', 'must be a parked event id (a positive integer)');
  }
  return Number(value);
}
