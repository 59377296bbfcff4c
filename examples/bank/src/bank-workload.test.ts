import { describe, expect, it } from 'vitest';
import { type AccountCommand, type AccountState, accountDecider } from './account-decider.js';
import { bankHistory, eventIdOf, generateBankWorkload } from './bank-workload.js';
import { accountStreamId, type BankEvent } from './event-types.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The command that yields `event` when decided on its stream's history. */
function commandFor(event: BankEvent): AccountCommand {
  switch (event.type) {
    case 'AccountOpened':
      return { type: 'OpenAccount', ...event.data };
    case 'MoneyDeposited':
      return { type: 'Deposit', ...event.data };
    case 'MoneyWithdrawn':
      return { type: 'Withdraw', ...event.data };
    case 'TransferSent':
      return { type: 'Transfer', ...event.data };
    case 'AccountClosed':
      return { type: 'CloseAccount', ...event.data };
  }
}

const N = 20_000;
const workload = [...generateBankWorkload({ events: N, seed: 5 })];

describe('generateBankWorkload', () => {
  it.each([0, 1, 2, 7, 1_000])('yields exactly %i events, numbered', (n) => {
    const events = [...generateBankWorkload({ events: n })];
    expect(events.map((e) => e.index)).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('is the same sequence for the same seed, another for another seed', () => {
    expect([...generateBankWorkload({ events: 500, seed: 5 })]).toEqual(workload.slice(0, 500));
    const other = [...generateBankWorkload({ events: 500, seed: 6 })];
    expect(other.map((e) => e.event)).not.toEqual(workload.slice(0, 500).map((e) => e.event));
  });

  it('is accepted by the account decider, event for event, on each stream in order', () => {
    const states = new Map<string, AccountState>();
    for (const item of workload) {
      const state = states.get(item.streamId) ?? accountDecider.initialState();
      const { id: _, ...event } = item.event;
      const decided = accountDecider.decide(commandFor(event), state);
      expect(decided).toEqual([event]);
      states.set(item.streamId, decided.reduce(accountDecider.evolve, state));
    }
  });

  it('gives each event its stream, stream version and a unique UUID-shaped id', () => {
    const versions = new Map<string, number>();
    for (const item of workload) {
      const event = item.event;
      const owner = event.type === 'TransferSent' ? event.data.fromAccountId : event.data.accountId;
      expect(item.streamId).toBe(accountStreamId(owner));
      expect(item.version).toBe(versions.get(item.streamId) ?? 0);
      versions.set(item.streamId, item.version + 1);
      expect(event.id).toMatch(UUID_V4);
    }
    expect(new Set(workload.map((item) => item.event.id)).size).toBe(N);
    expect(eventIdOf(5, 0)).toBe(workload[0]!.event.id);
  });

  it('transfers only between two different accounts open at the time', () => {
    const open = new Set<string>();
    let transfers = 0;
    for (const { event } of workload) {
      if (event.type === 'AccountOpened') open.add(event.data.accountId);
      if (event.type === 'AccountClosed') open.delete(event.data.accountId);
      if (event.type !== 'TransferSent') continue;
      transfers += 1;
      expect(open.has(event.data.fromAccountId)).toBe(true);
      expect(open.has(event.data.toAccountId)).toBe(true);
      expect(event.data.toAccountId).not.toBe(event.data.fromAccountId);
    }
    expect(transfers).toBeGreaterThan(N / 10);
  });

  it('mixes every event type and keeps about openAccounts accounts open', () => {
    const counts = new Map<string, number>();
    for (const { event } of workload) counts.set(event.type, (counts.get(event.type) ?? 0) + 1);
    for (const type of [
      'AccountOpened',
      'MoneyDeposited',
      'MoneyWithdrawn',
      'TransferSent',
      'AccountClosed',
    ]) {
      expect(counts.get(type) ?? 0).toBeGreaterThan(50);
    }
    const few = [...generateBankWorkload({ events: 5_000, seed: 1, openAccounts: 10 })];
    const opened = few.filter((e) => e.event.type === 'AccountOpened').length;
    const closedCount = few.filter((e) => e.event.type === 'AccountClosed').length;
    expect(opened - closedCount).toBeLessThanOrEqual(10);
    expect(opened - closedCount).toBeGreaterThanOrEqual(2);
  });

  it('refuses options it cannot honour', () => {
    expect(() => generateBankWorkload({ events: -1 })).toThrow(RangeError);
    expect(() => generateBankWorkload({ events: 1.5 })).toThrow(RangeError);
    expect(() => bankHistory({ seed: 1, openAccounts: 1 }).next()).toThrow(RangeError);
  });
});
