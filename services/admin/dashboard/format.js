// Number and duration formatting for the page.

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

/** 1234567 → "1,234,567"; null → "–". */
export function formatCount(value) {
  return typeof value === 'number' && Number.isFinite(value) ? integer.format(value) : '–';
}

/** Events per second: one decimal below 10, whole numbers above. */
export function formatRate(value) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '–';
  return value < 10 ? oneDecimal.format(value) : integer.format(value);
}

/** 0.4 → "0.4 s", 75 → "1 min 15 s", 4000 → "1 h 6 min". */
export function formatSeconds(value) {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return '–';
  if (value < 10) return `${oneDecimal.format(value)} s`;
  if (value < 60) return `${Math.round(value)} s`;
  if (value < 3600) {
    const minutes = Math.floor(value / 60);
    const seconds = Math.round(value % 60);
    return seconds === 0 ? `${minutes} min` : `${minutes} min ${seconds} s`;
  }
  const hours = Math.floor(value / 3600);
  const minutes = Math.round((value % 3600) / 60);
  return minutes === 0 ? `${hours} h` : `${hours} h ${minutes} min`;
}

/** Seconds since an ISO time or epoch milliseconds, or null when unknown. */
export function ageSeconds(time, now = Date.now()) {
  const at = typeof time === 'number' ? time : Date.parse(time);
  return Number.isFinite(at) ? Math.max(0, (now - at) / 1000) : null;
}

/**
 * A lag's colour class: 0 is healthy, then ever warmer by order of magnitude.
 * Shared by partition bars and the lag figures so one colour means one thing.
 */
export function lagLevel(lagEvents) {
  if (typeof lagEvents !== 'number' || lagEvents <= 0) return 'lag-0';
  if (lagEvents < 100) return 'lag-1';
  if (lagEvents < 1000) return 'lag-2';
  if (lagEvents < 10000) return 'lag-3';
  return 'lag-4';
}
