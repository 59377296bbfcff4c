import type { Recorded } from '@refract/core';
import { describe, expect, it } from 'vitest';
import { generateBankWorkload } from '../bank-workload.js';
import type { BankEvent } from '../event-types.js';
import { expectedBankReadModels } from '../expected-bank-read-models.js';
import { bankActivityIncrements, bankActivityProjection } from './bank-activity.js';

describe('bank_activity', () => {
  it('is a counter projection of every bank event type', () => {
    expect(bankActivityProjection).toMatchObject({ kind: 'counter', name: 'bank_activity' });
    expect([...bankActivityProjection.handles].sort()).toEqual([
      'AccountClosed',
      'AccountOpened',
      'MoneyDeposited',
      'MoneyWithdrawn',
      'TransferSent',
    ]);
  });

  it('sums, batch by batch, to the fold of all events', () => {
    const workload = [...generateBankWorkload({ events: 3_000, seed: 3 })];
    const events = workload.map((w) => w.event as unknown as Recorded<BankEvent>);
    const totals: Record<string, number> = {};
    for (let i = 0; i < events.length; i += 37) {
      for (const [field, by] of Object.entries(bankActivityIncrements(events.slice(i, i + 37)))) {
        totals[field] = (totals[field] ?? 0) + (by ?? 0);
      }
    }
    expect(totals).toEqual(expectedBankReadModels(workload).activity);
  });

  it('leaves out the fields a batch does not move', () => {
    const deposit = {
      type: 'MoneyDeposited',
      data: { accountId: 'a', amountCents: 5 },
    } as Recorded<BankEvent>;
    expect(bankActivityIncrements([deposit, deposit])).toEqual({
      deposits: 2,
      deposited_cents: 10,
    });
  });
});
