import type { writeApi } from '@refract/contract';
import { describe, expectTypeOf, it } from 'vitest';
import type { RefractClient } from './client.js';

/**
 * The client's requests and answers are the contract's types, the ones the
 * server's routes are checked against: a schema change reaches both, and a
 * client call that no longer fits fails `pnpm check`.
 */
describe('the client speaks the contract', () => {
  it('appends the contract’s events and answers its append result', () => {
    expectTypeOf<
      Parameters<RefractClient['append']>[1][number]
    >().toEqualTypeOf<writeApi.NewEvent>();
    expectTypeOf<Awaited<ReturnType<RefractClient['append']>>>().toExtend<writeApi.AppendResult>();
  });

  it('reads the contract’s recorded events and answers its command result', () => {
    expectTypeOf<
      Awaited<ReturnType<RefractClient['readStream']>>['events'][number]
    >().toEqualTypeOf<writeApi.RecordedEvent>();
    expectTypeOf<
      Awaited<ReturnType<RefractClient['command']>>
    >().toExtend<writeApi.CommandResult>();
  });
});
