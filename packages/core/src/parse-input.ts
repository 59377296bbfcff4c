import type { z } from 'zod';
import { InvalidInputError } from './errors.js';

/** The dotted path of a zod issue under `prefix`: `events.2.data.qty`. */
export function issueField(prefix: string, path: readonly PropertyKey[]): string {
  return [prefix, ...path.map(String)].filter((part) => part !== '').join('.');
}

/**
 * Parses `input` with `schema`, or throws InvalidInputError naming the first
 * offending field under `prefix` (an unknown key is named as itself).
 */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, prefix = ''): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw new InvalidInputError(prefix || 'body', 'is invalid');
  if (issue.code === 'unrecognized_keys') {
    const field = issueField(prefix, [...issue.path, issue.keys[0] ?? '']);
    throw new InvalidInputError(field || 'body', 'is not a known field');
  }
  const field = issueField(prefix, issue.path);
  if (field === '') throw new InvalidInputError('body', 'must be a JSON object');
  throw new InvalidInputError(field, issue.message);
}
