import { z } from 'zod';

// Money is held as integer cents and written as a two-place decimal string.
// Floats never touch it: 0.1 + 0.2 is not 0.3, and totals must match exactly.

const MONEY_TEXT = /^(\d+)(?:\.(\d{1,2}))?$/;

/**
 * Parses a non-negative decimal amount with at most two decimals into integer
 * cents: `"12"` → 1200, `"12.3"` → 1230, `"12.34"` → 1234. Throws RangeError
 * for anything else (signs, exponents, spaces, more decimals, amounts beyond
 * the safe integer range).
 */
export function parseMoney(text: string): number {
  const match = typeof text === 'string' ? MONEY_TEXT.exec(text) : null;
  if (!match) {
    throw new RangeError(
      `invalid amount ${JSON.stringify(text)}: expected a non-negative decimal with at most 2 decimal places`,
    );
  }
  const whole = Number(match[1]);
  const fraction = Number((match[2] ?? '').padEnd(2, '0'));
  const cents = whole * 100 + fraction;
  if (!Number.isSafeInteger(cents)) {
    throw new RangeError(`invalid amount ${JSON.stringify(text)}: too large`);
  }
  return cents;
}

/** Formats integer cents as a decimal string with exactly two places: 1234 → `"12.34"`, 5 → `"0.05"`. */
export function formatMoney(cents: number): string {
  if (!Number.isSafeInteger(cents)) {
    throw new RangeError(`invalid cents ${cents}: expected a safe integer`);
  }
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  const fraction = String(abs % 100).padStart(2, '0');
  return `${sign}${Math.trunc(abs / 100)}.${fraction}`;
}

/**
 * Normalises a money value from command input to the two-place string. Accepts
 * a decimal string (`"12.5"`) or a JSON number whose shortest decimal form has
 * at most two decimals (`12.5`, but not `0.1 + 0.2` = 0.30000000000000004, nor
 * `1e21`). Throws RangeError with a message fit for a client.
 */
export function normalizeMoneyInput(value: unknown): string {
  let text: string;
  if (typeof value === 'string') {
    text = value;
  } else if (typeof value === 'number' && Number.isFinite(value)) {
    // Number#toString yields the shortest decimal that round-trips, so it is
    // exactly what the client wrote for any amount with at most two decimals.
    text = String(value);
  } else {
    throw new RangeError('must be a decimal string or number');
  }
  try {
    return formatMoney(parseMoney(text));
  } catch {
    throw new RangeError('must be a non-negative amount with at most 2 decimal places');
  }
}

/** The zod form of `normalizeMoneyInput`, for command schemas. */
export const moneyInputSchema = z
  .union([z.string(), z.number()], {
    error: (issue) =>
      issue.input === undefined ? 'is required' : 'must be a decimal string or number',
  })
  .transform((value, ctx) => {
    try {
      return normalizeMoneyInput(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });
