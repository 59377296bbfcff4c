import { type DemoCommand, RuleViolatedError } from '@refract/core';
import { describe, expect, it } from 'vitest';
import { type AccountState, accountDecider } from './account-decider.js';
import { bankDemo } from './bank-demo.js';
import { bankCommands } from './commands.js';

function take(count: number, seed = 7, runId = 'run1'): DemoCommand[] {
  const commands: DemoCommand[] = [];
  const iterator = bankDemo.commands({ seed, runId });
  while (commands.length < count) commands.push(iterator.next().value as DemoCommand);
  return commands;
}

const routes = new Map(bankCommands.map((route) => [route.type, route]));

describe('bankDemo', () => {
  it('sends only commands the write API accepts when each account’s go in order', () => {
    const states = new Map<string, AccountState>();
    const commands = take(20_000);
    for (const command of commands) {
      const route = routes.get(command.type);
      expect(route, command.type).toBeDefined();
      const parsed = route!.parse(command.body);
      const streamId = route!.streamId(parsed);
      const state = states.get(streamId) ?? accountDecider.initialState();
      let decided: ReturnType<typeof accountDecider.decide> = [];
      expect(() => {
        decided = accountDecider.decide(parsed, state);
      }).not.toThrow(RuleViolatedError);
      states.set(streamId, decided.reduce(accountDecider.evolve, state));
    }
    expect(new Set(commands.map((c) => c.type)).size).toBe(5);
  });

  it('keeps runs apart by runId and repeats itself for a seed', () => {
    const first = take(300, 7, 'run1');
    expect(take(300, 7, 'run1')).toEqual(first);
    const ids = (commands: DemoCommand[]) =>
      new Set(commands.map((c) => String(c.body.accountId ?? c.body.fromAccountId)));
    const other = ids(take(300, 7, 'run2'));
    for (const id of ids(first)) {
      expect(id).toMatch(/^demo-run1-/);
      expect(other.has(id)).toBe(false);
    }
  });
});
