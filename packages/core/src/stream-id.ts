import { InvalidInputError } from './errors.js';

export const STREAM_ID_MAX_LENGTH = 200;
/** Letters, digits and `_ . : @ -`; must start with a letter or digit. No spaces, no control characters. */
export const STREAM_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:@-]*$/;

export const EVENT_TYPE_MAX_LENGTH = 100;
/** Event types are identifiers: `OrderPlaced`, `billing.InvoiceSent`. */
export const EVENT_TYPE_PATTERN = /^[A-Za-z][A-Za-z0-9_.:-]*$/;

/** Throws InvalidInputError naming `field` unless `streamId` is a valid stream id. */
export function assertStreamId(streamId: unknown, field = 'streamId'): asserts streamId is string {
  if (typeof streamId !== 'string' || streamId.length === 0) {
    throw new InvalidInputError(field, 'must be a non-empty string');
  }
  if (streamId.length > STREAM_ID_MAX_LENGTH) {
    throw new InvalidInputError(field, `must be at most ${STREAM_ID_MAX_LENGTH} characters`);
  }
  if (!STREAM_ID_PATTERN.test(streamId)) {
    throw new InvalidInputError(
      field,
      'may contain only letters, digits and _ . : @ - and must start with a letter or digit',
    );
  }
}
