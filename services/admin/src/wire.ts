/** A value as JSON carries it: dates become ISO 8601 strings. */
export type Wire<T> = T extends Date
  ? string
  : T extends readonly (infer U)[]
    ? Wire<U>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

/**
 * What the client will read, typed as such, so the handler's answer can be
 * checked against the contract's schema (which describes JSON, not Date).
 */
export function wire<T>(value: T): Wire<T> {
  return JSON.parse(JSON.stringify(value)) as Wire<T>;
}
