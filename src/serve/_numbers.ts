// Numbers as the page, the JSON API and /metrics give them.

/**
 * `value` rounded to three decimals, so it prints without float noise (0.30000000000000004 → 0.3).
 *
 * @example
 * threeDecimals(1234 / 1000) // 1.234
 */
export function threeDecimals(value: number): number {
  return Number.isInteger(value) ? value : Math.round(value * 1000) / 1000;
}
