// Timestamps read from DuckDB as epoch milliseconds (`epoch_ms(ts)`), shown as RFC 3339 in UTC:
// formatting in SQL would follow the machine's time zone.

/** `2026-01-01T12:00:00Z` from epoch milliseconds (as DuckDB returns them: number or string), or null. */
export function isoFromMs(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const ms = Number(value);
  return Number.isFinite(ms) ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z") : null;
}
