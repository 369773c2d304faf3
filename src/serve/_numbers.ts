// Numbers as the page, the JSON API and /metrics give them: rounded seconds, sizes in binary units.

/**
 * `value` rounded to three decimals, so it prints without float noise (0.30000000000000004 → 0.3).
 *
 * @example
 * threeDecimals(1234 / 1000) // 1.234
 */
export function threeDecimals(value: number): number {
  return Number.isInteger(value) ? value : Math.round(value * 1000) / 1000;
}

const byteUnits = ["KiB", "MiB", "GiB", "TiB"] as const;

/**
 * A size in binary units, to three significant digits at most: bytes below 1 KiB, else KiB, MiB…
 *
 * @example
 * bytesText(512) // "512 B"
 * bytesText(1_572_864) // "1.5 MiB"
 */
export function bytesText(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1024) return `${bytes} B`;
  let value = bytes;
  let unit = 0;
  // 1023.9 KiB rounds to 1024: that is 1 MiB.
  for (value /= 1024; Math.round(value) >= 1024 && unit < byteUnits.length - 1; unit++) value /= 1024;
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${Number(value.toFixed(digits))} ${byteUnits[unit]}`;
}
